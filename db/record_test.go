package db_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

func TestRecordSteps(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	discover(t, store, sqlDB, "src", 1)
	rec := claim(t, store, "h", 1)[0]

	src := reconcile.Object{
		Bucket: "src", Key: rec.Source.Key, VersionID: "v-1", Size: 12345, ETag: "abc-2",
		Checksum: reconcile.Checksum{Algorithm: "CRC64NVME", Value: "AAAAAAAAAAA="},
	}
	step := reconcile.Step{To: reconcile.StatePending, Source: &src, TrashKey: "trash/1/k"}
	if err := store.Record(ctx, rec, step); err != nil {
		t.Fatalf("Record source: %v", err)
	}
	row := readObject(t, sqlDB, rec.ID)
	if row.State != "pending" || row.Version.String != "v-1" || row.Size.Int64 != 12345 || row.ETag.String != "abc-2" ||
		row.Checksum.String != "CRC64NVME:AAAAAAAAAAA=" || row.TrashKey.String != "trash/1/k" || !row.SeenAt.Valid ||
		row.CopiedAt.Valid || row.LeaseToken.String != rec.Lease.Token {
		t.Errorf("after recording the source: %+v", row)
	}

	trash := reconcile.Object{Bucket: "trash", Key: "trash/1/k", Size: 12345, ETag: "abc-2",
		Checksum: reconcile.Checksum{Algorithm: "CRC64NVME", Value: "AAAAAAAAAAA="}, StorageClass: "GLACIER"}
	if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StateCopied, Copy: &trash}); err != nil {
		t.Fatalf("Record copied: %v", err)
	}
	row = readObject(t, sqlDB, rec.ID)
	if row.State != "copied" || row.TrashBucket.String != "trash" || row.TrashETag.String != "abc-2" ||
		row.Class.String != "GLACIER" || !row.CopiedAt.Valid || row.DeletedAt.Valid || !row.LeaseToken.Valid {
		t.Errorf("after copied: %+v", row)
	}

	if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StateInTrash}); err != nil {
		t.Fatalf("Record in_trash: %v", err)
	}
	row = readObject(t, sqlDB, rec.ID)
	if row.State != "in_trash" || !row.DeletedAt.Valid || row.FinishedAt.Valid ||
		row.LeaseOwner.Valid || row.LeaseToken.Valid || row.LeaseExpiresAt.Valid {
		t.Errorf("after in_trash: %+v; want source_deleted_at and the lease given up", row)
	}
	// The lease went with the terminal step.
	if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StateArchived}); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("Record after the lease was given up = %v, want ErrLeaseLost", err)
	}

	// Claimed again, the record reads back what was recorded; no step
	// failed and the claims counted none, so no attempt is counted.
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'copied' WHERE id = ?", rec.ID)
	again := claim(t, store, "h", 1)[0]
	if again.Source != src || again.TrashKey != "trash/1/k" || again.Copy != trash || again.Attempts != 0 || again.FailingFor != 0 {
		t.Errorf("reclaimed = %+v\nwant source %+v\nand copy %+v", again, src, trash)
	}
}

func TestRecordTerminalStates(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", 3)
	recs := claim(t, store, "h", 3)
	for i, to := range []reconcile.State{reconcile.StateMissing, reconcile.StateFailed, reconcile.StateArchived} {
		if err := store.Record(t.Context(), recs[i], reconcile.Step{To: to, Error: "why " + string(to)}); err != nil {
			t.Fatalf("Record %s: %v", to, err)
		}
		row := readObject(t, sqlDB, recs[i].ID)
		if row.State != string(to) || !row.FinishedAt.Valid || row.LastError.String != "why "+string(to) || row.LeaseToken.Valid {
			t.Errorf("%s: %+v; want finished_at, the error and no lease", to, row)
		}
		if to == reconcile.StateArchived && !row.ArchivedAt.Valid {
			t.Errorf("archived without archived_at")
		}
	}
}

func TestRecordFencedByToken(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", 1)
	stale := claim(t, store, "slow-host", 1)[0]
	expireLeases(t, sqlDB)
	fresh := claim(t, store, "fast-host", 1)[0]
	if fresh.ID != stale.ID {
		t.Fatalf("took over %d, want %d", fresh.ID, stale.ID)
	}
	before := readObject(t, sqlDB, stale.ID)

	src := reconcile.Object{Bucket: "src", Key: stale.Source.Key, Size: 1, ETag: "e"}
	steps := []reconcile.Step{
		{To: reconcile.StateCopied, Source: &src, TrashKey: "x", Copy: &src},
		{To: reconcile.StateFailed, Error: "boom"},
		{To: reconcile.StatePending, RetryIn: time.Hour},
		{To: reconcile.StatePending, Release: true},
	}
	for _, step := range steps {
		err := store.Record(t.Context(), stale, step)
		if !errors.Is(err, reconcile.ErrLeaseLost) {
			t.Errorf("Record(%+v) with a stale token = %v, want ErrLeaseLost", step, err)
		}
		if err != nil && !strings.Contains(err.Error(), "record ") {
			t.Errorf("error %q does not name the record", err)
		}
	}
	if err := store.Release(t.Context(), stale); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("Release with a stale token = %v, want ErrLeaseLost", err)
	}
	if err := renewLease(t, store, stale, time.Hour); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("RenewLease with a stale token = %v, want ErrLeaseLost", err)
	}
	if after := readObject(t, sqlDB, stale.ID); after != before {
		t.Errorf("a stale token changed the row:\nbefore %+v\nafter  %+v", before, after)
	}

	// The new holder's writes go through, even when they change no value.
	if err := store.Record(t.Context(), fresh, reconcile.Step{To: reconcile.StatePending}); err != nil {
		t.Errorf("Record by the holder: %v", err)
	}
	if err := store.Record(t.Context(), fresh, reconcile.Step{To: reconcile.StatePending}); err != nil {
		t.Errorf("Record by the holder, no change: %v", err)
	}
}

