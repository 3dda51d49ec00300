package db_test

import (
	"database/sql"
	"testing"

	"trashd/db"
	"trashd/reconcile"
)

// A size left to be filled (a move by the copy's answer alone) is filled in
// only for the copy the record still names: a transition check that HEADed
// the copy of a record's earlier life (it paused while the record was
// restored, trashed again and moved as it is) fills in nothing of the new
// life; the check of the current copy does, the source's too.
func TestFillSizeOnlyOfTheCopyNamed(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	id := discover(t, store, sqlDB, "src", 1)[0]
	setRecord(t, sqlDB, id, "state = 'in_trash', trash_bucket = 'trash', trash_key = 'trash/old', trash_etag = 'e-old',"+
		" source_etag = 'e-old', source_size = NULL, trash_size = NULL, copied_at = NOW(6)")
	old := recordOf(t, store, id) // what the check read: life 0, trash/old
	if old.Source.Size != reconcile.SizeUnknown || old.Copy.Size != reconcile.SizeUnknown {
		t.Fatalf("sizes read %d, %d; want both unknown", old.Source.Size, old.Copy.Size)
	}
	// Meanwhile: restored, trashed again, moved as it is to another key.
	setRecord(t, sqlDB, id, "life = life + 1, trash_key = 'trash/new', trash_etag = 'e-new', source_etag = 'e-new'")
	sizes := func() (src, trash sql.NullInt64) {
		t.Helper()
		if err := sqlDB.QueryRow("SELECT source_size, trash_size FROM trash_objects WHERE lms_id = ?", id).Scan(&src, &trash); err != nil {
			t.Fatal(err)
		}
		return src, trash
	}
	ok, err := store.FillSize(ctx, old, 999)
	if src, trash := sizes(); err != nil || ok || src.Valid || trash.Valid {
		t.Errorf("FillSize of life 0's copy = %v, %v; the new life's sizes now %v / %v (want NULL: 999 is the old copy's)", ok, err, src, trash)
	}
	cur := recordOf(t, store, id)
	ok, err = store.FillSize(ctx, cur, 1234)
	if src, trash := sizes(); err != nil || !ok || src.Int64 != 1234 || trash.Int64 != 1234 {
		t.Errorf("FillSize of the current copy = %v, %v; sizes %v / %v, want 1234 for both", ok, err, src, trash)
	}
	// Filled once: a later check fills nothing.
	if ok, err := store.FillSize(ctx, cur, 5); err != nil || ok {
		t.Errorf("FillSize again = %v, %v; want nothing to fill", ok, err)
	}
}
