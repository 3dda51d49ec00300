package db_test

import (
	"errors"
	"testing"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

func TestRuns(t *testing.T) {
	t.Parallel()
	store, _, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	first, err := store.StartRun(ctx, reconcile.TriggerSchedule, "host-a")
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	second, err := store.StartRun(ctx, reconcile.TriggerManual, "host-b")
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	counts := reconcile.Counts{Discovered: 9, Moved: 5, Missing: 1, Failed: 1, Retrying: 1, Interrupted: 1, Bytes: 1 << 40}
	if err := store.FinishRun(ctx, first, counts, reconcile.RunFailed, nil); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}
	if err := store.FinishRun(ctx, 999999, counts, reconcile.RunOK, nil); err == nil {
		t.Error("FinishRun of an unknown run succeeded")
	}

	st, err := store.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Runs) != 2 {
		t.Fatalf("runs = %+v", st.Runs)
	}
	running, finished := st.Runs[0], st.Runs[1]
	if running.ID != second || running.Status != reconcile.RunRunning || running.Trigger != reconcile.TriggerManual ||
		running.Host != "host-b" || !running.FinishedAt.IsZero() || running.StartedAt.After(st.Now) {
		t.Errorf("running run = %+v", running)
	}
	if finished.ID != first || finished.Status != reconcile.RunFailed || finished.Counts != counts ||
		finished.FinishedAt.Before(finished.StartedAt) || finished.Error != "" {
		t.Errorf("finished run = %+v", finished)
	}

	if err := store.FinishRun(ctx, second, reconcile.Counts{}, reconcile.RunError, errors.New("preflight: bucket missing")); err != nil {
		t.Fatal(err)
	}
	st, err = store.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Runs[0].Error != "preflight: bucket missing" || st.Runs[0].Status != reconcile.RunError {
		t.Errorf("errored run = %+v", st.Runs[0])
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()

	st, err := store.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.States) != len(reconcile.States) || !st.OldestPending.IsZero() || st.OldestPendingAge() != 0 || st.Due != 0 {
		t.Errorf("empty status = %+v", st)
	}

	ids := discover(t, store, sqlDB, "src", 8)
	exec(t, sqlDB, "UPDATE trash_objects SET discovered_at = NOW(6) - INTERVAL 2 HOUR WHERE lms_id = ?", ids[0])
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'in_trash', source_size = 100 WHERE lms_id IN (?, ?)", ids[1], ids[2])
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'failed' WHERE lms_id = ?", ids[3])
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'copied', source_size = 7 WHERE lms_id = ?", ids[4])
	exec(t, sqlDB, "UPDATE trash_objects SET next_attempt_at = NOW(6) + INTERVAL 1 HOUR WHERE lms_id = ?", ids[5])
	claim(t, store, "h", 1) // ids[0]: due longest ago

	st, err = store.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[reconcile.State]db.StateCount{
		reconcile.StatePending: {State: reconcile.StatePending, Count: 4},
		reconcile.StateCopied:  {State: reconcile.StateCopied, Count: 1, Bytes: 7},
		reconcile.StateInTrash: {State: reconcile.StateInTrash, Count: 2, Bytes: 200},
		reconcile.StateFailed:  {State: reconcile.StateFailed, Count: 1},
	}
	for i, c := range st.States {
		if c.State != reconcile.States[i] {
			t.Errorf("States[%d] is %s, want %s", i, c.State, reconcile.States[i])
		}
		if w := want[c.State]; c.Count != w.Count || c.Bytes != w.Bytes {
			t.Errorf("%s: %d records, %d bytes; want %d, %d", c.State, c.Count, c.Bytes, w.Count, w.Bytes)
		}
	}
	if st.Due != 3 || st.AwaitingRetry != 1 || st.Leased != 1 {
		t.Errorf("due %d, awaiting retry %d, leased %d; want 3, 1, 1", st.Due, st.AwaitingRetry, st.Leased)
	}
	if age := st.OldestPendingAge(); age < 2*time.Hour || age > 2*time.Hour+time.Minute {
		t.Errorf("oldest pending age = %s, want about 2h by the database clock", age)
	}

	n, bytes, err := store.Pending(ctx)
	if err != nil || n != 3 || bytes != 7 {
		t.Errorf("Pending = %d, %d, %v; want 3 records, 7 known bytes", n, bytes, err)
	}
}
