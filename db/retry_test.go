package db_test

import (
	"strings"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// Retry re-queues failed and missing records: to copied with a verified
// trash copy, else to pending; attempts, failing time, lease and error
// cleared, due now. A record without a bucket picks up the default one.
func TestRetry(t *testing.T) {
	t.Parallel()
	store, sqlDB, lms := setup(t, "flag")
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 4)
	recID := func(lmsID int64) int64 {
		var id int64
		if err := sqlDB.QueryRow("SELECT id FROM trash_objects WHERE lms_id = ?", lmsID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := sqlDB.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	fail := "UPDATE trash_objects SET state = ?, attempts = 5, failing_since = NOW(6) - INTERVAL 2 DAY, finished_at = NOW(6)," +
		" next_attempt_at = NOW(6) + INTERVAL 1 DAY, last_error = ? WHERE lms_id = ?"
	exec(fail, "failed", "AccessDenied: check the IAM policy", ids[0])
	exec(fail, "missing", "the source is gone", ids[1])
	exec(fail, "failed", "verify failed after the copy", ids[2])
	exec("UPDATE trash_objects SET trash_etag = '\"abc\"', trash_key = 'k' WHERE lms_id = ?", ids[2])
	// ids[3] stays pending: not a failure.
	// A row discovered while TRASHD_SOURCE_BUCKET was unset: no bucket.
	noBucket := dbtest.InsertFile(t, sqlDB, "", "nb/key", true)
	if _, err := store.RecordTrashed(ctx, []reconcile.TrashedRow{{LMSID: noBucket, Key: "nb/key"}}); err != nil {
		t.Fatal(err)
	}
	exec(fail, "failed", "no bucket", noBucket)

	all, err := store.Failures(ctx, db.FailureFilter{}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("Failures = %d, want 4: %+v", len(all), all)
	}
	if all[0].LMSID != ids[0] || all[0].Reason != "AccessDenied: check the IAM policy" || all[0].Attempts != 5 || all[0].State != reconcile.StateFailed {
		t.Errorf("first failure %+v", all[0])
	}
	missing, err := store.Failures(ctx, db.FailureFilter{States: []reconcile.State{reconcile.StateMissing}}, 0, 100)
	if err != nil || len(missing) != 1 || missing[0].LMSID != ids[1] {
		t.Errorf("missing only: %+v, %v", missing, err)
	}
	if _, err := store.Failures(ctx, db.FailureFilter{States: []reconcile.State{reconcile.StatePending}}, 0, 100); err == nil {
		t.Error("Failures of pending: no error")
	}

	// A dry run changes nothing.
	before := readObject(t, sqlDB, recID(ids[0]))
	plan, err := store.Retry(ctx, all, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := readObject(t, sqlDB, recID(ids[0])); got.State != before.State || got.Attempts != before.Attempts {
		t.Errorf("dry run changed the record: %+v", got)
	}
	wantTo := map[int64]reconcile.State{ids[0]: reconcile.StatePending, ids[1]: reconcile.StatePending, ids[2]: reconcile.StateCopied}
	for _, r := range plan {
		if want, ok := wantTo[r.LMSID]; ok && (r.To != want || r.Skip != "") {
			t.Errorf("dry run of LMS row %d: to %q skip %q, want %s", r.LMSID, r.To, r.Skip, want)
		}
	}

	// The store has a default bucket (setup); the record without one
	// picks it up.
	done, err := store.Retry(ctx, all, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range done {
		if r.Skip != "" {
			t.Errorf("LMS row %d skipped: %s", r.LMSID, r.Skip)
		}
	}
	for lmsID, want := range wantTo {
		got := readObject(t, sqlDB, recID(lmsID))
		if got.State != string(want) || got.Attempts != 0 || got.LastError.Valid || got.FinishedAt.Valid || got.LeaseToken.Valid {
			t.Errorf("LMS row %d after retry: %+v, want %s with attempts, error, finish and lease cleared", lmsID, got, want)
		}
		var failing, due bool
		if err := sqlDB.QueryRow("SELECT failing_since IS NULL, next_attempt_at <= NOW(6) FROM trash_objects WHERE lms_id = ?", lmsID).
			Scan(&failing, &due); err != nil || !failing || !due {
			t.Errorf("LMS row %d: failing_since cleared %v, due now %v (%v)", lmsID, failing, due, err)
		}
	}
	if got := readObject(t, sqlDB, recID(noBucket)); got.Bucket != lms.DefaultBucket || got.State != "pending" {
		t.Errorf("the record without a bucket: %+v, want pending in %s", got, lms.DefaultBucket)
	}
	// Nothing left to retry; a second retry of the same list changes nothing.
	if left, _ := store.Failures(ctx, db.FailureFilter{}, 0, 100); len(left) != 0 {
		t.Errorf("failures left: %+v", left)
	}
	again, err := store.Retry(ctx, all, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.To != "" || !strings.Contains(r.Skip, "changed meanwhile") {
			t.Errorf("second retry of LMS row %d: to %q skip %q", r.LMSID, r.To, r.Skip)
		}
	}
}

// A record whose key could not be stored exactly (clipped at discovery), or
// whose LMS row is gone, is never re-queued: a clipped key may name another
// object.
func TestRetrySkipsWhatCannotBeMoved(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, "flag")
	ctx := t.Context()
	long := strings.Repeat("é", 600)
	longID := dbtest.InsertFile(t, sqlDB, "src", long, true)
	goneID := dbtest.InsertFile(t, sqlDB, "src", "gone", true)
	if _, err := store.RecordTrashed(ctx, []reconcile.TrashedRow{
		{LMSID: longID, Bucket: "src", Key: long}, {LMSID: goneID, Bucket: "src", Key: "gone"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec("UPDATE trash_objects SET state = 'missing' WHERE lms_id = ?", goneID); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec("DELETE FROM files WHERE id = ?", goneID); err != nil {
		t.Fatal(err)
	}
	fs, err := store.Failures(ctx, db.FailureFilter{LMSIDs: []int64{longID, goneID}}, 0, 100)
	if err != nil || len(fs) != 2 {
		t.Fatalf("Failures = %+v, %v", fs, err)
	}
	got, err := store.Retry(ctx, fs, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		want := map[int64]string{longID: "over S3's limit of 1024", goneID: "is gone"}[r.LMSID]
		if r.To != "" || !strings.Contains(r.Skip, want) {
			t.Errorf("LMS row %d: to %q skip %q, want skipped: %s", r.LMSID, r.To, r.Skip, want)
		}
	}
	if left, _ := store.Failures(ctx, db.FailureFilter{}, 0, 100); len(left) != 2 {
		t.Errorf("failures after a retry that skipped both: %d, want 2", len(left))
	}
}
