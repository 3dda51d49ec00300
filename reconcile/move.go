package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// moveObject takes one claimed record as far as it can go in this pass and
// records where it ended. It never deletes a source without a verified copy.
func (p *pass) moveObject(rec Record) Event {
	ctx := p.work
	log := p.log.With("object_id", rec.ID, "bucket", rec.Source.Bucket, "key", rec.Source.Key)
	if rec.Source.Key == "" {
		return p.settle(ctx, log, rec, fmt.Errorf("%w: LMS row %d has an empty object key", ErrPermanent, rec.LMSID))
	}
	if rec.Attempts > p.cfg.MaxAttempts {
		return p.settle(ctx, log, rec, fmt.Errorf("%w: gave up after %d attempts; last error: %s", ErrPermanent, rec.Attempts-1, rec.LastError))
	}

	octx, done := p.leased(ctx, rec)
	defer done()

	var (
		ev  Event
		err error
	)
	for try := 0; ; try++ {
		ev, err = p.tryMove(octx, log, &rec)
		if errors.Is(err, errSourceChanged) && try < p.cfg.SourceRetries && !p.stopping() {
			// The source changed (or went) between HEAD and copy or
			// delete: start again from HEAD, which sees what is there now.
			log.Info("source changed during the move; starting again", "err", err)
			continue
		}
		break
	}
	if err != nil {
		if cause := context.Cause(octx); errors.Is(cause, ErrLeaseLost) {
			err = cause
		}
		return p.settle(ctx, log, rec, err)
	}
	return ev
}

// leased returns a context for work on rec that is cancelled the moment
// rec's lease is lost. The lease must outlive a long multipart copy: it is
// renewed in the background every third of its duration, and given up for
// lost when no renewal has succeeded for two thirds of it (a database out of
// reach), before another host could claim the record.
func (p *pass) leased(ctx context.Context, rec Record) (context.Context, func()) {
	octx, cancel := context.WithCancelCause(ctx)
	go p.keepLease(octx, cancel, rec)
	return octx, func() { cancel(nil) }
}

// keepLease renews rec's lease every third of its duration until ctx ends.
func (p *pass) keepLease(ctx context.Context, cancel context.CancelCauseFunc, rec Record) {
	t := time.NewTicker(p.cfg.Lease / 3)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := p.store.RenewLease(ctx, rec, p.cfg.Lease)
			switch {
			case errors.Is(err, ErrLeaseLost):
				cancel(err)
				return
			case err == nil:
				renewed = time.Now()
				p.progress.touch()
			case time.Since(renewed) > p.cfg.Lease*2/3:
				cancel(fmt.Errorf("%w: not renewed for %s: %w", ErrLeaseLost, time.Since(renewed).Round(time.Second), err))
				return
			}
		}
	}
}

var (
	// errSourceChanged marks an attempt that lost a race with a writer of
	// the source; the next attempt starts again from HEAD.
	errSourceChanged = errors.New("the source changed during the move")
	// errStopped marks work left off because the pass was asked to stop.
	errStopped = errors.New("the pass was asked to stop")
)

