package db_test

import (
	"testing"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

// TestRecordAttempts: attempts counts the failed attempts in a row and
// failing_since is when the first of them failed. A failed step adds one,
// progress (a step to any state but pending without an error) ends the run,
// and an interrupted step (its error the one recorded before) or the source
// read at the start of an attempt leaves both alone.
func TestRecordAttempts(t *testing.T) {
	t.Parallel()
	src := reconcile.Object{Bucket: "src", Key: "k", Size: 1, ETag: "e"}
	cases := []struct {
		name         string
		step         reconcile.Step
		wantAttempts int  // from 2
		wantFailing  bool // failing_since kept (it never moves while failing)
	}{
		{"failed, retried later", reconcile.Step{To: reconcile.StatePending, Error: "SlowDown", Failed: true, RetryIn: time.Minute}, 3, true},
		{"failed for good", reconcile.Step{To: reconcile.StateFailed, Error: "AccessDenied", Failed: true}, 3, true},
		{"failed with a copy", reconcile.Step{To: reconcile.StateCopied, Error: "delete: SlowDown", Failed: true}, 3, true},
		{"interrupted", reconcile.Step{To: reconcile.StatePending, Error: "earlier", Release: true}, 2, true},
		{"interrupted after the copy", reconcile.Step{To: reconcile.StateCopied, Error: "earlier", Release: true}, 2, true},
		{"source read", reconcile.Step{To: reconcile.StatePending, Source: &src, TrashKey: "tk"}, 2, true},
		{"pending, no error", reconcile.Step{To: reconcile.StatePending}, 2, true},
		{"copied", reconcile.Step{To: reconcile.StateCopied, Copy: &src}, 0, false},
		{"in the trash", reconcile.Step{To: reconcile.StateInTrash}, 0, false},
		{"shared", reconcile.Step{To: reconcile.StateShared, SharedWith: 7, RetryIn: time.Hour}, 0, false},
		{"restoring", reconcile.Step{To: reconcile.StateRestoring, RetryIn: time.Hour}, 0, false},
		{"restored", reconcile.Step{To: reconcile.StateRestored, RestoredKey: "k"}, 0, false},
		{"archived", reconcile.Step{To: reconcile.StateArchived}, 0, false},
	}
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", len(cases))
	// Failing for an hour, two attempts so far.
	exec(t, sqlDB, "UPDATE trash_objects SET attempts = 2, failing_since = NOW(6) - INTERVAL 1 HOUR, last_error = 'earlier'")
	recs := claim(t, store, "h", len(cases))
	if len(recs) != len(cases) {
		t.Fatalf("claimed %d records, want %d", len(recs), len(cases))
	}
	for i, c := range cases {
		before := readLater(t, sqlDB, recs[i].ID)
		if recs[i].Attempts != 2 || recs[i].FailingFor < time.Hour {
			t.Errorf("%s: claimed with attempts %d, failing for %s; want 2 and an hour", c.name, recs[i].Attempts, recs[i].FailingFor)
		}
		if err := store.Record(t.Context(), recs[i], c.step); err != nil {
			t.Errorf("%s: Record: %v", c.name, err)
			continue
		}
		after := readLater(t, sqlDB, recs[i].ID)
		if after.Attempts != c.wantAttempts {
			t.Errorf("%s: attempts %d, want %d", c.name, after.Attempts, c.wantAttempts)
		}
		switch {
		case c.wantFailing && after.FailingSince != before.FailingSince:
			t.Errorf("%s: failing_since %v, was %v; want it kept", c.name, after.FailingSince, before.FailingSince)
		case !c.wantFailing && after.FailingSince.Valid:
			t.Errorf("%s: failing_since %v, want NULL", c.name, after.FailingSince)
		}
	}
}

// TestRecordFirstFailure: the first failed attempt starts the failing time
// at the database's now; the next leaves it; progress clears both and the
// next failure starts over.
func TestRecordFirstFailure(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", 1)
	rec := claim(t, store, "h", 1)[0]

	var before, after time.Time
	if err := sqlDB.QueryRowContext(t.Context(), "SELECT NOW(6)").Scan(&before); err != nil {
		t.Fatal(err)
	}
	if err := store.Record(t.Context(), rec, reconcile.Step{To: reconcile.StatePending, Error: "e1", Failed: true}); err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.QueryRowContext(t.Context(), "SELECT NOW(6)").Scan(&after); err != nil {
		t.Fatal(err)
	}
	first := readLater(t, sqlDB, rec.ID)
	if first.Attempts != 1 || !first.FailingSince.Valid || first.FailingSince.Time.Before(before) || first.FailingSince.Time.After(after) {
		t.Fatalf("after the first failure: attempts %d, failing_since %v; want 1, between %v and %v",
			first.Attempts, first.FailingSince, before, after)
	}

	if err := store.Record(t.Context(), rec, reconcile.Step{To: reconcile.StatePending, Error: "e2", Failed: true}); err != nil {
		t.Fatal(err)
	}
	if second := readLater(t, sqlDB, rec.ID); second.Attempts != 2 || second.FailingSince != first.FailingSince {
		t.Errorf("after the second failure: attempts %d, failing_since %v; want 2, still %v", second.Attempts, second.FailingSince, first.FailingSince)
	}

	copied := reconcile.Object{Bucket: "trash", Key: "tk", Size: 1, ETag: "e"}
	if err := store.Record(t.Context(), rec, reconcile.Step{To: reconcile.StateCopied, Copy: &copied}); err != nil {
		t.Fatal(err)
	}
	if done := readLater(t, sqlDB, rec.ID); done.Attempts != 0 || done.FailingSince.Valid {
		t.Errorf("after progress: attempts %d, failing_since %v; want 0 and NULL", done.Attempts, done.FailingSince)
	}

	if err := store.Record(t.Context(), rec, reconcile.Step{To: reconcile.StateCopied, Error: "delete: SlowDown", Failed: true}); err != nil {
		t.Fatal(err)
	}
	if again := readLater(t, sqlDB, rec.ID); again.Attempts != 1 || !again.FailingSince.Valid || !again.FailingSince.Time.After(first.FailingSince.Time) {
		t.Errorf("a failure after progress: attempts %d, failing_since %v; want 1, later than %v", again.Attempts, again.FailingSince, first.FailingSince)
	}
}

// TestFailingForAtClaim: a claim reads how long the record has been failing
// by the database clock, so that it grows as the database's time goes by,
// whatever the hosts' clocks say; a record that is not failing reads zero.
func TestFailingForAtClaim(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ids := discover(t, store, sqlDB, "src", 2)
	recs := claim(t, store, "h", 2)
	if err := store.Record(t.Context(), recs[0], reconcile.Step{To: reconcile.StatePending, Error: "SlowDown", Failed: true, RetryIn: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := store.Release(t.Context(), recs[1]); err != nil {
		t.Fatal(err)
	}

	reclaim := func() map[int64]reconcile.Record {
		t.Helper()
		exec(t, sqlDB, "UPDATE trash_objects SET next_attempt_at = NOW(6) - INTERVAL 1 SECOND, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL")
		got := map[int64]reconcile.Record{}
		for _, r := range claim(t, store, "h", 10) {
			got[r.LMSID] = r
		}
		if len(got) != 2 {
			t.Fatalf("claimed %d records, want 2", len(got))
		}
		return got
	}

	got := reclaim()
	if f := got[ids[0]].FailingFor; f < 0 || f > time.Minute {
		t.Errorf("FailingFor just after the failure = %s, want a moment", f)
	}
	if f := got[ids[1]].FailingFor; f != 0 {
		t.Errorf("FailingFor of a record that never failed = %s, want 0", f)
	}

	// Three hours of the database's time (the failure moved back by as much).
	exec(t, sqlDB, "UPDATE trash_objects SET failing_since = failing_since - INTERVAL 3 HOUR WHERE failing_since IS NOT NULL")
	got = reclaim()
	if f := got[ids[0]].FailingFor; f < 3*time.Hour || f > 3*time.Hour+time.Minute {
		t.Errorf("FailingFor three hours later = %s, want 3h and a moment", f)
	}
	if got[ids[0]].Attempts != 1 {
		t.Errorf("attempts = %d, want 1: claims count none", got[ids[0]].Attempts)
	}

	// Progress: no longer failing.
	copied := reconcile.Object{Bucket: "trash", Key: "tk", Size: 1, ETag: "e"}
	if err := store.Record(t.Context(), got[ids[0]], reconcile.Step{To: reconcile.StateCopied, Copy: &copied}); err != nil {
		t.Fatal(err)
	}
	if got := reclaim(); got[ids[0]].FailingFor != 0 || got[ids[0]].Attempts != 0 {
		t.Errorf("after progress: FailingFor %s, attempts %d; want 0 and 0", got[ids[0]].FailingFor, got[ids[0]].Attempts)
	}
}
