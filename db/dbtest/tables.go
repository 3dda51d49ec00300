package dbtest

import (
	"cmp"
	"context"
	"database/sql"
	"strings"
	"testing"

	"trashd/db"
)

// FilesOptions shape the `files` table that CreateFilesWith makes. Its
// columns stay those of CreateFiles, so that InsertFile and SetTrashed work
// on every variant.
type FilesOptions struct {
	Kind string // db.TrashFlag or db.TrashTimestamp

	// KeyCollation is the collation of s3_key; empty: utf8mb4_bin. A
	// case-insensitive one (utf8mb4_general_ci) is what many LMSs have.
	KeyCollation string

	// NoKeyIndex leaves out the index on s3_key, which db.NewStore refuses
	// unless UniqueKeys is set.
	NoKeyIndex bool

	// Indexes are further index definitions, such as
	// "INDEX by_trash (trashed, id)".
	Indexes []string
}

// CreateFilesWith is CreateFiles with the table shaped by opts.
func CreateFilesWith(tb testing.TB, sqlDB *sql.DB, opts FilesOptions) db.LMSTable {
	tb.Helper()
	lms := db.LMSTable{
		Table:        "files",
		IDColumn:     "id",
		KeyColumn:    "s3_key",
		BucketColumn: "bucket",
		TrashKind:    opts.Kind,
	}
	var trash string
	switch opts.Kind {
	case db.TrashFlag:
		lms.TrashColumn = "trashed"
		trash = "trashed TINYINT NOT NULL DEFAULT 0"
	case db.TrashTimestamp:
		lms.TrashColumn = "trashed_at"
		trash = "trashed_at DATETIME(6) NULL"
	case db.TrashValue: // as Canvas: file_state 'available' or 'deleted'
		lms.TrashColumn, lms.TrashValues = "file_state", []string{"deleted"}
		trash = "file_state VARCHAR(16) NULL DEFAULT 'available'"
	default:
		tb.Fatalf("CreateFiles: kind %q is not %q or %q", opts.Kind, db.TrashFlag, db.TrashTimestamp)
	}
	indexes := opts.Indexes
	if !opts.NoKeyIndex {
		// A prefix: 1024 utf8mb4 characters exceed InnoDB's 3072-byte keys.
		indexes = append([]string{"INDEX files_key (s3_key(255), bucket)"}, indexes...)
	}
	var extra string
	for _, ix := range indexes {
		extra += ",\n\t\t" + ix
	}
	_, err := sqlDB.ExecContext(context.Background(), `CREATE TABLE files (
		id         BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
		bucket     VARCHAR(63)   NULL,
		s3_key     VARCHAR(1024) COLLATE `+cmp.Or(opts.KeyCollation, "utf8mb4_bin")+` NOT NULL,
		size       BIGINT        NOT NULL DEFAULT 0,
		`+trash+`,
		created_at DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6)`+extra+`
	) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`)
	if err != nil {
		tb.Fatalf("create table files (%s): %v", strings.Join(indexes, ", "), err)
	}
	return lms
}
