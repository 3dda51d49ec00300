package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is what became of one claimed object in a pass.
type Outcome string

const (
	OutcomeMoved       Outcome = "moved"
	OutcomeMissing     Outcome = "missing"
	OutcomeFailed      Outcome = "failed"
	OutcomeRetrying    Outcome = "retrying"
	OutcomeInterrupted Outcome = "interrupted"
)

// Event reports one object's outcome, for progress displays and metrics.
type Event struct {
	Record  Record
	Outcome Outcome
	Bytes   int64 // bytes moved, for OutcomeMoved
	Err     error // the reason, for every outcome but moved
}

// Summary is the result of one pass.
type Summary struct {
	RunID    int64
	Trigger  Trigger
	Status   RunStatus
	Counts   Counts
	Started  time.Time
	Duration time.Duration
}

// Runner drives passes, one at a time. Several Runners, in one process or on
// several hosts, may run passes against the same database at once: leases
// keep them apart.
type Runner struct {
	store     Store
	s3        S3
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	leases    LeaseClock // for the age of fences: counts through a suspend
	events    func(Event)
	current   atomic.Pointer[tracker]        // the running pass, if any
	lifecycle atomic.Pointer[LifecycleState] // the last lifecycle check
	foreign   foreignRules                   // other rules that delete trash copies, as last read
	// conds: what each bucket honours, probed when first needed.
	conds        conditions
	onConditions func(Capabilities)
	inventory    *InventoryUse // nil: transitions are confirmed with HEAD alone
}

// Option adjusts a Runner.
type Option func(*Runner)

// WithEvents has fn called once per object outcome, from the worker goroutines.
func WithEvents(fn func(Event)) Option { return func(r *Runner) { r.events = fn } }

// WithClock replaces time.Now, which is used only to report durations.
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// WithElapsed replaces BootClock, the clock that fences are timed on; the
// lease timers stay those of package time.
func WithElapsed(e Elapsed) Option { return func(r *Runner) { r.leases = realTimers{e} } }

// WithLeaseClock replaces the clock that leases are timed on, timers
// included.
func WithLeaseClock(c LeaseClock) Option { return func(r *Runner) { r.leases = c } }

