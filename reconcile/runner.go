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

// Store is everything the runner needs from the database.
type Store interface {
	Discoverer
	Claimer
	Recorder
	RunLog
}

// S3 is everything the runner needs from S3.
type S3 interface {
	ObjectStore
	BucketChecker
}

// Outcome is what became of one claimed object in a pass.
type Outcome string

const (
	OutcomeMoved       Outcome = "moved"
	OutcomeMissing     Outcome = "missing"
	OutcomeFailed      Outcome = "failed"
	OutcomeRetrying    Outcome = "retrying"
	OutcomeInterrupted Outcome = "interrupted"
)

// Event reports one object's outcome, for progress displays.
type Event struct {
	Record  Record
	Outcome Outcome
	Bytes   int64 // bytes moved, for OutcomeMoved
	Err     error // the reason, for every outcome but moved
}

// Summary is the result of one pass.
type Summary struct {
	RunID    int64
	Status   RunStatus
	Counts   Counts
	Started  time.Time
	Duration time.Duration
}

// Runner drives passes. Its fields are set once, before the first pass; one
// Runner may run passes one after another, and several Runners (in one
// process or on several hosts) may run against the same database at once.
type Runner struct {
	store  Store
	s3     S3
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	events func(Event)
}

// Option adjusts a Runner.
type Option func(*Runner)

// WithEvents has fn called once per object outcome, from the worker goroutines.
func WithEvents(fn func(Event)) Option { return func(r *Runner) { r.events = fn } }

// WithClock replaces time.Now, which is used only to report durations.
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// NewRunner checks cfg and returns a Runner.
func NewRunner(store Store, s3 S3, cfg Config, log *slog.Logger, opts ...Option) (*Runner, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{store: store, s3: s3, cfg: cfg, log: log, now: time.Now, events: func(Event) {}}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Run does one pass: check the buckets, discover new trashed rows, and move
// every record that is due. The error is for a pass that could not run (a
// bucket, the database); objects that failed are counted in the Summary.
func (r *Runner) Run(ctx context.Context, trigger Trigger) (Summary, error) {
	sum := Summary{Started: r.now(), Status: RunRunning}
	id, err := r.store.StartRun(ctx, trigger, r.cfg.Host)
	if err != nil {
		return sum, fmt.Errorf("record the start of a run: %w", err)
	}
	sum.RunID = id
	log := r.log.With("run_id", id)
	log.Info("pass started", "trigger", trigger, "owner", r.cfg.Owner)

	runErr := r.pass(ctx, log, &sum.Counts)
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

	// The run is recorded even when the pass was cancelled by shutdown.
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

func (r *Runner) pass(ctx context.Context, log *slog.Logger, c *Counts) error {
	if err := r.checkBuckets(ctx); err != nil {
		return err
	}
	n, err := r.discover(ctx)
	c.Discovered = n
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("discovered trashed rows", "count", n)
	}
	return r.moveAll(ctx, log, c)
}

// checkBuckets fails the pass before any record is touched when a bucket is
// missing or the credentials cannot reach it: a configuration problem must not
// turn into thousands of failed objects.
func (r *Runner) checkBuckets(ctx context.Context) error {
	buckets := []string{r.cfg.TrashBucket}
	if r.cfg.SourceBucket != "" {
		buckets = append(buckets, r.cfg.SourceBucket)
	}
	var errs []error
	for _, b := range buckets {
		if err := r.s3.CheckBucket(ctx, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// discover records every trashed LMS row that has no record yet, walking the
// LMS table in id order, a batch at a time.
func (r *Runner) discover(ctx context.Context) (int, error) {
	var after int64
	total := 0
	for {
		rows, err := r.store.ScanTrashed(ctx, after, r.cfg.BatchSize)
		if err != nil {
			return total, fmt.Errorf("scan the LMS table for trashed rows after id %d: %w", after, err)
		}
		if len(rows) == 0 {
			return total, nil
		}
		n, err := r.store.RecordTrashed(ctx, rows)
		if err != nil {
			return total, fmt.Errorf("record %d trashed rows: %w", len(rows), err)
		}
		total += n
		after = rows[len(rows)-1].LMSID
		if len(rows) < r.cfg.BatchSize {
			return total, nil
		}
	}
}

// moveAll claims due records a worker-pool's worth at a time, so that a
// claimed record waits at most for one object ahead of it and its lease stays
// fresh. The pass ends when nothing is due and nothing is in flight: an
// object retried early in the pass comes back if its backoff ends first.
func (r *Runner) moveAll(ctx context.Context, log *slog.Logger, c *Counts) error {
	work := make(chan Record)
	finished := make(chan struct{}, r.cfg.Concurrency)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		inFlight atomic.Int64
		// An object retried and then claimed again in the same pass is
		// counted once, by its last outcome.
		retrying = map[int64]bool{}
	)
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for rec := range work {
				ev := r.moveObject(ctx, log, rec)
				mu.Lock()
				if retrying[rec.ID] {
					c.Retrying--
					delete(retrying, rec.ID)
				}
				if ev.Outcome == OutcomeRetrying {
					retrying[rec.ID] = true
				}
				c.add(ev)
				mu.Unlock()
				r.events(ev)
				inFlight.Add(-1)
				select {
				case finished <- struct{}{}:
				default:
				}
			}
		})
	}
	var claimErr error
	for ctx.Err() == nil {
		recs, err := r.store.ClaimBatch(ctx, r.cfg.Owner, r.cfg.Concurrency, r.cfg.Lease)
		if err != nil {
			if ctx.Err() == nil {
				claimErr = fmt.Errorf("claim records: %w", err)
			}
			break
		}
		if len(recs) == 0 {
			if inFlight.Load() == 0 {
				break
			}
			select {
			case <-finished:
			case <-ctx.Done():
			}
			continue
		}
		inFlight.Add(int64(len(recs)))
		if sent := dispatch(ctx, work, recs); sent < len(recs) {
			r.releaseAll(log, recs[sent:])
			inFlight.Add(-int64(len(recs) - sent))
			mu.Lock()
			c.Interrupted += len(recs) - sent
			mu.Unlock()
		}
	}
	close(work)
	wg.Wait()
	return claimErr
}

// dispatch hands recs to the workers until ctx is done and returns how many
// it handed over.
func dispatch(ctx context.Context, work chan<- Record, recs []Record) int {
	for i, rec := range recs {
		select {
		case work <- rec:
		case <-ctx.Done():
			return i
		}
	}
	return len(recs)
}

// releaseAll gives back leases of records that were claimed but never
// started, so another host can take them at once.
func (r *Runner) releaseAll(log *slog.Logger, recs []Record) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, rec := range recs {
		if err := r.store.Record(ctx, rec, Step{To: rec.State, Error: rec.LastError, Release: true}); err != nil {
			log.Warn("release lease", "object_id", rec.ID, "err", err)
		}
	}
}

func (c *Counts) add(ev Event) {
	switch ev.Outcome {
	case OutcomeMoved:
		c.Moved++
		c.Bytes += ev.Bytes
	case OutcomeMissing:
		c.Missing++
	case OutcomeFailed:
		c.Failed++
	case OutcomeRetrying:
		c.Retrying++
	case OutcomeInterrupted:
		c.Interrupted++
	}
}
