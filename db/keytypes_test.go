package db_test

import (
	"fmt"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
)

// TestNewStoreRefusesPaddedKeyColumns: a key or bucket column of CHAR (or
// NCHAR), which loses trailing spaces on read, or of BINARY, which pads
// with NUL bytes, is refused with what to change it to; VARCHAR, VARBINARY
// and TEXT are accepted.
func TestNewStoreRefusesPaddedKeyColumns(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	tests := []struct {
		key, bucket string
		want        []string // substrings of the error; none: accepted
	}{
		{"CHAR(64)", "VARCHAR(63)", []string{"KeyColumn", `column "k"`, "CHAR(64)", "trailing spaces", "VARCHAR(64)", "TEXT"}},
		{"NCHAR(64)", "VARCHAR(63)", []string{"KeyColumn", `column "k"`, "CHAR(64)", "trailing spaces", "VARCHAR(64)"}},
		{"BINARY(64)", "VARCHAR(63)", []string{"KeyColumn", `column "k"`, "BINARY(64)", "NUL", "VARBINARY(64)"}},
		{"VARCHAR(1024)", "CHAR(63)", []string{"BucketColumn", `column "b"`, "CHAR(63)", "trailing spaces", "VARCHAR(63)"}},
		{"VARCHAR(1024)", "BINARY(63)", []string{"BucketColumn", `column "b"`, "BINARY(63)", "VARBINARY(63)"}},
		{"VARCHAR(1024)", "VARCHAR(63)", nil},
		{"VARBINARY(1024)", "VARBINARY(63)", nil},
		{"TEXT", "TINYTEXT", nil},
	}
	for i, tt := range tests {
		table := fmt.Sprintf("lms_%d", i)
		t.Run(tt.key+" "+tt.bucket, func(t *testing.T) {
			t.Parallel()
			exec(t, sqlDB, "CREATE TABLE "+table+" (id BIGINT PRIMARY KEY, k "+tt.key+" NOT NULL, b "+tt.bucket+" NULL, trashed TINYINT NOT NULL DEFAULT 0)")
			lms := db.LMSTable{Table: table, IDColumn: "id", KeyColumn: "k", BucketColumn: "b", TrashColumn: "trashed",
				TrashKind: db.TrashFlag, DefaultBucket: "d", UniqueKeys: true}
			_, err := db.NewStore(t.Context(), sqlDB, lms)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("NewStore over a %s key and a %s bucket: %v", tt.key, tt.bucket, err)
				}
				return
			}
			wantError(t, err, append(tt.want, fmt.Sprintf("table %q", table))...)
		})
	}
}
