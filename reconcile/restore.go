package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"
)

// Restore outcomes, alongside the move outcomes.
const (
	OutcomeRestored  Outcome = "restored"
	OutcomeRestoring Outcome = "restoring" // waiting for S3 to restore from the archive class
)

// RestoreRequests finds the objects to bring back.
type RestoreRequests interface {
	// RequestRestores marks records whose LMS row is no longer trashed.
	RequestRestores(ctx context.Context) (int, error)
	// MarkOrphans marks records whose LMS row is gone altogether.
	MarkOrphans(ctx context.Context) (int, error)
	// ClaimRestores leases records whose restore was requested.
	ClaimRestores(ctx context.Context, owner string, limit int, lease time.Duration) ([]Record, error)
}

// restoreAll brings back, a worker-pool's worth at a time, every object
// whose LMS row was un-trashed: the LMS is waiting for these.
func (p *pass) restoreAll() error {
	if n, err := p.store.RequestRestores(p.stop); err != nil {
		return err
	} else if n > 0 {
		p.log.Info("trash flags cleared: restoring", "count", n)
	}
	if n, err := p.store.MarkOrphans(p.stop); err != nil {
		return err
	} else if n > 0 {
		p.log.Warn("LMS rows deleted: their trash copies are orphaned and left to the lifecycle rule", "count", n, "state", StateOrphaned)
	}
	for !p.stopping() {
		recs, err := p.store.ClaimRestores(p.stop, p.cfg.Owner, p.cfg.Concurrency, p.cfg.Lease)
		if err != nil || len(recs) == 0 {
			return err
		}
		p.progress.touch()
		done := make(chan Outcome)
		for _, rec := range recs {
			go func() {
				ev := p.restoreObject(rec)
				p.progress.add(ev)
				p.events(ev)
				done <- ev.Outcome
			}()
		}
		settled := 0
		for range recs {
			if o := <-done; o == OutcomeRestored || o == OutcomeFailed {
				settled++
			}
		}
		if settled == 0 {
			// Only restores still under way (or retries): with a short
			// poll they would come due again at once; the next pass looks.
			return nil
		}
	}
	return nil
}

// restoreObject brings one object back to where the LMS expects it, without
// ever overwriting a file the LMS has put there since, and only then removes
// the trash copy.
func (p *pass) restoreObject(rec Record) Event {
	ctx := p.work
	log := p.log.With("object_id", rec.ID, "bucket", rec.Source.Bucket, "key", rec.Source.Key)
	octx, done := p.leased(ctx, rec)
	ev, err := p.tryRestore(octx, log, rec)
	if err != nil {
		if cause := context.Cause(octx); errors.Is(cause, ErrLeaseLost) {
			err = cause
		}
	}
	done()
	if err == nil {
		return ev
	}
	ev = Event{Record: rec, Err: err}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var step Step
	switch {
	case errors.Is(err, ErrLeaseLost):
		ev.Outcome = OutcomeInterrupted
		return ev
	case errors.Is(err, errStopped), ctx.Err() != nil:
		ev.Outcome = OutcomeInterrupted
		step = Step{To: rec.State, Error: rec.LastError, Release: true}
	case errors.Is(err, ErrPermanent), errors.Is(err, ErrVerify), rec.Attempts >= p.cfg.MaxAttempts:
		ev.Outcome = OutcomeFailed
		step = Step{To: StateRestoreFailed, Error: "restore: " + err.Error(), Release: true}
	default:
		ev.Outcome = OutcomeRetrying
		step = Step{To: rec.State, Error: "restore: " + err.Error(), RetryIn: p.backoff(rec.Attempts), Release: true}
	}
	if werr := p.store.Record(wctx, rec, step); werr != nil {
		log.Error("record the restore outcome", "err", werr, "cause", err)
		ev.Outcome = OutcomeInterrupted
		return ev
	}
	log.Warn("restore did not finish", "outcome", ev.Outcome, "state", step.To, "err", err)
	return ev
}

func (p *pass) tryRestore(ctx context.Context, log *slog.Logger, rec Record) (Event, error) {
	if rec.State == StatePending || rec.State == StateCopied {
		// The source is deleted only after the copy is recorded, so it is
		// normally still there: then the move is cancelled and the trash
		// copy, if any, removed. Not if the key now holds other bytes than
		// were trashed: those are copied back beside it.
		src, err := p.s3.Head(ctx, rec.Source.Bucket, rec.Source.Key)
		switch {
		case err == nil && (rec.TrashKey == "" || verifyCopy(rec.Source, src) == nil):
			if err := p.removeTrashCopy(ctx, rec); err != nil {
				return Event{}, err
			}
			return p.finishRestore(ctx, log, rec, rec.Source.Key, "")
		case err != nil && !errors.Is(err, ErrNotFound):
			return Event{}, err
		case errors.Is(err, ErrNotFound) && rec.TrashKey == "":
			return Event{}, fmt.Errorf("%w: the source s3://%s/%s is gone and trashd never copied it", ErrPermanent, rec.Source.Bucket, rec.Source.Key)
		}
	}
	return p.copyBack(ctx, log, rec)
}

