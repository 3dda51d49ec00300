package db_test

import (
	"strings"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
)

// TrashKind value (Canvas's file_state = 'deleted'): only the listed values
// are trashed; NULL and every other value are live, for the scan and for
// LiveRow alike.
func TestTrashKindValue(t *testing.T) {
	t.Parallel()
	store, sqlDB, lms := setup(t, db.TrashValue)
	ctx := t.Context()
	deleted := dbtest.InsertFile(t, sqlDB, "", "shared/key", true)
	available := dbtest.InsertFile(t, sqlDB, "", "shared/key", false)
	alone := dbtest.InsertFile(t, sqlDB, "", "alone/key", true)
	withNull := dbtest.InsertFile(t, sqlDB, "", "null/key", true)
	nullRow := dbtest.InsertFile(t, sqlDB, "", "null/key", false)
	if _, err := sqlDB.Exec("UPDATE files SET file_state = NULL WHERE id = ?", nullRow); err != nil {
		t.Fatal(err)
	}
	other := dbtest.InsertFile(t, sqlDB, "", "other/key", false)
	if _, err := sqlDB.Exec("UPDATE files SET file_state = 'hidden' WHERE id = ?", other); err != nil {
		t.Fatal(err)
	}

	rows, err := store.ScanTrashed(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range rows {
		got = append(got, r.LMSID)
	}
	if want := []int64{deleted, alone, withNull}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("ScanTrashed = %v, want %v (only file_state 'deleted')", got, want)
	}
	for _, tc := range []struct {
		key  string
		live int64 // 0: none
	}{{"shared/key", available}, {"alone/key", 0}, {"null/key", nullRow}, {"other/key", other}} {
		id, found, err := liveRow(t, store, lms.DefaultBucket, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		if found != (tc.live != 0) || (found && id != tc.live) {
			t.Errorf("LiveRows(%s) = %d, %v; want %d (a NULL or other value is live)", tc.key, id, found, tc.live)
		}
	}
}

func TestTrashKindValueIsChecked(t *testing.T) {
	t.Parallel()
	base := db.LMSTable{Table: "files", IDColumn: "id", KeyColumn: "s3_key", TrashColumn: "file_state", TrashKind: db.TrashValue, DefaultBucket: "b"}
	for _, tc := range []struct {
		name   string
		values []string
		kind   string
		want   string
	}{
		{"no values", nil, db.TrashValue, "TrashValues are required"},
		{"a quote", []string{"dele'ted"}, db.TrashValue, `"dele'ted" is not a plain value`},
		{"a space", []string{"in trash"}, db.TrashValue, "is not a plain value"},
		{"values for a flag", []string{"deleted"}, db.TrashFlag, `only for TrashKind "value"`},
	} {
		lms := base
		lms.TrashValues, lms.TrashKind = tc.values, tc.kind
		if err := lms.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
	ok := base
	ok.TrashValues = []string{"deleted", "purged"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate of deleted,purged: %v", err)
	}

	// Against the schema: the column must be a string type.
	sqlDB, _ := dbtest.Migrated(t)
	flagTable := dbtest.CreateFiles(t, sqlDB, db.TrashFlag) // trashed TINYINT
	flagTable.TrashKind, flagTable.TrashValues, flagTable.DefaultBucket = db.TrashValue, []string{"deleted"}, "b"
	if _, err := db.NewStore(t.Context(), sqlDB, flagTable); err == nil || !strings.Contains(err.Error(), `a string type (CHAR, VARCHAR, TEXT or ENUM), as TrashKind "value" needs`) {
		t.Errorf("NewStore over a TINYINT with TrashKind value: %v", err)
	}
}