func TestRecordRetryIn(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", 1)
	rec := claim(t, store, "h", 1)[0]

	step := reconcile.Step{To: reconcile.StatePending, Error: "SlowDown", RetryIn: 10 * time.Minute, Failed: true}
	if err := store.Record(t.Context(), rec, step); err != nil {
		t.Fatalf("Record: %v", err)
	}
	var inFuture, withinDelay bool
	err := sqlDB.QueryRowContext(t.Context(), `SELECT next_attempt_at > NOW(6) + INTERVAL 9 MINUTE,
		next_attempt_at <= NOW(6) + INTERVAL 10 MINUTE FROM trash_objects WHERE id = ?`, rec.ID).Scan(&inFuture, &withinDelay)
	if err != nil {
		t.Fatal(err)
	}
	if !inFuture || !withinDelay {
		t.Errorf("next_attempt_at not 10 minutes ahead by the database clock (> 9m: %v, <= 10m: %v)", inFuture, withinDelay)
	}
	row := readObject(t, sqlDB, rec.ID)
	if row.LeaseToken.Valid || row.LastError.String != "SlowDown" {
		t.Errorf("after RetryIn: %+v; want no lease and the error", row)
	}
	if got := claim(t, store, "h", 1); len(got) != 0 {
		t.Errorf("claimed a record before its retry time: %+v", got)
	}
	if n, _, err := store.Pending(t.Context()); err != nil || n != 0 {
		t.Errorf("Pending = %d, %v; want 0", n, err)
	}

	// Once due, it is claimable again, with the one failed attempt; an
	// empty Error clears last_error.
	exec(t, sqlDB, "UPDATE trash_objects SET next_attempt_at = NOW(6) - INTERVAL 1 SECOND WHERE id = ?", rec.ID)
	again := claim(t, store, "h", 1)
	if len(again) != 1 || again[0].LastError != "SlowDown" || again[0].Attempts != 1 {
		t.Fatalf("claim once due = %+v; want the error and 1 attempt", again)
	}
	if err := store.Record(t.Context(), again[0], reconcile.Step{To: reconcile.StatePending}); err != nil {
		t.Fatal(err)
	}
	// Back to pending is no progress: the failed attempt still counts.
	if row := readObject(t, sqlDB, rec.ID); row.LastError.Valid || !row.LeaseToken.Valid || row.Attempts != 1 {
		t.Errorf("after a step without error: %+v; want last_error NULL, the lease kept, 1 attempt", row)
	}
}

func TestRecordRejectsUnknownState(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", 1)
	rec := claim(t, store, "h", 1)[0]
	if err := store.Record(t.Context(), rec, reconcile.Step{To: "moved"}); err == nil || errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("Record to an unknown state = %v", err)
	}
	if err := store.Record(t.Context(), rec, reconcile.Step{To: reconcile.StateFailed, Error: "bad \xff byte" + strings.Repeat("x", 20000)}); err != nil {
		t.Errorf("Record with a long, invalid UTF-8 error: %v", err)
	}
}