// NewRunner checks cfg and returns a Runner.
func NewRunner(store Store, s3 S3, cfg Config, log *slog.Logger, opts ...Option) (*Runner, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{store: store, s3: s3, cfg: cfg, log: log, now: time.Now, leases: realTimers{BootClock}, events: func(Event) {}, onConditions: func(Capabilities) {}}
	r.conds.r = r
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Current returns the progress of the pass running now, if any.
func (r *Runner) Current() (Progress, bool) {
	t := r.current.Load()
	if t == nil {
		return Progress{}, false
	}
	return t.snapshot(), true
}

// Run does one pass and waits for it: Start, then Wait.
func (r *Runner) Run(ctx context.Context, trigger Trigger) (Summary, error) {
	h, err := r.Start(ctx, trigger)
	if err != nil {
		return Summary{Trigger: trigger, Status: RunError}, err
	}
	return h.Wait()
}

// Handle is a pass started by Start.
type Handle struct {
	ID   int64 // the run's id in trash_runs
	done chan struct{}
	sum  Summary
	err  error
}

// Done is closed when the pass has ended.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Wait waits for the pass to end and returns its summary; the error is for a
// pass that could not run (a bucket, the database), while objects that failed
// are counted in the Summary.
func (h *Handle) Wait() (Summary, error) {
	<-h.done
	return h.sum, h.err
}

// Start records a new run and does the pass in the background: check the
// buckets, discover new trashed rows, and move every record that is due. A
// Runner does one pass at a time; Start while another runs is an error.
//
// Cancelling ctx asks the pass to stop: it claims nothing more, lets each
// object in flight finish its current step (for at most Config.Grace),
// releases the leases it holds so that another host can take them at once,
// and records the run as interrupted.
func (r *Runner) Start(ctx context.Context, trigger Trigger) (*Handle, error) {
	t := newTracker(r.now, trigger)
	if !r.current.CompareAndSwap(nil, t) {
		return nil, errors.New("a pass is already running")
	}
	id, err := r.store.StartRun(ctx, trigger, r.cfg.Host)
	if err != nil {
		r.current.Store(nil)
		return nil, fmt.Errorf("record the start of a run: %w", err)
	}
	t.update(func(p *Progress) { p.RunID = id })
	h := &Handle{ID: id, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		defer r.current.Store(nil)
		h.sum, h.err = r.pass(ctx, id, t)
	}()
	return h, nil
}

// RunRestores does a pass that only brings back the objects whose restore
// was requested (`trashd restore`), and waits for it.
func (r *Runner) RunRestores(ctx context.Context) (Summary, error) {
	t := newTracker(r.now, TriggerManual)
	if !r.current.CompareAndSwap(nil, t) {
		return Summary{}, errors.New("a pass is already running")
	}
	defer r.current.Store(nil)
	id, err := r.store.StartRun(ctx, TriggerManual, r.cfg.Host)
	if err != nil {
		return Summary{}, fmt.Errorf("record the start of a run: %w", err)
	}
	t.restoresOnly = true
	return r.pass(ctx, id, t)
}

func (r *Runner) pass(ctx context.Context, id int64, t *tracker) (Summary, error) {
	sum := Summary{RunID: id, Trigger: t.p.Trigger, Started: t.p.Started, Status: RunRunning}

	// Steps in flight run on their own context: a stop request lets them
	// finish, and only the grace period running out cancels them.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopWatch := context.AfterFunc(ctx, func() {
		t.setPhase(PhaseStopping)
		time.AfterFunc(r.cfg.Grace, cancelWork)
	})
	defer stopWatch()

	log := r.log.With("run_id", id)
	log.Info("pass started", "trigger", sum.Trigger, "owner", r.cfg.Owner)
	defer r.beat(work, id, log)()
	r.abandonLapsedRuns(work, log)
	p := &pass{r: r, log: log, stop: ctx, work: work, progress: t, outage: newOutage(r.cfg.Concurrency, r.cfg.Mass.Allow)}
	runErr := p.run()

	t.setPhase(PhaseDone)
	sum.Counts = t.snapshot().Counts
	sum.Duration = r.now().Sub(sum.Started)
	switch {
	case ctx.Err() != nil:
		sum.Status = RunInterrupted
	case runErr != nil:
		sum.Status = RunError
	case sum.Counts.Failed > 0:
		sum.Status = RunFailed
	default:
		sum.Status = RunOK
	}
	// The run is recorded even when the grace period ran out.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.store.FinishRun(fctx, id, sum.Counts, sum.Status, runErr); err != nil {
		log.Error("record the end of a run", "err", err)
	}
	c := sum.Counts
	log.Info("pass finished", "status", sum.Status, "duration_s", sum.Duration.Seconds(),
		"discovered", c.Discovered, "moved", c.Moved, "missing", c.Missing, "failed", c.Failed,
		"retrying", c.Retrying, "interrupted", c.Interrupted, "bytes", c.Bytes)
	return sum, runErr
}

