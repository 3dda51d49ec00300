package db_test

import (
	"slices"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// TestReturnOrphans: an orphaned record whose LMS row exists again (a
// table restored from a backup) goes back to the state it had; the others
// stay orphaned.
func TestReturnOrphans(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 5)
	inTrash, archived, legacy, goneInTrash, goneArchived := ids[0], ids[1], ids[2], ids[3], ids[4]
	for _, id := range ids {
		putCopy(t, sqlDB, id, reconcile.StateInTrash, 10, 1)
	}
	for _, id := range []int64{archived, goneArchived} {
		setRecord(t, sqlDB, id, "state = 'archived', archived_at = NOW(6), finished_at = NOW(6) - INTERVAL 1 DAY")
	}
	// The backup the rows come back from: the files table as it was.
	exec(t, sqlDB, "CREATE TABLE files_backup AS SELECT * FROM files")
	exec(t, sqlDB, "DELETE FROM files")
	if n, err := markOrphans(t, store); err != nil || n != 5 {
		t.Fatalf("MarkOrphans = %d, %v; want 5", n, err)
	}
	// Orphaned before the state was kept.
	setRecord(t, sqlDB, legacy, "orphaned_from = NULL")
	if n, err := store.ReturnOrphans(ctx); err != nil || n != 0 {
		t.Fatalf("ReturnOrphans with every row gone = %d, %v; want 0", n, err)
	}

	// Three rows come back, one of them restored from the trash meanwhile.
	exec(t, sqlDB, "INSERT INTO files SELECT * FROM files_backup WHERE id IN (?, ?, ?)", inTrash, archived, legacy)
	dbtest.SetTrashed(t, sqlDB, inTrash, false)
	n, err := store.ReturnOrphans(ctx)
	if err != nil || n != 3 {
		t.Fatalf("ReturnOrphans = %d, %v; want 3", n, err)
	}
	for _, c := range []struct {
		lmsID    int64
		state    string
		finished bool
		from     string // orphaned_from; "" is NULL
	}{
		{inTrash, "in_trash", false, ""},
		{archived, "archived", true, ""},
		{legacy, "in_trash", false, ""},
		{goneInTrash, "orphaned", true, "in_trash"},
		{goneArchived, "orphaned", true, "archived"},
	} {
		row := readGlacier(t, sqlDB, c.lmsID)
		later := readLater(t, sqlDB, recordOf(t, store, c.lmsID).ID)
		if row.State != c.state || row.FinishedAt.Valid != c.finished || later.OrphanedFrom.String != c.from || later.OrphanedFrom.Valid != (c.from != "") {
			t.Errorf("LMS row %d: state %s, finished_at %v, orphaned_from %v; want %s, finished %v, orphaned_from %q",
				c.lmsID, row.State, row.FinishedAt, later.OrphanedFrom, c.state, c.finished, c.from)
		}
	}
	if n, err := store.ReturnOrphans(ctx); err != nil || n != 0 {
		t.Errorf("second ReturnOrphans = %d, %v; want 0", n, err)
	}
	// Back in the trash, the record is everything it was: restorable
	// (its row's flag was cleared), and orphanable again.
	if got, err := store.RestoreCandidates(ctx); err != nil || !slices.Equal(got, []int64{recordOf(t, store, inTrash).ID}) {
		t.Errorf("RestoreCandidates after the rows came back = %v, %v; want the record of LMS row %d", got, err, inTrash)
	}
	exec(t, sqlDB, "DELETE FROM files WHERE id = ?", legacy)
	if got, err := store.OrphanCandidates(ctx); err != nil || !slices.Equal(got, []int64{recordOf(t, store, legacy).ID}) {
		t.Errorf("OrphanCandidates after a returned row was deleted again = %v, %v", got, err)
	}
}

// TestMarkOrphansSkipsAHeldRecord: a record that a worker leased after the
// candidates were listed is not marked orphaned: a record changes only under
// its holder's lease, and the holder may be in the middle of a restore.
func TestMarkOrphansSkipsAHeldRecord(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 2)
	for _, id := range ids {
		putCopy(t, sqlDB, id, reconcile.StateInTrash, 10, 1)
	}
	exec(t, sqlDB, "DELETE FROM files")
	candidates, err := store.OrphanCandidates(ctx)
	if err != nil || len(candidates) != 2 {
		t.Fatalf("OrphanCandidates = %v, %v; want both records", candidates, err)
	}
	// Between the listing and the write, a worker takes one.
	setRecord(t, sqlDB, ids[0], "restore_requested_at = NOW(6)")
	held, err := store.ClaimRestores(ctx, "host-b", 10, time.Minute)
	if err != nil || len(held) != 1 || held[0].LMSID != ids[0] {
		t.Fatalf("ClaimRestores = %+v, %v; want the record of LMS row %d", held, err, ids[0])
	}
	n, err := store.MarkOrphans(ctx, candidates)
	if err != nil || n != 1 {
		t.Errorf("MarkOrphans = %d, %v; want 1, the record nobody holds", n, err)
	}
	if got := recordOf(t, store, ids[0]); got.State != reconcile.StateInTrash || got.Lease.Token != held[0].Lease.Token {
		t.Errorf("the held record is %s, lease %+v; want in_trash, still held", got.State, got.Lease)
	}
	if got := recordOf(t, store, ids[1]); got.State != reconcile.StateOrphaned {
		t.Errorf("the record nobody holds is %s, want orphaned", got.State)
	}
}
