package db_test

import (
	"testing"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

// MarkArchived is told only ids: it does not check that the record is still
// the copy the report row was matched against (trash_key, life), as
// markGone does. A record read by WaitingCopies (life 0, copy trash/k/0000),
// then restored and trashed again while the report streams, whose new life
// shares another record's older copy (AdoptCopy gives it that copy's
// copied_at, before the report), is recorded archived from the row of its
// old key, whatever class its new copy is in.
func TestReview17MarkArchivedChecksTheCopyItWasMatchedOn(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 1)
	putCopy(t, sqlDB, ids[0], reconcile.StateInTrash, 1<<20, 40)
	setRecord(t, sqlDB, ids[0], "trash_etag = 'old-life-etag', trash_size = 1048576")
	var created time.Time
	if err := sqlDB.QueryRow("SELECT NOW(6)").Scan(&created); err != nil {
		t.Fatal(err)
	}
	q := reconcile.TransitionQuery{MinSize: 1, Age: 30 * 24 * time.Hour}
	got, err := store.WaitingCopies(ctx, q, "trash", created, 0, 100)
	if err != nil || len(got) != 1 || got[0].Key != "trash/k/0000" {
		t.Fatalf("WaitingCopies: %+v, %v", got, err)
	}
	// While the report streams: restored, trashed again (a new life), and
	// moved into another record's copy, made 50 days ago, still STANDARD.
	setRecord(t, sqlDB, ids[0], "life = life + 1, trash_key = 'trash/other-record-copy', trash_etag = 'other-etag',"+
		" trash_size = 777, storage_class = NULL, copied_at = NOW(6) - INTERVAL 50 DAY")
	n, err := store.MarkArchived(ctx, []int64{got[0].ID}, "GLACIER_IR", created)
	if err != nil {
		t.Fatal(err)
	}
	if row := readGlacier(t, sqlDB, ids[0]); n != 0 || row.State != "in_trash" {
		t.Errorf("MarkArchived changed %d records; the record of the new life is %s in %s from a row of its old copy (trash/k/0000)",
			n, row.State, row.Class.String)
	}
}
