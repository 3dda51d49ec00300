package db_test

import (
	"fmt"
	"strings"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
)

func validLMS() db.LMSTable {
	return db.LMSTable{
		Table: "files", IDColumn: "id", KeyColumn: "s3_key", BucketColumn: "bucket",
		TrashColumn: "trashed", TrashKind: db.TrashFlag,
	}
}

func TestLMSTableValidate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 65)
	tests := []struct {
		name   string
		change func(*db.LMSTable)
		want   []string // substrings of the error; none: valid
	}{
		{"valid", func(*db.LMSTable) {}, nil},
		{"valid without bucket column", func(l *db.LMSTable) { l.BucketColumn = ""; l.DefaultBucket = "lms" }, nil},
		{"valid timestamp", func(l *db.LMSTable) { l.TrashKind = db.TrashTimestamp }, nil},
		{"64 characters", func(l *db.LMSTable) { l.Table = long[:64] }, nil},
		{"injection", func(l *db.LMSTable) { l.Table = "files; DROP" }, []string{`Table "files; DROP"`}},
		{"leading digit", func(l *db.LMSTable) { l.KeyColumn = "1abc" }, []string{`KeyColumn "1abc"`}},
		{"65 characters", func(l *db.LMSTable) { l.IDColumn = long }, []string{"IDColumn"}},
		{"backtick", func(l *db.LMSTable) { l.BucketColumn = "a`b" }, []string{"BucketColumn"}},
		{"empty table", func(l *db.LMSTable) { l.Table = "" }, []string{"Table is required"}},
		{"empty trash column", func(l *db.LMSTable) { l.TrashColumn = "" }, []string{"TrashColumn is required"}},
		{"unknown kind", func(l *db.LMSTable) { l.TrashKind = "bool" }, []string{`TrashKind "bool"`}},
		{"no kind", func(l *db.LMSTable) { l.TrashKind = "" }, []string{"TrashKind is required"}},
		{"no bucket at all", func(l *db.LMSTable) { l.BucketColumn = "" }, []string{"DefaultBucket is required"}},
		{"trashd's own table", func(l *db.LMSTable) { l.Table = "trash_objects" }, []string{"trashd's own"}},
		{"trash column is the id", func(l *db.LMSTable) { l.TrashColumn = "ID" }, []string{`TrashColumn "ID" is also the IDColumn`}},
		{"everything at once", func(l *db.LMSTable) {
			*l = db.LMSTable{Table: "files; DROP", IDColumn: "1abc", KeyColumn: long, TrashKind: "x"}
		}, []string{"Table", "IDColumn", "KeyColumn", "TrashColumn is required", "TrashKind", "DefaultBucket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := validLMS()
			tt.change(&l)
			err := l.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestNewStoreChecksSchema(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	ctx := t.Context()

	_, err := db.NewStore(ctx, sqlDB, validLMS())
	wantError(t, err, `table "files" does not exist`, "which has no tables")

	exec(t, sqlDB, "CREATE TABLE courses (id INT PRIMARY KEY)")
	exec(t, sqlDB, "CREATE TABLE users (id INT PRIMARY KEY)")
	_, err = db.NewStore(ctx, sqlDB, validLMS())
	wantError(t, err, `table "files" does not exist`, "courses, users")
	if strings.Contains(err.Error(), "trash_objects") {
		t.Errorf("error lists trashd's own tables: %v", err)
	}

	flag := dbtest.CreateFiles(t, sqlDB, db.TrashFlag)
	if _, err := db.NewStore(ctx, sqlDB, flag); err != nil {
		t.Fatalf("NewStore(sample table) = %v", err)
	}

	upper := flag
	upper.Table = "Files"
	_, err = db.NewStore(ctx, sqlDB, upper)
	var lower int
	if err := sqlDB.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&lower); err != nil {
		t.Fatal(err)
	}
	if lower == 0 {
		wantError(t, err, `did you mean "files"`)
	}

	wrong := flag
	wrong.KeyColumn = "path"
	wrong.BucketColumn = "bukket"
	_, err = db.NewStore(ctx, sqlDB, wrong)
	wantError(t, err, `column "path" does not exist in table "files"`, `column "bukket"`,
		"id, bucket, s3_key, size, trashed, created_at")

	caseInsensitive := flag
	caseInsensitive.KeyColumn = "S3_Key"
	if _, err := db.NewStore(ctx, sqlDB, caseInsensitive); err != nil {
		t.Errorf("NewStore with a column in other case = %v; MySQL column names are case-insensitive", err)
	}

	asTimestamp := flag
	asTimestamp.TrashKind = db.TrashTimestamp
	_, err = db.NewStore(ctx, sqlDB, asTimestamp)
	wantError(t, err, `column "trashed"`, "TINYINT", "DATETIME or TIMESTAMP")

	keyAsTrash := flag
	keyAsTrash.TrashColumn = "s3_key"
	_, err = db.NewStore(ctx, sqlDB, keyAsTrash)
	wantError(t, err, `column "s3_key"`, "VARCHAR", "integer")

	idAsText := flag
	idAsText.IDColumn = "s3_key"
	_, err = db.NewStore(ctx, sqlDB, idAsText)
	wantError(t, err, "IDColumn", "integer")
}

func TestNewStoreTimestampKind(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	lms := dbtest.CreateFiles(t, sqlDB, db.TrashTimestamp)
	if _, err := db.NewStore(t.Context(), sqlDB, lms); err != nil {
		t.Fatalf("NewStore = %v", err)
	}
	lms.TrashKind = db.TrashFlag
	_, err := db.NewStore(t.Context(), sqlDB, lms)
	wantError(t, err, `column "trashed_at"`, "DATETIME", "integer")
}

func TestNewStoreUnmigrated(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.NewDatabase(t)
	lms := dbtest.CreateFiles(t, sqlDB, db.TrashFlag)
	_, err := db.NewStore(t.Context(), sqlDB, lms)
	_, latest, statusErr := db.MigrationStatus(t.Context(), sqlDB)
	if statusErr != nil {
		t.Fatal(statusErr)
	}
	wantError(t, err, fmt.Sprintf("trashd's tables are missing or out of date (version 0 of %d): run `trashd migrate`", latest))
}

func TestNewStoreValidates(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	l := validLMS()
	l.Table = "files; DROP"
	_, err := db.NewStore(t.Context(), sqlDB, l)
	wantError(t, err, `Table "files; DROP"`)
}

func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one mentioning %q", parts)
	}
	t.Logf("error (as expected): %v", err)
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}