// tryMove is one attempt: HEAD, copy, verify, delete, each step recorded.
func (p *pass) tryMove(ctx context.Context, log *slog.Logger, rec *Record) (Event, error) {
	src, err := p.s3.Head(ctx, rec.Source.Bucket, rec.Source.Key)
	if errors.Is(err, ErrNotFound) {
		return p.sourceGone(ctx, log, rec)
	}
	if err != nil {
		return Event{}, err
	}
	trashKey := p.cfg.TrashKeys.Render(rec.LMSID, rec.Source.Bucket, rec.Source.Key)

	// A record left in copied by a crash may already have its verified copy:
	// then only the delete is left to do.
	copied := false
	if rec.State == StateCopied && sameVersion(src, rec.Source) && rec.TrashKey == trashKey {
		dst, err := p.s3.Head(ctx, p.cfg.TrashBucket, trashKey)
		copied = err == nil && verifyCopy(src, dst) == nil
	}
	if !copied {
		if err := p.store.Record(ctx, *rec, Step{To: StatePending, Source: &src, TrashKey: trashKey}); err != nil {
			return Event{}, err
		}
		rec.State, rec.Source, rec.TrashKey = StatePending, src, trashKey
		if p.stopping() {
			return Event{}, errStopped
		}
		if err := p.s3.Copy(ctx, src, p.cfg.TrashBucket, trashKey, p.copyOptions()); err != nil {
			if errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrNotFound) {
				err = fmt.Errorf("%w: %w", errSourceChanged, err)
			}
			return Event{}, fmt.Errorf("copy to s3://%s/%s: %w", p.cfg.TrashBucket, trashKey, err)
		}
		dst, err := p.s3.Head(ctx, p.cfg.TrashBucket, trashKey)
		if err != nil {
			return Event{}, fmt.Errorf("read back the copy: %w", err)
		}
		if err := verifyCopy(src, dst); err != nil {
			return Event{}, err
		}
		// Fenced, and it renews the lease: the delete follows at once.
		if err := p.store.Record(ctx, *rec, Step{To: StateCopied, Copy: &dst, Renew: p.cfg.Lease}); err != nil {
			return Event{}, err
		}
		rec.State = StateCopied
	}

	if p.stopping() {
		return Event{}, errStopped
	}
	if copied {
		// A fenced write right before the delete: a worker whose lease
		// lapsed (another host may hold the record now) deletes nothing.
		if err := p.store.RenewLease(ctx, *rec, p.cfg.Lease); err != nil {
			return Event{}, err
		}
	}
	// Verified and recorded: only now may the source go.
	switch err := p.s3.Delete(ctx, src); {
	case errors.Is(err, ErrNotFound):
		log.Info("source already deleted")
	case errors.Is(err, ErrPreconditionFailed):
		return Event{}, fmt.Errorf("delete the source: %w: %w", errSourceChanged, err)
	case err != nil:
		return Event{}, fmt.Errorf("delete the source: %w", err)
	}
	if err := p.store.Record(ctx, *rec, Step{To: StateInTrash, Release: true}); err != nil {
		return Event{}, err
	}
	log.Debug("moved", "state", StateInTrash, "size", src.Size)
	return Event{Record: *rec, Outcome: OutcomeMoved, Bytes: src.Size}, nil
}

// sourceGone settles a record whose source no longer exists: done if a
// verified copy of the recorded source is in the trash bucket, else missing.
func (p *pass) sourceGone(ctx context.Context, log *slog.Logger, rec *Record) (Event, error) {
	where := fmt.Sprintf("s3://%s/%s", rec.Source.Bucket, rec.Source.Key)
	if rec.Source.ETag == "" || rec.TrashKey == "" {
		return p.recordMissing(ctx, log, rec, fmt.Sprintf("source %s does not exist, and trashd never copied it", where))
	}
	dst, err := p.s3.Head(ctx, p.cfg.TrashBucket, rec.TrashKey)
	if errors.Is(err, ErrNotFound) {
		return p.recordMissing(ctx, log, rec, fmt.Sprintf("source %s is gone and there is no copy at s3://%s/%s", where, p.cfg.TrashBucket, rec.TrashKey))
	}
	if err != nil {
		return Event{}, fmt.Errorf("look for the copy of a deleted source: %w", err)
	}
	if err := verifyCopy(rec.Source, dst); err != nil {
		return Event{}, fmt.Errorf("source %s is gone: %w", where, err)
	}
	if rec.State == StatePending {
		if err := p.store.Record(ctx, *rec, Step{To: StateCopied, Copy: &dst}); err != nil {
			return Event{}, err
		}
		rec.State = StateCopied
	}
	if err := p.store.Record(ctx, *rec, Step{To: StateInTrash, Release: true}); err != nil {
		return Event{}, err
	}
	log.Info("source already gone; its verified copy is in the trash bucket", "state", StateInTrash)
	return Event{Record: *rec, Outcome: OutcomeMoved, Bytes: dst.Size}, nil
}