// beat stamps run id's heartbeat every RunHeartbeat until the returned
// function is called (the pass has ended), so that a run whose process dies
// is told from one still going.
func (r *Runner) beat(ctx context.Context, id int64, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(RunHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.store.HeartbeatRun(ctx, id); err != nil && ctx.Err() == nil {
					log.Warn("run heartbeat", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// abandonLapsedRuns records abandoned the runs of passes whose process
// stopped without recording their end; their objects' leases have lapsed
// and this pass resumes them.
func (r *Runner) abandonLapsedRuns(ctx context.Context, log *slog.Logger) {
	runs, err := r.store.AbandonRuns(ctx, RunLapse)
	if err != nil {
		log.Warn("look for abandoned runs", "err", err)
	}
	for _, a := range runs {
		log.Warn("a run stopped without recording its end (the process was killed or its host lost): recorded abandoned",
			"abandoned_run_id", a.ID, "host", a.Host, "started", a.Started, "last_heartbeat", a.Beat)
	}
}

// pass is one Run in progress.
type pass struct {
	r        *Runner
	log      *slog.Logger
	stop     context.Context // done when the pass is asked to stop
	work     context.Context // for steps in flight: done when the grace runs out
	progress *tracker
	outage   *outage
	// The restores and orphanings this pass weighed, to be marked.
	restores, orphans []int64
	// probes is the probes the pass started ahead (prefetch): it ends
	// after them, so that none writes to a bucket once the pass is over.
	probes sync.WaitGroup
}

// stopping reports whether the pass has been asked to stop.
func (p *pass) stopping() bool { return p.stop.Err() != nil }

func (p *pass) run() error {
	defer p.probes.Wait()
	if err := p.r.CheckBuckets(p.stop); err != nil {
		return err
	}
	if p.progress.restoresOnly {
		p.progress.setPhase(PhaseRestoring)
		return p.restoreAll()
	}
	lifecycleErr := p.keepLifecycle()
	p.progress.setPhase(PhaseDiscovering)
	// Every change the brake weighs is weighed before any is recorded.
	if err := p.weighRestoresAndOrphans(); err != nil {
		if p.stopping() {
			return nil
		}
		return err
	}
	n, unmovable, err := p.r.discover(p.stop, p.progress.touch, p.r.cfg.Mass)
	p.progress.update(func(pr *Progress) { pr.Counts.Discovered, pr.Counts.Failed = n, pr.Counts.Failed+unmovable })
	if err != nil {
		if p.stopping() {
			return nil
		}
		return err
	}
	if n > 0 {
		p.log.Info("discovered trashed rows", "count", n)
	}
	if due, _, err := p.r.store.Pending(p.stop); err == nil {
		p.progress.update(func(pr *Progress) { pr.Total = due + unmovable })
		if due > 0 {
			// Work to do: the buckets' probes, each some twenty requests
			// in series, run side by side, before the first move waits
			// for them.
			p.r.conds.prefetch(&p.probes, p.r.cfg.TrashBucket, p.r.cfg.SourceBucket)
		}
	}
	// Files the LMS wants back first: someone is waiting for them.
	p.progress.setPhase(PhaseRestoring)
	if err := p.restoreAll(); err != nil && !p.stopping() {
		if errors.Is(err, ErrMassChange) || errors.Is(err, ErrOutage) {
			return err
		}
		return fmt.Errorf("restore: %w", err)
	}
	if lifecycleErr != nil {
		// Another rule deletes trash copies: nothing moves into the
		// bucket, and the checks still record the copies it removed.
		p.progress.setPhase(PhaseArchiving)
		p.confirmTransitions()
		return lifecycleErr
	}
	p.progress.setPhase(PhaseMoving)
	if err := p.moveAll(); err != nil {
		return err
	}
	p.progress.setPhase(PhaseArchiving)
	p.confirmTransitions()
	return nil
}

// CheckBuckets fails the pass before any record is touched when a bucket is
// missing or the credentials cannot reach it: a configuration problem must not
// turn into thousands of failed objects.
func (r *Runner) CheckBuckets(ctx context.Context) error {
	type bucket struct{ name, role string }
	buckets := []bucket{{r.cfg.TrashBucket, "the trash bucket (TRASHD_TRASH_BUCKET)"}}
	if r.cfg.SourceBucket != "" {
		buckets = append(buckets, bucket{r.cfg.SourceBucket, "the source bucket (TRASHD_SOURCE_BUCKET)"})
	}
	var errs []error
	for _, b := range buckets {
		if err := r.s3.CheckBucket(ctx, b.name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.role, err))
		}
	}
	return errors.Join(errs...)
}