// TestRecordShared: a record left in place because an untrashed LMS row
// still names its object keeps that row; a later pass takes it again, and
// leaving shared forgets the row.
func TestRecordShared(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 2)
	recs := claim(t, store, "h", 2)
	for _, r := range recs {
		if err := store.Record(ctx, r, reconcile.Step{To: reconcile.StateShared, SharedWith: 4242, RetryIn: time.Hour}); err != nil {
			t.Fatalf("Record shared: %v", err)
		}
	}
	row, later := readObject(t, sqlDB, recs[0].ID), readLater(t, sqlDB, recs[0].ID)
	if row.State != "shared" || later.SharedWith.Int64 != 4242 || row.LeaseToken.Valid || row.FinishedAt.Valid {
		t.Errorf("after shared: %+v, shared_with %v; want shared with 4242, no lease, not finished", row, later.SharedWith)
	}
	if got := recordOf(t, store, ids[0]); got.State != reconcile.StateShared || got.SharedWith != 4242 {
		t.Errorf("RecordOf a shared record = %+v", got)
	}

	// Looked at again by a later pass: still shared, now with another row.
	exec(t, sqlDB, "UPDATE trash_objects SET next_attempt_at = NOW(6) - INTERVAL 1 SECOND")
	again := claim(t, store, "h", 2)
	if len(again) != 2 || again[0].State != reconcile.StateShared || again[0].SharedWith != 4242 {
		t.Fatalf("claim of shared records = %+v; want both, shared with 4242", again)
	}
	if err := store.Record(ctx, again[0], reconcile.Step{To: reconcile.StateShared, SharedWith: 4343}); err != nil {
		t.Fatal(err)
	}
	if got := readLater(t, sqlDB, again[0].ID); got.SharedWith.Int64 != 4343 {
		t.Errorf("shared_with = %v, want 4343", got.SharedWith)
	}

	// The last row naming the object was trashed: leaving shared forgets it.
	src := reconcile.Object{Bucket: "src", Key: again[0].Source.Key, Size: 1, ETag: "e"}
	dst := reconcile.Object{Bucket: "trash", Key: "tk", Size: 1, ETag: "e"}
	for i, step := range []reconcile.Step{
		{To: reconcile.StatePending, Source: &src, TrashKey: "tk"},
		{To: reconcile.StateCopied, Copy: &dst},
	} {
		if err := store.Record(ctx, again[i], step); err != nil {
			t.Fatal(err)
		}
		if got := readLater(t, sqlDB, again[i].ID); got.SharedWith.Valid {
			t.Errorf("after %s: shared_with %v, want NULL", step.To, got.SharedWith)
		}
		if got := recordOf(t, store, again[i].LMSID); got.SharedWith != 0 {
			t.Errorf("after %s: SharedWith %d, want 0", step.To, got.SharedWith)
		}
	}
}

// TestRecordUpload: a multipart copy under way is recorded, read back,
// kept by steps that say nothing of it, and forgotten with ClearUpload.
func TestRecordUpload(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 1)
	rec := claim(t, store, "h", 1)[0]
	up := reconcile.Upload{Key: "k/0000", ID: strings.Repeat("u", 300)}
	if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StatePending, Upload: &up}); err != nil {
		t.Fatalf("Record upload: %v", err)
	}
	if got := readLater(t, sqlDB, rec.ID); got.UploadKey.String != up.Key || got.UploadID.String != up.ID {
		t.Errorf("upload columns = %v, %v; want %+v", got.UploadKey, got.UploadID, up)
	}
	if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StatePending, Error: "later"}); err != nil {
		t.Fatal(err)
	}
	if got := recordOf(t, store, ids[0]); got.Upload != up {
		t.Errorf("Upload after a step without it = %+v, want %+v", got.Upload, up)
	}
	if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StatePending, ClearUpload: true}); err != nil {
		t.Fatal(err)
	}
	if got := readLater(t, sqlDB, rec.ID); got.UploadKey.Valid || got.UploadID.Valid {
		t.Errorf("upload columns after ClearUpload = %v, %v; want NULL", got.UploadKey, got.UploadID)
	}
	if got := recordOf(t, store, ids[0]); got.Upload != (reconcile.Upload{}) {
		t.Errorf("Upload after ClearUpload = %+v, want none", got.Upload)
	}
}

// TestRecordRenews: a step with Renew extends the lease to Renew from now by
// the database clock, alone and in a batch (where the renewals differ from
// row to row): the holder counts the write as a fence, fresh for that long.
func TestRecordRenews(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	discover(t, store, sqlDB, "src", 4)
	recs := claim(t, store, "h", 4) // leases of a minute
	renews := []time.Duration{time.Hour, time.Hour, 2 * time.Hour, time.Hour}
	steps := make([]reconcile.Step, len(recs))
	for i := range recs {
		steps[i] = reconcile.Step{To: reconcile.StatePending, Renew: renews[i]}
	}
	if err := store.Record(ctx, recs[0], steps[0]); err != nil {
		t.Fatalf("Record: %v", err)
	}
	for i, err := range store.RecordBatch(ctx, recs[1:], steps[1:]) {
		if err != nil {
			t.Fatalf("RecordBatch, record %d: %v", recs[1+i].ID, err)
		}
	}
	for i, rec := range recs {
		var ahead bool
		err := sqlDB.QueryRowContext(ctx, `SELECT lease_expires_at > NOW(6) + INTERVAL ? SECOND
			AND lease_expires_at <= NOW(6) + INTERVAL ? SECOND FROM trash_objects WHERE id = ?`,
			renews[i].Seconds()-60, renews[i].Seconds(), rec.ID).Scan(&ahead)
		if err != nil {
			t.Fatal(err)
		}
		if !ahead {
			t.Errorf("record %d (alone: %v): lease expires %v, want %s from the database's now", rec.ID, i == 0,
				readObject(t, sqlDB, rec.ID).LeaseExpiresAt.Time, renews[i])
		}
	}
}
