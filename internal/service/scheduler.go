package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"trashd/reconcile"
)

// Scheduler runs passes on a schedule and on demand, never two at once in
// one process (other hosts are kept apart by the leases). It remembers the
// passes it ran, for the control API.
type Scheduler struct {
	runner *reconcile.Runner
	log    *slog.Logger
	sched  Schedule
	timer  func(time.Duration) (<-chan time.Time, func() bool)
	now    func() time.Time
	stall  time.Duration
	tick   time.Duration
	hooks  PassHooks

	mu      sync.Mutex
	base    context.Context // passes run under it; Stop cancels it
	cancel  context.CancelFunc
	running *reconcile.Handle
	ended   chan struct{}         // closed once the running pass is recorded as ended
	passes  map[int64]*PassStatus // this process's passes, the newest kept
	order   []int64
	beat    time.Time // the supervisor loop's last tick
	next    time.Time // the next scheduled pass
	loop    sync.WaitGroup
	stopped chan struct{}
}

// PassHooks are told when passes start and end (for metrics).
type PassHooks struct {
	Started  func(reconcile.Trigger)
	Finished func(reconcile.Summary, error)
}

// PassStatus is a pass as the Service knows it.
type PassStatus struct {
	ID       int64
	Trigger  reconcile.Trigger
	Running  bool
	Progress reconcile.Progress // while running, and the last snapshot once ended
	Summary  reconcile.Summary  // once ended
	Err      string             // why the pass could not run, once ended

	ended chan struct{} // closed when the pass has ended and this status says how
}

// SchedulerStatus is the Scheduler as the control API shows it.
type SchedulerStatus struct {
	Schedule string
	Next     time.Time   // the next scheduled pass
	Running  *PassStatus // the pass running now, if any
	Last     *PassStatus // the last pass that ended, if any
}

// SchedulerConfig tunes a Scheduler.
type SchedulerConfig struct {
	Schedule Schedule      // from ParseSchedule
	Stall    time.Duration // a running pass with no activity for this long is stuck (watchdog); default 15m
	Tick     time.Duration // the supervisor loop's period; default 1s
	Hooks    PassHooks
	// Timer waits for the next scheduled pass; default time.NewTimer. A
	// test of a whole service fires the schedule through it when it
	// chooses, rather than waiting for the clock.
	Timer func(d time.Duration) (c <-chan time.Time, stop func() bool)
	// Now is the clock Alive judges progress by; default time.Now. Give
	// the runner the same one (reconcile.WithClock).
	Now func() time.Time
}

// keepPasses is how many ended passes the Scheduler remembers.
const keepPasses = 100

