package service_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"trashd/internal/service"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// manualTimer is a SchedulerConfig.Timer that fires when the test says:
// each wait of the schedule is announced on waits, and fires on fire.
type manualTimer struct {
	waits chan time.Duration
	fire  chan time.Time
}

func newManualTimer() *manualTimer {
	return &manualTimer{waits: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (m *manualTimer) timer(d time.Duration) (<-chan time.Time, func() bool) {
	m.waits <- d
	return m.fire, func() bool { return true }
}

// A scheduled pass is a real pass: the schedule's activations (fired by the
// test, not by the clock) move the trash, and each is recorded as a
// scheduled run.
func TestSchedulerRunsOnSchedule(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 5 {
		key := fmt.Sprintf("sched/%d", i)
		env.AddFile(t, key, testworld.Body(key, 10), true, 0)
	}
	sched, _, err := service.ParseSchedule("*/15 * * * *", time.Now())
	testworld.Must(t, err)
	finished := make(chan reconcile.Summary, 16)
	timer := newManualTimer()
	svc, err := service.NewScheduler(env.Runner(t, env.Config("svc")), service.SchedulerConfig{
		Schedule: sched, Timer: timer.timer,
		Hooks: service.PassHooks{Finished: func(s reconcile.Summary, _ error) { finished <- s }},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testworld.Must(t, err)
	svc.Start(t.Context(), false)
	defer svc.Stop(t.Context())

	var sums []reconcile.Summary
	for range 2 {
		if d := <-timer.waits; d <= 0 || d > 15*time.Minute {
			t.Errorf("the schedule waits %s for */15, want up to 15m", d)
		}
		timer.fire <- time.Now()
		sums = append(sums, <-finished)
	}
	<-timer.waits // the schedule waits again once the pass is recorded
	if sums[0].Trigger != reconcile.TriggerSchedule || sums[1].Trigger != reconcile.TriggerSchedule {
		t.Errorf("triggers %s, %s; want schedule", sums[0].Trigger, sums[1].Trigger)
	}
	if sums[0].Counts.Moved != 5 || sums[1].Counts.Moved != 0 {
		t.Errorf("moved %d then %d; want 5 then 0", sums[0].Counts.Moved, sums[1].Counts.Moved)
	}
	var runs int
	testworld.Must(t, env.DB.QueryRow("SELECT COUNT(*) FROM trash_runs WHERE run_trigger = 'schedule' AND status = 'ok'").Scan(&runs))
	if runs != 2 {
		t.Errorf("%d scheduled runs recorded, want 2", runs)
	}
	st := svc.Status()
	if st.Schedule != "*/15 * * * *" || st.Last == nil || st.Next.IsZero() || st.Next.Minute()%15 != 0 || !st.Next.After(time.Now()) {
		t.Errorf("status %+v: want the schedule, the next pass on a quarter hour to come, and the last pass", st)
	}
	if err := svc.Alive(); err != nil {
		t.Errorf("Alive = %v", err)
	}
	env.CheckInvariant(t)
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A trigger or a scheduled activation during a pass starts nothing (the
// trigger reports the running pass); a pass that stops making progress
// makes the service not alive.
func TestSchedulerTriggerDuringPass(t *testing.T) {
	t.Parallel()
	hold, copying, release := holdCopies()
	env := testworld.New(t, hold)
	env.AddFile(t, "slow.bin", []byte("slow"), true, 0)
	clock := &testClock{now: time.Now()}
	sched, _, err := service.ParseSchedule("@every 1h", time.Now())
	testworld.Must(t, err)
	const stall = 15 * time.Minute
	timer := newManualTimer()
	svc, err := service.NewScheduler(env.Runner(t, env.Config("svc"), reconcile.WithClock(clock.Now)), service.SchedulerConfig{
		// The supervisor ticks hourly here: Alive judges the pass by the
		// test's clock alone.
		Schedule: sched, Stall: stall, Tick: time.Hour, Now: clock.Now, Timer: timer.timer,
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
	<-timer.waits
	timer.fire <- time.Now() // the schedule's activation, during the manual pass
	<-timer.waits            // skipped: the schedule waits for the next one
	if st := svc.Status(); st.Running == nil || st.Running.ID != first.ID {
		t.Errorf("status %+v during the pass, want pass %d running", st, first.ID)
	}
	if err := svc.Alive(); err != nil {
		t.Errorf("Alive while the pass copies = %v", err)
	}
	clock.advance(stall + time.Second)
	if err := svc.Alive(); err == nil || !strings.Contains(err.Error(), "no progress") {
		t.Errorf("Alive after %s without progress = %v, want no progress", stall, err)
	}
	close(release)
	p, ok := svc.AwaitPass(t.Context(), first.ID)
	if !ok || p.Running {
		t.Fatalf("AwaitPass = %+v, %v; want the ended pass", p, ok)
	}
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

// A pass that cannot even start (here: the tables are newer than this
// binary, so the run is never recorded) reaches the hooks as a pass that
// ended in RunError, so that the metrics and their alert see it.
func TestSchedulerCountsAPassThatCannotStart(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	var started []reconcile.Trigger
	var finished []reconcile.Summary
	var errs []error
	sched, _, err := service.ParseSchedule("@every 1h", time.Now())
	testworld.Must(t, err)
	svc, err := service.NewScheduler(env.Runner(t, env.Config("svc")), service.SchedulerConfig{
		Schedule: sched,
		Hooks: service.PassHooks{
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

// holdCopies returns client options that hold every CopyObject of a move
// until release is closed; copying is closed when the first one arrives.
func holdCopies() (opt func(*s3ops.Options), copying <-chan struct{}, release chan struct{}) {
	release = make(chan struct{})
	arrived := make(chan struct{})
	var once sync.Once
	opt = func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
			// The probe's own copies pass: it runs before the moves.
			if req.Method == http.MethodPut && req.Header.Get("X-Amz-Copy-Source") != "" && !s3test.IsProbe(req) {
				once.Do(func() { close(arrived) })
				return s3test.Fault{Release: release}
			}
			return s3test.Fault{}
		}).Client()
	}
	return opt, arrived, release
}