// copyBack copies the trash copy to the original key (or, when that key now
// holds another file, beside it), restoring it from the archive class first
// when it needs to.
func (p *pass) copyBack(ctx context.Context, log *slog.Logger, rec Record) (Event, error) {
	trash, err := p.s3.Head(ctx, p.cfg.TrashBucket, rec.TrashKey)
	if errors.Is(err, ErrNotFound) {
		// Copied back (to the key or beside it) before a crash, and the
		// trash copy already removed?
		for _, key := range []string{rec.Source.Key, besideKey(rec.Source.Key, rec.LMSID)} {
			if back, err := p.s3.Head(ctx, rec.Source.Bucket, key); err == nil && verifyCopy(rec.Source, back) == nil {
				return p.finishRestore(ctx, log, rec, key, "")
			}
		}
		return Event{}, fmt.Errorf("%w: the trash copy s3://%s/%s is gone", ErrPermanent, p.cfg.TrashBucket, rec.TrashKey)
	}
	if err != nil {
		return Event{}, err
	}
	if !trash.Readable() {
		return p.awaitRestore(ctx, log, rec, trash)
	}
	if p.stopping() {
		return Event{}, errStopped
	}

	// Never overwrite: the LMS may have put a new file at the key since.
	target, note := "", ""
	for _, key := range []string{rec.Source.Key, besideKey(rec.Source.Key, rec.LMSID)} {
		existing, err := p.s3.Head(ctx, rec.Source.Bucket, key)
		if errors.Is(err, ErrNotFound) {
			// STANDARD said outright: some servers keep the source's
			// (archive) class on a copy that names none.
			err = p.s3.Copy(ctx, trash, rec.Source.Bucket, key, CopyOptions{NoOverwrite: true, StorageClass: "STANDARD"})
			if errors.Is(err, ErrPreconditionFailed) {
				continue // taken since the HEAD
			}
			if err != nil {
				return Event{}, fmt.Errorf("copy back to s3://%s/%s: %w", rec.Source.Bucket, key, err)
			}
			existing, err = p.s3.Head(ctx, rec.Source.Bucket, key)
		}
		if err != nil {
			return Event{}, err
		}
		if verifyCopy(trash, existing) == nil { // ours: copied now, or before a crash
			target = key
			break
		}
	}
	if target == "" {
		return Event{}, fmt.Errorf("%w: s3://%s/%s and the key beside it both hold other files", ErrPermanent, rec.Source.Bucket, rec.Source.Key)
	}
	if target != rec.Source.Key {
		note = fmt.Sprintf("the original key holds a newer file; restored beside it as %s", target)
		log.Warn("restored beside the original key", "restored_key", target)
	}
	if err := p.removeTrashCopy(ctx, rec); err != nil {
		return Event{}, err
	}
	return p.finishRestore(ctx, log, rec, target, note)
}

// awaitRestore asks S3 to restore an archived copy, or waits for the restore
// under way, looking again after RestorePoll.
func (p *pass) awaitRestore(ctx context.Context, log *slog.Logger, rec Record, trash Object) (Event, error) {
	a := p.cfg.Archive
	if !trash.Restore.Requested {
		if err := p.s3.Restore(ctx, trash, a.RestoreDays, a.RestoreTier); err != nil {
			return Event{}, fmt.Errorf("request a restore of s3://%s/%s: %w", trash.Bucket, trash.Key, err)
		}
		log.Info("restore from the archive class requested", "storage_class", trash.StorageClass, "tier", a.RestoreTier, "days", a.RestoreDays)
	}
	if err := p.store.Record(ctx, rec, Step{To: StateRestoring, RetryIn: a.RestorePoll, Release: true, NotAnAttempt: true}); err != nil {
		return Event{}, err
	}
	return Event{Record: rec, Outcome: OutcomeRestoring}, nil
}

// removeTrashCopy deletes rec's trash copy, exactly the one a fresh HEAD
// sees, once the object is safe at its original place. A fenced write comes
// first: a worker whose lease lapsed removes nothing.
func (p *pass) removeTrashCopy(ctx context.Context, rec Record) error {
	if rec.TrashKey == "" {
		return nil
	}
	trash, err := p.s3.Head(ctx, p.cfg.TrashBucket, rec.TrashKey)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := p.store.RenewLease(ctx, rec, p.cfg.Lease); err != nil {
		return err
	}
	if err := p.s3.Delete(ctx, trash); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("remove the trash copy s3://%s/%s: %w", trash.Bucket, trash.Key, err)
	}
	return nil
}

func (p *pass) finishRestore(ctx context.Context, log *slog.Logger, rec Record, key, note string) (Event, error) {
	if err := p.store.Record(ctx, rec, Step{To: StateRestored, RestoredKey: key, Error: note, Release: true}); err != nil {
		return Event{}, err
	}
	log.Info("restored", "state", StateRestored, "restored_key", key)
	return Event{Record: rec, Outcome: OutcomeRestored}, nil
}

// besideKey is where a restore goes when the original key holds a newer
// file: the same folder and extension, the name marked with the LMS row id,
// e.g. "docs/report.pdf" → "docs/report.restored-42.pdf".
func besideKey(key string, lmsID int64) string {
	dir, name := path.Split(key)
	ext := path.Ext(name)
	if ext == name || strings.ContainsAny(ext, " ") {
		ext = ""
	}
	return dir + strings.TrimSuffix(name, ext) + ".restored-" + strconv.FormatInt(lmsID, 10) + ext
}