// NewScheduler returns a Scheduler over r. It starts nothing.
func NewScheduler(r *reconcile.Runner, cfg SchedulerConfig, log *slog.Logger) (*Scheduler, error) {
	if cfg.Schedule.sched == nil {
		return nil, errors.New("scheduler: no schedule (use ParseSchedule)")
	}
	timer := cfg.Timer
	if timer == nil {
		timer = func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Scheduler{
		runner: r, log: log, sched: cfg.Schedule, timer: timer, now: now,
		stall: cmp.Or(cfg.Stall, 15*time.Minute), tick: cmp.Or(cfg.Tick, time.Second),
		hooks: cfg.Hooks, passes: map[int64]*PassStatus{}, stopped: make(chan struct{}),
	}, nil
}

// Start starts the schedule and the supervisor loop; with runNow, a pass
// starts at once. Passes run under ctx until Stop.
func (s *Scheduler) Start(ctx context.Context, runNow bool) {
	s.mu.Lock()
	s.base, s.cancel = context.WithCancel(ctx)
	s.beat = s.now()
	s.mu.Unlock()
	s.loop.Go(s.supervise)
	if runNow {
		if _, _, err := s.Trigger(reconcile.TriggerStartup); err != nil {
			s.log.Error("startup pass could not start", "err", err)
		}
	}
	s.loop.Go(s.schedule)
}

// schedule starts a pass at each activation of the schedule until Stop. It
// waits for a pass it started to end, so that a pass that outlives its
// interval makes the activations it spans skip rather than overlap; an
// activation that finds a pass running (a manual one) skips too.
func (s *Scheduler) schedule() {
	setNext := func(next time.Time) {
		s.mu.Lock()
		s.next = next
		s.mu.Unlock()
	}
	runSchedule(s.stopped, s.sched, s.timer, s.log, setNext, func() bool {
		h, started, err := s.Trigger(reconcile.TriggerSchedule)
		switch {
		case errors.Is(err, errNotRunning):
			return false
		case err != nil:
			s.log.Error("scheduled pass could not start", "err", err)
		case !started:
			s.log.Info("scheduled pass skipped: a pass is already running", "run_id", h.ID)
		default:
			s.wait(h.ID)
		}
		return true
	})
}

// runSchedule calls pass at each activation of sched until stopped is
// closed or pass returns false, and tells setNext (and the log) when the
// next one is. The activations that pass out-lasts are skipped: the next
// is reckoned from the time pass returns.
func runSchedule(stopped <-chan struct{}, sched Schedule, timer func(time.Duration) (<-chan time.Time, func() bool),
	log *slog.Logger, setNext func(time.Time), pass func() bool) {
	for {
		now := time.Now()
		next := sched.Next(now)
		setNext(next)
		if next.IsZero() {
			// ParseSchedule refuses a schedule without an activation
			// within years; one that runs out after that says so.
			log.Error("the schedule has no further activation: no scheduled pass will run", "schedule", sched.Spec)
			return
		}
		log.Info("next pass at "+next.Format(time.RFC3339), "next_pass", next, "schedule", sched.Spec)
		fire, stop := timer(next.Sub(now))
		select {
		case <-stopped:
			stop()
			return
		case <-fire:
		}
		if !pass() {
			return
		}
	}
}

// Trigger starts a pass now, unless one is running: then it returns that
// one, with started false. A pass that cannot start (the database refuses
// the run record: down, read-only, a newer schema) is reported to the hooks
// as started and finished with RunError, so that metrics count it as the
// failed pass it is rather than as no pass at all.
func (s *Scheduler) Trigger(trigger reconcile.Trigger) (PassStatus, bool, error) {
	st, started, err := s.start(trigger)
	if err != nil && !errors.Is(err, errNotRunning) {
		if s.hooks.Started != nil {
			s.hooks.Started(trigger)
		}
		if s.hooks.Finished != nil {
			s.hooks.Finished(reconcile.Summary{Trigger: trigger, Status: reconcile.RunError}, err)
		}
	}
	return st, started, err
}

var errNotRunning = errors.New("the service is not running")

func (s *Scheduler) start(trigger reconcile.Trigger) (PassStatus, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base == nil || s.base.Err() != nil {
		return PassStatus{}, false, errNotRunning
	}
	if s.running != nil {
		// With its progress, which carries its start: the stored status
		// has only what was known when it started.
		out := *s.passes[s.running.ID]
		if p, ok := s.runner.Current(); ok && p.RunID == out.ID {
			out.Progress = p
		}
		return out, false, nil
	}
	h, err := s.runner.Start(s.base, trigger)
	if err != nil {
		return PassStatus{}, false, err
	}
	if s.hooks.Started != nil {
		s.hooks.Started(trigger)
	}
	s.running = h
	st := &PassStatus{ID: h.ID, Trigger: trigger, Running: true, ended: make(chan struct{})}
	if p, ok := s.runner.Current(); ok && p.RunID == h.ID {
		st.Progress = p
	}
	s.ended = st.ended
	s.remember(st)
	go s.finish(h, st)
	return *st, true, nil
}

// finish waits for h and records how it ended.
func (s *Scheduler) finish(h *reconcile.Handle, st *PassStatus) {
	sum, err := h.Wait()
	if err != nil {
		// Handled here: the pass could not run (a bucket, the database).
		s.log.Error("pass could not run", "run_id", h.ID, "err", err)
	}
	if s.hooks.Finished != nil {
		s.hooks.Finished(sum, err)
	}
	s.mu.Lock()
	st.Running, st.Summary = false, sum
	st.Progress.Counts, st.Progress.Phase = sum.Counts, reconcile.PhaseDone
	if err != nil {
		st.Err = err.Error()
	}
	s.running, s.ended = nil, nil
	next, stopping := s.next, s.base.Err() != nil
	close(st.ended)
	s.mu.Unlock()
	if !stopping && !next.IsZero() {
		s.log.Info("pass ended; next pass at "+next.Format(time.RFC3339), "run_id", h.ID, "status", sum.Status, "next_pass", next)
	}
}

func (s *Scheduler) remember(st *PassStatus) {
	s.passes[st.ID] = st
	s.order = append(s.order, st.ID)
	if len(s.order) > keepPasses {
		delete(s.passes, s.order[0])
		s.order = s.order[1:]
	}
}

// wait blocks until pass id has ended and is recorded so.
func (s *Scheduler) wait(id int64) {
	s.mu.Lock()
	st, ok := s.passes[id]
	s.mu.Unlock()
	if ok {
		<-st.ended
	}
}

// Pass returns what the Scheduler knows of pass id.
func (s *Scheduler) Pass(id int64) (PassStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.passes[id]
	if !ok {
		return PassStatus{}, false
	}
	out := *st
	if out.Running {
		if p, ok := s.runner.Current(); ok {
			out.Progress = p
		}
	}
	return out, true
}

// AwaitPass returns pass id once it has ended, or as it is when ctx is
// done first: a client following a pass hears of its end, even when the
// service is stopping, rather than finding the socket closed.
func (s *Scheduler) AwaitPass(ctx context.Context, id int64) (PassStatus, bool) {
	s.mu.Lock()
	st, ok := s.passes[id]
	s.mu.Unlock()
	if !ok {
		return PassStatus{}, false
	}
	select {
	case <-st.ended:
	case <-ctx.Done():
	}
	return s.Pass(id)
}

// Status returns the schedule, the next scheduled pass, the running pass
// and the last ended one.
func (s *Scheduler) Status() SchedulerStatus {
	st := SchedulerStatus{Schedule: s.sched.Spec}
	running, last := int64(-1), int64(-1)
	s.mu.Lock()
	st.Next = s.next
	if s.running != nil {
		running = s.running.ID
	}
	for i := len(s.order) - 1; i >= 0; i-- {
		if !s.passes[s.order[i]].Running {
			last = s.order[i]
			break
		}
	}
	s.mu.Unlock()
	if p, ok := s.Pass(running); ok {
		st.Running = &p
	}
	if p, ok := s.Pass(last); ok {
		st.Last = &p
	}
	return st
}

// Stop stops the schedule, asks a running pass to stop (it finishes the steps
// in flight within the runner's grace period and releases its leases), and
// waits for it to end and be recorded, or for ctx.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.cancel == nil {
		s.mu.Unlock()
		return nil
	}
	s.cancel()
	h, ended := s.running, s.ended
	s.mu.Unlock()
	select {
	case <-s.stopped:
	default:
		close(s.stopped)
	}
	if h != nil {
		select {
		case <-ended:
		case <-ctx.Done():
			return fmt.Errorf("the pass %d did not end in time: %w", h.ID, ctx.Err())
		}
	}
	s.loop.Wait()
	return nil
}

// supervise ticks while the service runs; Alive reads its heartbeat. It takes
// the same lock as every request, so a deadlock stops the heartbeat too.
func (s *Scheduler) supervise() {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		select {
		case <-s.stopped:
			return
		case <-t.C:
			s.mu.Lock()
			s.beat = s.now()
			s.mu.Unlock()
		}
	}
}

// Alive reports whether the service is making progress: its loop ticks, and
// a running pass has done something (a claim, a lease renewal, an object
// finished) within the stall limit. The systemd watchdog is fed only while
// Alive returns nil, so a stuck service gets restarted.
func (s *Scheduler) Alive() error {
	s.mu.Lock()
	beat := s.beat
	s.mu.Unlock()
	now := s.now()
	if beat.IsZero() {
		return errors.New("the service has not started")
	}
	if age := now.Sub(beat); age > 5*s.tick {
		return fmt.Errorf("the service loop last ticked %s ago", age.Round(time.Millisecond))
	}
	if p, ok := s.runner.Current(); ok {
		if idle := now.Sub(p.LastActivity); idle > s.stall {
			return fmt.Errorf("pass %d has made no progress for %s (phase %s)", p.RunID, idle.Round(time.Second), p.Phase)
		}
	}
	return nil
}
