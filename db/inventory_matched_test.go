package db_test

import (
	"testing"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

// MarkArchived checks that the record is still the copy the report row was
// matched against (life, trash_key), as markGone does. A record read by
// WaitingCopies (life 0, copy trash/k/0000), then restored and trashed
// again while the report streams, whose new life shares another record's
// older copy (AdoptCopy gives it that copy's copied_at, before the report),
// is not recorded archived from the row of its old key.
func TestMarkArchivedChecksTheCopyItWasMatchedOn(t *testing.T) {
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
	matched := []reconcile.MatchedCopy{{ID: got[0].ID, Life: got[0].Life, KeyHash: reconcile.CopyKeyHash(got[0].Key)}}
	n, err := store.MarkArchived(ctx, matched, "GLACIER_IR", created)
	if err != nil {
		t.Fatal(err)
	}
	if row := readGlacier(t, sqlDB, ids[0]); n != 0 || row.State != "in_trash" {
		t.Errorf("MarkArchived changed %d records; the record of the new life is %s in %s from a row of its old copy (trash/k/0000)",
			n, row.State, row.Class.String)
	}
}

// The copy MarkArchived checks is the key's hash as reconcile computes it:
// a record whose copy is the one matched (a key with spaces, '+', '%' and
// UTF-8) is recorded archived, and one whose key changed in the same life
// is not.
func TestMarkArchivedMatchesTheKeyHash(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 2)
	const key = "trash/cours 1/é+%20 notes.pdf"
	for _, id := range ids {
		putCopy(t, sqlDB, id, reconcile.StateInTrash, 1<<20, 40)
		setRecord(t, sqlDB, id, "trash_key = ?", key)
	}
	var created time.Time
	if err := sqlDB.QueryRow("SELECT NOW(6)").Scan(&created); err != nil {
		t.Fatal(err)
	}
	got, err := store.WaitingCopies(ctx, reconcile.TransitionQuery{MinSize: 1, Age: 30 * 24 * time.Hour}, "trash", created, 0, 100)
	if err != nil || len(got) != 2 || got[0].Key != key {
		t.Fatalf("WaitingCopies: %+v, %v", got, err)
	}
	setRecord(t, sqlDB, ids[1], "trash_key = 'trash/another-copy'")
	var matched []reconcile.MatchedCopy
	for _, w := range got {
		matched = append(matched, reconcile.MatchedCopy{ID: w.ID, Life: w.Life, KeyHash: reconcile.CopyKeyHash(w.Key)})
	}
	n, err := store.MarkArchived(ctx, matched, "GLACIER", created)
	if err != nil {
		t.Fatal(err)
	}
	same, moved := readGlacier(t, sqlDB, ids[0]), readGlacier(t, sqlDB, ids[1])
	if n != 1 || same.State != "archived" || same.Class.String != "GLACIER" || moved.State != "in_trash" {
		t.Errorf("MarkArchived changed %d records: the matched copy is %s, the moved one %s; want 1, archived, in_trash", n, same.State, moved.State)
	}
}
