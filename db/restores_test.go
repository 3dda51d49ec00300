package db_test

import (
	"errors"
	"testing"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

// TestRecordRestoreKeepsLease: a restore works on records whose state a
// move no longer works on (in_trash, archived, restoring, failed) and
// records its copy back in parts under that state. Those steps keep its
// lease: the restore gives it up when it retries, releases or ends.
func TestRecordRestoreKeepsLease(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	states := []reconcile.State{reconcile.StateInTrash, reconcile.StateArchived, reconcile.StateRestoring, reconcile.StateFailed, reconcile.StateCopied}
	ids := discover(t, store, sqlDB, "src", len(states))
	for i, s := range states {
		putCopy(t, sqlDB, ids[i], s, 10, 1)
		setRecord(t, sqlDB, ids[i], "restore_requested_at = NOW(6)")
	}
	recs, err := store.ClaimRestores(ctx, "restorer", 10, time.Minute)
	if err != nil || len(recs) != len(states) {
		t.Fatalf("ClaimRestores = %d records, %v; want %d", len(recs), err, len(states))
	}
	for _, rec := range recs {
		up := reconcile.Upload{Key: rec.Source.Key, ID: "up-" + rec.Source.Key}
		steps := []reconcile.Step{
			{To: rec.State, Upload: &up},
			{To: rec.State, ClearUpload: true},
		}
		for _, step := range steps {
			if err := store.Record(ctx, rec, step); err != nil {
				t.Errorf("%s record being restored: Record(%+v) = %v; want the lease kept", rec.State, step, err)
			}
			if row := readObject(t, sqlDB, rec.ID); row.LeaseToken.String != rec.Lease.Token {
				t.Errorf("%s record being restored: lease token %v after a step under way, want %s", rec.State, row.LeaseToken, rec.Lease.Token)
			}
		}
	}
	expireLeases(t, sqlDB) // not taken over: still held
	for _, rec := range recs {
		if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StateRestored, RestoredKey: rec.Source.Key, Release: true}); err != nil {
			t.Errorf("%s record: Record restored = %v", rec.State, err)
		}
		if row := readObject(t, sqlDB, rec.ID); row.State != "restored" || row.LeaseToken.Valid || !row.FinishedAt.Valid {
			t.Errorf("after restored: %+v; want restored, finished, no lease", row)
		}
		if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StateRestored}); !errors.Is(err, reconcile.ErrLeaseLost) {
			t.Errorf("Record after the restore released its lease = %v, want ErrLeaseLost", err)
		}
	}
}
