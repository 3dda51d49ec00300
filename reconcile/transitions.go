package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// TransitionQuery selects records whose transition is to be checked.
type TransitionQuery struct {
	MinSize   int64         // smaller copies are never transitioned
	Age       time.Duration // copies younger than this are not due yet
	ExpireAge time.Duration // > 0: also archived copies this old, which expiration may have removed
	Limit     int
	// Inventory, when a report was used, narrows the in_trash part to what
	// the report could not confirm.
	Inventory *InventoryScope
}

// TransitionCandidate is a record whose transition is to be checked.
type TransitionCandidate struct {
	Record
	// Expirable: the copy is older than the rule's expiration (by the
	// database clock), so if it is gone, the rule removed it.
	Expirable bool
}

// Archiver records what transition checks find.
type Archiver interface {
	TransitionCandidates(ctx context.Context, q TransitionQuery) ([]TransitionCandidate, error)
	// MarkChecked records the class seen; archived moves the record to
	// StateArchived. False when the record had left in_trash meanwhile.
	MarkChecked(ctx context.Context, rec Record, class string, archived bool) (bool, error)
	// MarkGone records a trash copy that no longer exists; false when the
	// record had left in_trash or archived meanwhile (a restore took it).
	MarkGone(ctx context.Context, rec Record, state State, reason string) (bool, error)
}

// confirmTransitions looks with HEAD at copies old enough to have reached
// the archive class, a bounded number per pass, and records those that did.
// A copy that is gone was expired by the rule (when it expires copies and
// the copy is old enough) or is missing, which is an alarm.
func (p *pass) confirmTransitions() {
	a := p.r.cfg.Archive
	if p.stopping() || (a.Mode == ArchiveLifecycle && a.LifecycleMode == LifecycleOff) {
		return
	}
	q := TransitionQuery{MinSize: a.minTransitionSize(), Age: a.transitionAge(), Limit: a.ChecksPerPass}
	if a.Rule.ExpirationDays > 0 {
		q.ExpireAge = time.Duration(a.Rule.ExpirationDays) * a.DayLength
	}
	q.Inventory = p.confirmFromInventory(q)
	recs, err := p.r.store.TransitionCandidates(p.stop, q)
	if err != nil {
		p.log.Error("transition check", "err", err)
		return
	}
	var (
		workers  = newPool(p.r.cfg.Concurrency)
		archived atomic.Int64
	)
	defer workers.Close()
	for _, rec := range recs {
		if p.stopping() {
			break
		}
		workers.Go(func() {
			if p.checkTransition(rec) {
				archived.Add(1)
			}
		})
	}
	workers.Wait()
	p.progress.update(func(pr *Progress) { pr.Counts.Archived += int(archived.Load()) })
	if n := archived.Load(); n > 0 || len(recs) > 0 {
		p.log.Info("transitions checked", "checked", len(recs), "archived", n)
	}
}

func (p *pass) checkTransition(c TransitionCandidate) bool {
	rec := c.Record
	bucket := trashBucketOf(rec, p.r.cfg)
	log := p.log.With("object_id", rec.ID, "bucket", bucket, "key", rec.TrashKey)
	obj, err := p.r.s3.Head(p.work, bucket, rec.TrashKey)
	switch {
	case errors.Is(err, ErrNotFound):
		state, why := StateMissing, fmt.Sprintf("the trash copy s3://%s/%s is gone, and the lifecycle rule does not expire copies this young", bucket, rec.TrashKey)
		if c.Expirable {
			state, why = StateExpired, fmt.Sprintf("removed by the lifecycle rule's expiration after %d days", p.r.cfg.Archive.Rule.ExpirationDays)
		}
		ok, err := p.r.store.MarkGone(p.work, rec, state, why)
		if err != nil {
			log.Error("record a gone trash copy", "err", err)
			return false
		}
		if !ok {
			return false // a restore took it meanwhile
		}
		if state == StateMissing {
			log.Error("trash copy missing", "state", state, "reason", why)
			return false
		}
		log.Info("trash copy expired", "state", state)
		return true
	case err != nil:
		log.Warn("transition check", "err", err)
		return false
	}
	done := obj.StorageClass == p.r.cfg.Archive.Rule.StorageClass || obj.Archived()
	ok, err := p.r.store.MarkChecked(p.work, rec, obj.StorageClass, done)
	if err != nil {
		log.Error("record a transition check", "err", err)
		return false
	}
	if ok && done {
		log.Debug("archived", "state", StateArchived, "storage_class", obj.StorageClass, "archive_status", obj.ArchiveStatus)
	}
	return ok && done
}
