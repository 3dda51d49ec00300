package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Service runs passes on a cron schedule and on demand, never two at once in
// one process (other hosts are kept apart by the leases). It remembers the
// passes it ran, for the control API.
type Service struct {
	runner *Runner
	log    *slog.Logger
	spec   string
	cron   *cron.Cron
	now    func() time.Time
	stall  time.Duration
	tick   time.Duration
	hooks  PassHooks

	mu      sync.Mutex
	base    context.Context // passes run under it; Stop cancels it
	cancel  context.CancelFunc
	running *Handle
	passes  map[int64]*PassStatus // this process's passes, the newest kept
	order   []int64
	beat    time.Time // the supervisor loop's last tick
	loop    sync.WaitGroup
	stopped chan struct{}
}

// PassHooks are told when passes start and end (for metrics).
type PassHooks struct {
	Started  func(Trigger)
	Finished func(Summary, error)
}

// PassStatus is a pass as the Service knows it.
type PassStatus struct {
	ID       int64
	Trigger  Trigger
	Running  bool
	Progress Progress // while running, and the last snapshot once ended
	Summary  Summary  // once ended
	Err      string   // why the pass could not run, once ended
}

// ServiceStatus is the Service as the control API shows it.
type ServiceStatus struct {
	Schedule string
	Next     time.Time   // the next scheduled pass
	Running  *PassStatus // the pass running now, if any
	Last     *PassStatus // the last pass that ended, if any
}

// ServiceConfig tunes a Service.
type ServiceConfig struct {
	Schedule string        // standard 5-field cron, descriptors (@every 15m, @hourly) and CRON_TZ= prefixes
	Stall    time.Duration // a running pass with no activity for this long is stuck (watchdog); default 15m
	Tick     time.Duration // the supervisor loop's period; default 1s
	Hooks    PassHooks
}

// keepPasses is how many ended passes the Service remembers.
const keepPasses = 100

// ParseSchedule checks a cron schedule.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w (use 5 fields like \"*/15 * * * *\", or \"@every 15m\", \"@hourly\"; an optional CRON_TZ=Zone/Name prefix)", spec, err)
	}
	return s, nil
}

// NewService returns a Service over r. It starts nothing.
func NewService(r *Runner, cfg ServiceConfig, log *slog.Logger) (*Service, error) {
	sched, err := ParseSchedule(cfg.Schedule)
	if err != nil {
		return nil, err
	}
	s := &Service{
		runner: r, log: log, spec: cfg.Schedule, now: r.now,
		stall: cmp.Or(cfg.Stall, 15*time.Minute), tick: cmp.Or(cfg.Tick, time.Second),
		hooks: cfg.Hooks, passes: map[int64]*PassStatus{}, stopped: make(chan struct{}),
	}
	// A scheduled pass waits for itself to end, so a pass that outlives its
	// interval makes the next tick skip rather than overlap.
	s.cron = cron.New(cron.WithLogger(cronLogger{log}), cron.WithChain(cron.SkipIfStillRunning(cronLogger{log})))
	s.cron.Schedule(sched, cron.FuncJob(func() {
		h, started, err := s.Trigger(TriggerSchedule)
		switch {
		case err != nil:
			log.Error("scheduled pass could not start", "err", err)
		case !started:
			log.Info("scheduled pass skipped: a pass is already running", "run_id", h.ID)
		default:
			s.wait(h.ID)
		}
	}))
	return s, nil
}

// Start starts the schedule and the supervisor loop; with runNow, a pass
// starts at once. Passes run under ctx until Stop.
func (s *Service) Start(ctx context.Context, runNow bool) {
	s.mu.Lock()
	s.base, s.cancel = context.WithCancel(ctx)
	s.beat = s.now()
	s.mu.Unlock()
	s.loop.Go(s.supervise)
	s.cron.Start()
	if runNow {
		if _, _, err := s.Trigger(TriggerStartup); err != nil {
			s.log.Error("startup pass could not start", "err", err)
		}
	}
}

// Trigger starts a pass now, unless one is running: then it returns that
// one, with started false. A pass that cannot start (the database refuses
// the run record: down, read-only, a newer schema) is reported to the hooks
// as started and finished with RunError, so that metrics count it as the
// failed pass it is rather than as no pass at all.
func (s *Service) Trigger(trigger Trigger) (PassStatus, bool, error) {
	st, started, err := s.start(trigger)
	if err != nil && !errors.Is(err, errNotRunning) {
		if s.hooks.Started != nil {
			s.hooks.Started(trigger)
		}
		if s.hooks.Finished != nil {
			s.hooks.Finished(Summary{Trigger: trigger, Status: RunError}, err)
		}
	}
	return st, started, err
}

var errNotRunning = errors.New("the service is not running")

func (s *Service) start(trigger Trigger) (PassStatus, bool, error) {
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
	st := &PassStatus{ID: h.ID, Trigger: trigger, Running: true}
	if p, ok := s.runner.Current(); ok && p.RunID == h.ID {
		st.Progress = p
	}
	s.remember(st)
	go s.finish(h, st)
	return *st, true, nil
}

// finish waits for h and records how it ended.
func (s *Service) finish(h *Handle, st *PassStatus) {
	sum, err := h.Wait()
	if err != nil {
		// Handled here: the pass could not run (a bucket, the database).
		s.log.Error("pass could not run", "run_id", h.ID, "err", err)
	}
	if s.hooks.Finished != nil {
		s.hooks.Finished(sum, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Running, st.Summary = false, sum
	st.Progress.Counts, st.Progress.Phase = sum.Counts, PhaseDone
	if err != nil {
		st.Err = err.Error()
	}
	s.running = nil
}

func (s *Service) remember(st *PassStatus) {
	s.passes[st.ID] = st
	s.order = append(s.order, st.ID)
	if len(s.order) > keepPasses {
		delete(s.passes, s.order[0])
		s.order = s.order[1:]
	}
}

// wait blocks until pass id has ended.
func (s *Service) wait(id int64) {
	s.mu.Lock()
	h := s.running
	s.mu.Unlock()
	if h != nil && h.ID == id {
		<-h.Done()
	}
}

// Pass returns what the Service knows of pass id.
func (s *Service) Pass(id int64) (PassStatus, bool) {
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

// Status returns the schedule, the running pass and the last ended one.
func (s *Service) Status() ServiceStatus {
	st := ServiceStatus{Schedule: s.spec}
	if e := s.cron.Entries(); len(e) > 0 {
		st.Next = e[0].Next
	}
	running, last := int64(-1), int64(-1)
	s.mu.Lock()
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
// waits for it to end or for ctx.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.cancel == nil {
		s.mu.Unlock()
		return nil
	}
	s.cancel()
	h := s.running
	s.mu.Unlock()
	cronDone := s.cron.Stop()
	select {
	case <-s.stopped:
	default:
		close(s.stopped)
	}
	s.loop.Wait()
	if h != nil {
		select {
		case <-h.Done():
		case <-ctx.Done():
			return fmt.Errorf("the pass %d did not end in time: %w", h.ID, ctx.Err())
		}
	}
	select {
	case <-cronDone.Done():
	case <-ctx.Done():
	}
	return nil
}

// supervise ticks while the service runs; Alive reads its heartbeat. It takes
// the same lock as every request, so a deadlock stops the heartbeat too.
func (s *Service) supervise() {
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
func (s *Service) Alive() error {
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

// cronLogger sends cron's own messages to slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
