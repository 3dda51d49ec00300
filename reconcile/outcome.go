package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// failure says what a record becomes when its work fails for good.
type failure struct {
	state  State  // StateFailed for a move, StateRestoreFailed for a restore
	prefix string // put before the error in last_error
}

var (
	failMove    = failure{StateFailed, ""}
	failRestore = failure{StateRestoreFailed, "restore: "}
)

// settle records what err means for rec — the one place that decides it,
// for moves and restores alike: nothing at all when the lease is gone; the
// lease given back when the pass stops (not an attempt); a failure when
// retrying cannot help or the record has failed often enough for long
// enough; otherwise a retry after a backoff, counted as an attempt — unless
// the pass found S3 unavailable as a whole, which is no fault of the object.
func (p *pass) settle(ctx context.Context, log *slog.Logger, rec Record, err error, f failure) Event {
	ev := Event{Record: rec, Err: err}
	// Writes below must happen even when ctx was cancelled by shutdown.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()

	var step Step
	permanent := errors.Is(err, ErrPermanent) || errors.Is(err, ErrVerify) || (f == failMove && errors.Is(err, ErrArchived))
	exhausted := rec.Attempts+1 >= p.r.cfg.MaxAttempts && rec.FailingFor >= p.r.cfg.FailAfter
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
	case p.outage.tripped() && errors.Is(err, ErrTransient):
		ev.Outcome = OutcomeRetrying
		step = Step{To: rec.State, Error: f.prefix + err.Error(), RetryIn: p.r.backoff(rec.Attempts), Release: true}
	case (permanent || exhausted) && f == failMove && rec.Copy.ETag != "" && p.lookBeforeFailing(wctx, log, &ev, rec):
		// Its source may be gone already: the trash copy may be the only
		// one. Looked before settling anything terminal: done, or to be
		// looked at again.
		if ev.Outcome != OutcomeRetrying {
			return ev
		}
		step = Step{To: rec.State, Error: err.Error(), RetryIn: p.r.backoff(rec.Attempts + 1), Failed: true, Release: true}
	case permanent || exhausted:
		ev.Outcome = OutcomeFailed
		why := f.prefix + err.Error()
		if !permanent {
			why = fmt.Sprintf("%sgave up after %d attempts over %s: %v", f.prefix, rec.Attempts+1, rec.FailingFor.Round(time.Second), err)
		}
		step = Step{To: f.state, Error: why, Failed: true, Release: true}
	default:
		ev.Outcome = OutcomeRetrying
		step = Step{To: rec.State, Error: f.prefix + err.Error(), RetryIn: p.r.backoff(rec.Attempts + 1), Failed: true, Release: true}
	}
	if werr := p.r.store.Record(wctx, rec, step); werr != nil {
		log.Error("record the outcome", "outcome", ev.Outcome, "err", werr, "cause", err)
		ev.Outcome = OutcomeInterrupted
		return ev
	}
	switch ev.Outcome {
	case OutcomeFailed:
		log.Error("object failed", "state", step.To, "attempts", rec.Attempts+1, "err", err)
	case OutcomeRetrying:
		log.Warn("object will be retried", "state", rec.State, "attempts", rec.Attempts+1, "retry_in_s", step.RetryIn.Seconds(), "err", err)
	default:
		log.Info("object interrupted; lease released", "state", rec.State)
	}
	return ev
}

// settleInTrash records rec in_trash when its recorded source is gone and
// its recorded trash copy is intact: a record whose delete went through
// before its attempts ran out is done, not failed. lookAgain is true when S3
// could not be asked: then nothing terminal is decided.
func (p *pass) settleInTrash(ctx context.Context, log *slog.Logger, rec Record) (ev Event, done, lookAgain bool) {
	trash, err := p.r.s3.Head(ctx, trashBucketOf(rec, p.r.cfg), rec.Copy.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		return Event{}, false, false
	case err != nil:
		return Event{}, false, true
	case verifyCopy(rec.Copy, trash) != nil:
		return Event{}, false, false
	}
	src, err := p.r.s3.HeadVersion(ctx, rec.Source.Bucket, rec.Source.Key, rec.Source.VersionID)
	switch {
	case err == nil && (sameVersion(src, rec.Source) || byAnswer(rec.Source)):
		// The source is still there: a real failure. (A source identity
		// taken from the copy's answer says nothing of an object with
		// another ETag: a multipart or encrypted source keeps its own.)
		return Event{}, false, false
	case err != nil && !errors.Is(err, ErrNotFound):
		return Event{}, false, true
	}
	// Not in_trash while an untrashed row names the gone object: that row
	// waits for it to come back, which a failure says.
	ref := ObjectRef{rec.Source.Bucket, rec.Source.Key}
	if live, err := p.r.store.LiveRows(ctx, []ObjectRef{ref}); err != nil {
		return Event{}, false, true
	} else if _, ok := live[ref]; ok {
		return Event{}, false, false
	}
	if err := p.r.store.Record(ctx, rec, Step{To: StateInTrash, Release: true}); err != nil {
		return Event{}, false, true
	}
	log.Info("the source is gone and the verified trash copy intact: moved", "state", StateInTrash)
	return Event{Record: rec, Outcome: OutcomeMoved, Bytes: bytesOf(trash.Size)}, true, false
}

// lookBeforeFailing looks at rec's source and copy before a failure is
// recorded; true when that decided the outcome (ev set): moved, or retrying
// because S3 could not be asked.
func (p *pass) lookBeforeFailing(ctx context.Context, log *slog.Logger, ev *Event, rec Record) bool {
	moved, done, lookAgain := p.settleInTrash(ctx, log, rec)
	switch {
	case done:
		*ev = moved
		return true
	case lookAgain:
		ev.Outcome = OutcomeRetrying
		return true
	}
	return false
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