func (p *pass) recordMissing(ctx context.Context, log *slog.Logger, rec *Record, why string) (Event, error) {
	// HEAD says only 404 for a missing bucket too: a bucket name that is
	// wrong is a failure to fix, not a missing object.
	if err := p.s3.CheckBucket(ctx, rec.Source.Bucket); err != nil {
		return Event{}, err
	}
	if err := p.store.Record(ctx, *rec, Step{To: StateMissing, Error: why, Release: true}); err != nil {
		return Event{}, err
	}
	log.Warn("object missing", "state", StateMissing, "reason", why)
	return Event{Record: *rec, Outcome: OutcomeMissing, Err: errors.New(why)}, nil
}

// settle records what an error means for rec: a retry later, a failure, or
// nothing at all when the lease is gone.
func (p *pass) settle(ctx context.Context, log *slog.Logger, rec Record, err error) Event {
	ev := Event{Record: rec, Err: err}
	// Writes below must happen even when ctx was cancelled by shutdown.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()

	var step Step
	switch {
	case errors.Is(err, ErrLeaseLost):
		log.Warn("lease lost; leaving the object to its new holder", "err", err)
		ev.Outcome = OutcomeInterrupted
		return ev
	case errors.Is(err, errStopped), ctx.Err() != nil:
		// Asked to stop, or the grace ran out mid-step: what was done is
		// recorded; give the object back for another host to take at once.
		ev.Outcome = OutcomeInterrupted
		step = Step{To: rec.State, Error: rec.LastError, Release: true}
	case errors.Is(err, ErrPermanent), errors.Is(err, ErrVerify), errors.Is(err, ErrArchived):
		ev.Outcome = OutcomeFailed
		step = Step{To: StateFailed, Error: err.Error(), Release: true}
	case rec.Attempts >= p.cfg.MaxAttempts:
		ev.Outcome = OutcomeFailed
		step = Step{To: StateFailed, Error: fmt.Sprintf("gave up after %d attempts: %v", rec.Attempts, err), Release: true}
	default:
		ev.Outcome = OutcomeRetrying
		step = Step{To: rec.State, Error: err.Error(), RetryIn: p.backoff(rec.Attempts), Release: true}
	}
	if werr := p.store.Record(wctx, rec, step); werr != nil {
		log.Error("record the outcome", "outcome", ev.Outcome, "err", werr, "cause", err)
		ev.Outcome = OutcomeInterrupted
		return ev
	}
	switch ev.Outcome {
	case OutcomeFailed:
		log.Error("object failed", "state", StateFailed, "attempts", rec.Attempts, "err", err)
	case OutcomeRetrying:
		log.Warn("object will be retried", "state", rec.State, "attempts", rec.Attempts, "retry_in_s", step.RetryIn.Seconds(), "err", err)
	default:
		log.Info("object interrupted; lease released", "state", rec.State)
	}
	return ev
}

// backoff is exponential in the attempts so far, capped, with jitter so that
// objects that failed together do not come back together.
func (r *Runner) backoff(attempts int) time.Duration {
	d := r.cfg.BackoffBase
	for i := 1; i < attempts && d < r.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, r.cfg.BackoffMax)
	return d/2 + rand.N(d/2+1)
}

// copyOptions are the options of a copy into the trash bucket: in direct
// mode the copy itself lands in the archive class.
func (p *pass) copyOptions() CopyOptions {
	if p.cfg.Archive.Mode == ArchiveDirect {
		return CopyOptions{StorageClass: p.cfg.Archive.Rule.StorageClass}
	}
	return CopyOptions{}
}
