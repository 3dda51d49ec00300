package db_test

import (
	"strings"
	"testing"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

// A run whose heartbeat lapsed is shown abandoned, and recorded so by
// AbandonRuns; a run that beats is left alone.
func TestRunHeartbeat(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	dead, err := store.StartRun(ctx, reconcile.TriggerSchedule, "host-dead")
	if err != nil {
		t.Fatal(err)
	}
	alive, err := store.StartRun(ctx, reconcile.TriggerManual, "host-alive")
	if err != nil {
		t.Fatal(err)
	}
	// The dead run's last beat was ten minutes ago; the live one beat
	// ten minutes ago too, then again now.
	if _, err := sqlDB.Exec("UPDATE trash_runs SET heartbeat_at = NOW(6) - INTERVAL 10 MINUTE, started_at = NOW(6) - INTERVAL 20 MINUTE"); err != nil {
		t.Fatal(err)
	}
	if err := store.HeartbeatRun(ctx, alive); err != nil {
		t.Fatal(err)
	}

	st, err := store.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]db.Run{}
	for _, r := range st.Runs {
		byID[r.ID] = r
	}
	if r := byID[dead]; r.Status != reconcile.RunAbandoned || !strings.Contains(r.Error, "no heartbeat since") {
		t.Errorf("the dead run before the next pass: %+v, want shown abandoned", r)
	}
	if r := byID[alive]; r.Status != reconcile.RunRunning {
		t.Errorf("the live run: %+v, want running", r)
	}

	got, err := store.AbandonRuns(ctx, reconcile.RunLapse)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != dead || got[0].Host != "host-dead" || time.Since(got[0].Beat) < 9*time.Minute {
		t.Fatalf("AbandonRuns = %+v, want the dead run", got)
	}
	var status, errText string
	var finished bool
	if err := sqlDB.QueryRow("SELECT status, `error`, finished_at IS NOT NULL FROM trash_runs WHERE id = ?", dead).Scan(&status, &errText, &finished); err != nil {
		t.Fatal(err)
	}
	if status != "abandoned" || !finished || !strings.Contains(errText, "no heartbeat since") {
		t.Errorf("the dead run recorded %s, finished %v, %q", status, finished, errText)
	}
	if again, err := store.AbandonRuns(ctx, reconcile.RunLapse); err != nil || len(again) != 0 {
		t.Errorf("AbandonRuns again = %+v, %v; want none", again, err)
	}
	// A heartbeat does not bring an abandoned run back; its real end, if
	// it comes after all, is recorded.
	if err := store.HeartbeatRun(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if err := store.FinishRun(ctx, dead, reconcile.Counts{Moved: 1}, reconcile.RunOK, nil); err != nil {
		t.Fatal(err)
	}
}
