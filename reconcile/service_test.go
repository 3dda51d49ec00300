package reconcile_test

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// eventually polls cond until it holds or a minute passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServiceRunsOnSchedule(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 5 {
		key := fmt.Sprintf("sched/%d", i)
		env.AddFile(t, key, testworld.Body(key, 10), true, 0)
	}
	finished := make(chan reconcile.Summary, 16)
	svc, err := reconcile.NewService(env.Runner(t, env.Config("svc")), reconcile.ServiceConfig{
		Schedule: "@every 1s",
		Hooks:    reconcile.PassHooks{Finished: func(s reconcile.Summary, _ error) { finished <- s }},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testworld.Must(t, err)
	svc.Start(t.Context(), false)
	defer svc.Stop(t.Context())

	first, second := <-finished, <-finished
	if first.Trigger != reconcile.TriggerSchedule || second.Trigger != reconcile.TriggerSchedule {
		t.Errorf("triggers %s, %s; want schedule", first.Trigger, second.Trigger)
	}
	if first.Counts.Moved != 5 || second.Counts.Moved != 0 {
		t.Errorf("moved %d then %d; want 5 then 0", first.Counts.Moved, second.Counts.Moved)
	}
	var runs int
	testworld.Must(t, env.DB.QueryRow("SELECT COUNT(*) FROM trash_runs WHERE run_trigger = 'schedule' AND status = 'ok'").Scan(&runs))
	if runs < 2 {
		t.Errorf("%d scheduled runs recorded, want at least 2", runs)
	}
	if st := svc.Status(); st.Schedule != "@every 1s" || st.Next.IsZero() || st.Last == nil {
		t.Errorf("status %+v: want the schedule, the next run and the last pass", st)
	}
	if err := svc.Alive(); err != nil {
		t.Errorf("Alive = %v", err)
	}
	env.CheckInvariant(t)
}

// A trigger during a pass reports the running pass and starts nothing; a
// pass that stops making progress makes the service not alive.
func TestServiceTriggerDuringPass(t *testing.T) {
	t.Parallel()
	hold, copying, release := holdCopies()
	env := testworld.New(t, hold)
	env.AddFile(t, "slow.bin", []byte("slow"), true, 0)
	svc, err := reconcile.NewService(env.Runner(t, env.Config("svc")), reconcile.ServiceConfig{
		Schedule: "@every 1h", Stall: 200 * time.Millisecond, Tick: 10 * time.Millisecond,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testworld.Must(t, err)
	svc.Start(t.Context(), false)
	defer svc.Stop(t.Context())

	first, started, err := svc.Trigger(reconcile.TriggerManual)
	if err != nil || !started {
		t.Fatalf("Trigger = %v, %v; want a new pass", started, err)
	}
	<-copying
	again, started, err := svc.Trigger(reconcile.TriggerManual)
	if err != nil || started || again.ID != first.ID {
		t.Errorf("second Trigger = %+v, %v, %v; want the running pass %d, not a new one", again, started, err, first.ID)
	}
	// With its real start, not the zero time.
	if again.Progress.Started.IsZero() || first.Progress.Started.IsZero() || !again.Progress.Started.Equal(first.Progress.Started) {
		t.Errorf("the running pass's start: first %v, again %v; want the same, set", first.Progress.Started, again.Progress.Started)
	}
	eventually(t, "the stalled pass to make the service not alive", func() bool {
		err := svc.Alive()
		return err != nil && strings.Contains(err.Error(), "no progress")
	})
	close(release)
	eventually(t, "the pass to end", func() bool {
		p, ok := svc.Pass(first.ID)
		return ok && !p.Running
	})
	p, _ := svc.Pass(first.ID)
	if p.Summary.Counts.Moved != 1 || p.Summary.Status != reconcile.RunOK {
		t.Errorf("pass %+v, want 1 moved and ok", p.Summary)
	}
	if err := svc.Alive(); err != nil {
		t.Errorf("Alive after the pass = %v", err)
	}
	var runs int
	testworld.Must(t, env.DB.QueryRow("SELECT COUNT(*) FROM trash_runs").Scan(&runs))
	if runs != 1 {
		t.Errorf("%d runs recorded, want 1", runs)
	}
	env.CheckInvariant(t)
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"*/15 * * * *", "@every 15m", "@hourly", "CRON_TZ=Europe/Berlin 0 3 * * *"} {
		if _, err := reconcile.ParseSchedule(ok); err != nil {
			t.Errorf("ParseSchedule(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "every 15m", "* * *", "61 * * * *", "CRON_TZ=Mars/Base 0 3 * * *"} {
		_, err := reconcile.ParseSchedule(bad)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("ParseSchedule(%q) = %v, want an error quoting it", bad, err)
		}
	}
}

// A pass that cannot even start (here: the tables are newer than this
// binary, so the run is never recorded) reaches the hooks as a pass that
// ended in RunError, so that the metrics and their alert see it.
func TestServiceCountsAPassThatCannotStart(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	var started []reconcile.Trigger
	var finished []reconcile.Summary
	var errs []error
	svc, err := reconcile.NewService(env.Runner(t, env.Config("svc")), reconcile.ServiceConfig{
		Schedule: "@every 1h",
		Hooks: reconcile.PassHooks{
			Started:  func(tr reconcile.Trigger) { started = append(started, tr) },
			Finished: func(s reconcile.Summary, err error) { finished, errs = append(finished, s), append(errs, err) },
		},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testworld.Must(t, err)
	_, err = env.DB.Exec("INSERT INTO trash_schema_version (version_id, is_applied) VALUES (9999, TRUE)")
	testworld.Must(t, err)
	svc.Start(t.Context(), false)
	defer svc.Stop(t.Context())

	if _, _, err := svc.Trigger(reconcile.TriggerManual); err == nil {
		t.Fatal("Trigger started a pass on tables newer than the binary")
	}
	if len(started) != 1 || len(finished) != 1 || finished[0].Status != reconcile.RunError || errs[0] == nil {
		t.Errorf("hooks saw started %v, finished %+v with %v; want one pass that ended in %s", started, finished, errs, reconcile.RunError)
	}
}
