package db_test

import (
	"database/sql"
	"slices"
	"testing"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

// WaitingCopies returns the in_trash copies a report taken at copiedBy
// could list, in the bucket asked, in id order from after; MarkArchived
// records archived only those still waiting: not leased, no restore
// requested, not copied again since the report.
func TestWaitingCopiesAndMarkArchived(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 7)
	for _, id := range ids {
		putCopy(t, sqlDB, id, reconcile.StateInTrash, 1<<20, 40)
	}
	setRecord(t, sqlDB, ids[1], "trash_bucket = 'other-trash'")                 // another bucket's copy
	setRecord(t, sqlDB, ids[2], "copied_at = NOW(6) + INTERVAL 1 HOUR")         // copied after the report
	setRecord(t, sqlDB, ids[3], "restore_requested_at = NOW(6)")                // the LMS wants it back
	leaseRecord(t, sqlDB, ids[4])                                               // a pass works on it
	setRecord(t, sqlDB, ids[5], "trash_etag = 'copy-etag', trash_size = 12345") // the copy's own identity
	setRecord(t, sqlDB, ids[6], "trash_bucket = NULL")                          // the configured trash bucket
	var created time.Time
	if err := sqlDB.QueryRow("SELECT NOW(6)").Scan(&created); err != nil {
		t.Fatal(err)
	}
	q := reconcile.TransitionQuery{MinSize: 1, Age: 30 * 24 * time.Hour}
	got, err := store.WaitingCopies(ctx, q, "trash", created, 0, 100)
	if err != nil {
		t.Fatalf("WaitingCopies: %v", err)
	}
	var recIDs []int64
	for _, w := range got {
		recIDs = append(recIDs, w.ID)
	}
	want := []int64{recordOf(t, store, ids[0]).ID, recordOf(t, store, ids[5]).ID, recordOf(t, store, ids[6]).ID}
	if !slices.Equal(recIDs, want) {
		t.Fatalf("WaitingCopies = %v, want %v", recIDs, want)
	}
	if w := got[1]; w.Key != "trash/k/0005" || w.Size != 12345 || w.ETag != "copy-etag" {
		t.Errorf("the copy with its own identity: %+v", w)
	}
	if page, err := store.WaitingCopies(ctx, q, "trash", created, want[0], 1); err != nil || len(page) != 1 || page[0].ID != want[1] {
		t.Errorf("a page after %d: %+v, %v; want record %d", want[0], page, err, want[1])
	}

	all := make([]reconcile.MatchedCopy, len(ids))
	for i, id := range ids {
		all[i] = matchedCopy(t, sqlDB, recordOf(t, store, id).ID)
	}
	n, err := store.MarkArchived(ctx, all, "GLACIER", created)
	if err != nil {
		t.Fatalf("MarkArchived: %v", err)
	}
	// ids[1] is in another bucket but still in_trash and unleased: the
	// caller only ever passes ids WaitingCopies gave; the guards are the
	// lease, the restore and the time of the copy.
	if n != 4 {
		t.Errorf("MarkArchived changed %d records, want 4", n)
	}
	for i, want := range []string{"archived", "archived", "in_trash", "in_trash", "in_trash", "archived", "archived"} {
		row := readGlacier(t, sqlDB, ids[i])
		if row.State != want {
			t.Errorf("record of LMS row %d: %s, want %s", ids[i], row.State, want)
		}
		if want == "archived" && (row.Class.String != "GLACIER" || !row.ArchivedAt.Valid || !row.CheckedAt.Valid) {
			t.Errorf("archived record of LMS row %d: %+v", ids[i], row)
		}
	}
}

// matchedCopy is record id's copy as WaitingCopies reads it, matched.
func matchedCopy(t *testing.T, sqlDB *sql.DB, id int64) reconcile.MatchedCopy {
	t.Helper()
	var (
		life int64
		key  string
	)
	if err := sqlDB.QueryRow("SELECT life, COALESCE(trash_key, '') FROM trash_objects WHERE id = ?", id).Scan(&life, &key); err != nil {
		t.Fatal(err)
	}
	return reconcile.MatchedCopy{ID: id, Life: life, KeyHash: reconcile.CopyKeyHash(key)}
}
