package db_test

import (
	"slices"
	"strings"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// A table of another database (database.table) is refused by Validate with
// what to set instead.
func TestLMSTableInAnotherDatabase(t *testing.T) {
	t.Parallel()
	l := validLMS()
	l.Table = "lms_prod.files"
	err := l.Validate()
	wantError(t, err, `"lms_prod.files" names table "files" of database "lms_prod"`, "TRASHD_MYSQL_DATABASE=lms_prod", "TRASHD_LMS_TABLE=files")
	if fe := db.FieldErrors(err); len(fe) != 1 || fe[0].Field != "Table" {
		t.Errorf("FieldErrors = %v, want one for Table", fe)
	}
}

// A view is refused as a view, with what trashd needs and where to point
// it, not with an index to create on it (which the server refuses); its
// columns are still checked.
func TestNewStoreRefusesView(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	lms := dbtest.CreateFiles(t, sqlDB, db.TrashFlag)
	lms.DefaultBucket = "lms"
	exec(t, sqlDB, "CREATE VIEW files_view AS SELECT id, bucket, s3_key, trashed FROM files")
	lms.Table = "files_view"
	for _, check := range []func() error{
		func() error { _, err := db.NewStore(t.Context(), sqlDB, lms); return err },
		func() error { _, err := db.CheckLMSTable(t.Context(), sqlDB, lms); return err },
	} {
		err := check()
		wantError(t, err, `Table: table "files_view" is a view`, "base table", `"id" as its primary key`, `index on "s3_key"`,
			"SHOW CREATE VIEW `files_view`", "SELECT", "TRASHD_MYSQL_DATABASE")
		if strings.Contains(err.Error(), "CREATE INDEX") || strings.Contains(err.Error(), "UNIQUE key of its own") {
			t.Errorf("the refusal of a view asks for keys on it: %v", err)
		}
	}
	lms.TrashKind = db.TrashTimestamp
	_, err := db.NewStore(t.Context(), sqlDB, lms)
	wantError(t, err, "is a view", `TrashColumn: column "trashed"`, "DATETIME or TIMESTAMP")
}

// An ENUM trash flag with TrashKind "flag" is refused with the kind and the
// values to use; with them, the rows whose value means trashed are found.
func TestNewStoreEnumTrashFlag(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	exec(t, sqlDB, `CREATE TABLE files (id BIGINT PRIMARY KEY, s3_key VARCHAR(255) NOT NULL,
		deleted ENUM('0','1') NOT NULL DEFAULT '0', state ENUM('available','hidden','deleted') NULL,
		yn ENUM('Y','N') NULL, at_time DATETIME NULL, label VARCHAR(16) NULL, INDEX (s3_key))`)
	exec(t, sqlDB, "INSERT INTO files (id, s3_key, deleted) VALUES (1, 'a', '0'), (2, 'b', '1'), (3, 'c', '1')")
	lms := db.LMSTable{Table: "files", IDColumn: "id", KeyColumn: "s3_key", TrashColumn: "deleted", TrashKind: db.TrashFlag, DefaultBucket: "lms"}
	for _, tt := range []struct {
		column string
		want   []string
	}{
		{"deleted", []string{`TrashColumn: column "deleted"`, "ENUM('0','1')", "by its position", "TRASHD_LMS_TRASH_KIND=value TRASHD_LMS_TRASH_VALUES=1"}},
		{"yn", []string{"ENUM('Y','N')", "TRASHD_LMS_TRASH_KIND=value TRASHD_LMS_TRASH_VALUES=Y"}},
		{"state", []string{"ENUM('available','hidden','deleted')", "'available', 'hidden', 'deleted'", "TRASHD_LMS_TRASH_KIND=value"}},
		{"at_time", []string{"DATETIME", `TrashKind "timestamp"`, "TRASHD_LMS_TRASH_KIND=timestamp"}},
		{"label", []string{"VARCHAR(16)", "TRASHD_LMS_TRASH_KIND=value"}},
	} {
		l := lms
		l.TrashColumn = tt.column
		_, err := db.NewStore(t.Context(), sqlDB, l)
		wantError(t, err, append(tt.want, `as TrashKind "flag" needs`)...)
	}

	lms.TrashKind, lms.TrashValues = db.TrashValue, []string{"1"}
	store, err := db.NewStore(t.Context(), sqlDB, lms)
	if err != nil {
		t.Fatalf("NewStore with the kind and value the refusal names: %v", err)
	}
	rows, err := store.ScanTrashed(t.Context(), reconcile.BeforeFirstLMSID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.LMSID)
	}
	if !slices.Equal(ids, []int64{2, 3}) {
		t.Errorf("trashed rows = %v, want 2 and 3 (deleted = '1')", ids)
	}
}
