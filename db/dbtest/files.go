package dbtest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"trashd/db"
)

// CreateFiles creates the sample LMS table `files` in sqlDB, its trash flag
// of kind db.TrashFlag (trashed TINYINT) or db.TrashTimestamp (trashed_at
// DATETIME), with the index on its key that db.NewStore asks for, and
// returns the LMSTable that describes it. Rows may have a NULL bucket; set
// DefaultBucket on the result before inserting such rows. CreateFilesWith
// makes variants of it.
func CreateFiles(tb testing.TB, sqlDB *sql.DB, kind string) db.LMSTable {
	tb.Helper()
	return CreateFilesWith(tb, sqlDB, FilesOptions{Kind: kind})
}

// InsertFile inserts a row into the `files` table that CreateFiles made,
// trashed or not, and returns its id. An empty bucket is stored as NULL.
func InsertFile(tb testing.TB, sqlDB *sql.DB, bucket, key string, trashed bool) int64 {
	tb.Helper()
	ctx := context.Background()
	res, err := sqlDB.ExecContext(ctx, "INSERT INTO files (bucket, s3_key) VALUES (?, ?)",
		sql.NullString{String: bucket, Valid: bucket != ""}, key)
	if err != nil {
		tb.Fatalf("insert into files: %v", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		tb.Fatalf("insert into files: %v", err)
	}
	if trashed {
		SetTrashed(tb, sqlDB, id, true)
	}
	return id
}

// SetTrashed sets or clears the trash flag of row id of `files`, as the LMS
// does when a user deletes a file or restores it from the trash.
func SetTrashed(tb testing.TB, sqlDB *sql.DB, id int64, trashed bool) {
	tb.Helper()
	ctx := context.Background()
	var column string
	err := sqlDB.QueryRowContext(ctx, `SELECT COLUMN_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'files' AND COLUMN_NAME IN ('trashed', 'trashed_at', 'file_state')`).Scan(&column)
	if err != nil {
		tb.Fatalf("find the trash column of files (was it made by CreateFiles?): %v", err)
	}
	var value string
	switch {
	case column == "trashed" && trashed:
		value = "1"
	case column == "trashed":
		value = "0"
	case column == "file_state" && trashed:
		value = "'deleted'"
	case column == "file_state":
		value = "'available'"
	case trashed:
		value = "NOW(6)"
	default:
		value = "NULL"
	}
	if _, err := sqlDB.ExecContext(ctx, "UPDATE files SET "+column+" = "+value+" WHERE id = ?", id); err != nil {
		tb.Fatalf("set trashed of files row %d: %v", id, err)
	}
}

// Now is the database's clock, the one trashd's timestamps come from.
func Now(tb testing.TB, sqlDB *sql.DB) time.Time {
	tb.Helper()
	var now time.Time
	if err := sqlDB.QueryRowContext(context.Background(), "SELECT NOW(6)").Scan(&now); err != nil {
		tb.Fatalf("read the database clock: %v", err)
	}
	return now
}
