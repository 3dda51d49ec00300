package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// TransitionQuery selects records whose transition is to be checked.
type TransitionQuery struct {
	MinSize   int64         // smaller copies are never transitioned
	Age       time.Duration // copies younger than this are not due yet
	ExpireAge time.Duration // > 0: also archived copies this old, which expiration may have removed
	// RemoveAge > 0: also in_trash and archived copies this old, which a
	// lifecycle rule that is not trashd's may have removed.
	RemoveAge time.Duration
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
	// FillSize records size, seen by a HEAD of rec's copy, as the size rec
	// left to be filled (blind.go), while rec still names that copy; false
	// when there was nothing to fill.
	FillSize(ctx context.Context, rec Record, size int64) (bool, error)
	// MarkGone records a trash copy that no longer exists; false when the
	// record had left in_trash or archived meanwhile (a restore took it).
	MarkGone(ctx context.Context, rec Record, state State, reason string) (bool, error)
}

// confirmTransitions looks with HEAD at copies old enough to have reached
// the archive class, a bounded number per pass, and records those that did.
// A copy that is gone was expired by the rule (when it expires copies and
// the copy is old enough), or else removed by something that is not
// trashd's rule (another lifecycle rule, someone's delete): the file is
// lost, which is an alarm. While another rule deletes trash copies, copies
// as old as it deletes them are looked at too, whatever the mode.
func (p *pass) confirmTransitions() {
	a := p.r.cfg.Archive
	foreign := p.r.foreign.get()
	if p.stopping() || (a.Mode == ArchiveLifecycle && a.LifecycleMode == LifecycleOff && len(foreign) == 0) {
		return
	}
	q := TransitionQuery{MinSize: a.minTransitionSize(), Age: a.transitionAge(), Limit: a.ChecksPerPass}
	if a.Rule.ExpirationDays > 0 {
		q.ExpireAge = time.Duration(a.Rule.ExpirationDays) * a.DayLength
	}
	q.RemoveAge = removeAge(foreign, a.DayLength, p.r.now())
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
		return p.recordGone(log, c, bucket)
	case err != nil:
		log.Warn("transition check", "err", err)
		return false
	}
	done := obj.StorageClass == p.r.cfg.Archive.Rule.StorageClass || obj.Archived()
	if rec.Copy.Size == SizeUnknown && obj.ETag == rec.Copy.ETag {
		// Moved by its copy's answer alone, which tells no size: this is
		// the copy's.
		if filled, err := p.r.store.FillSize(p.work, rec, obj.Size); err != nil {
			log.Warn("record the size of a trash copy", "err", err)
		} else if filled {
			ev := Event{Record: rec, Outcome: OutcomeSized, Bytes: obj.Size}
			p.progress.add(ev)
			p.r.events(ev)
		}
	}
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

// removeAge is the age from which a copy may have been removed by one of
// rules: the fewest days, or any age once a rule's date has passed; 0 when
// there are none.
func removeAge(rules []ExpiringRule, day time.Duration, now time.Time) time.Duration {
	var age time.Duration
	for _, e := range rules {
		d := time.Duration(e.Days) * day
		if e.Days == 0 {
			if e.Date.IsZero() || now.Before(e.Date) {
				continue
			}
			d = time.Microsecond
		}
		if age == 0 || d < age {
			age = d
		}
	}
	return age
}

// recordGone records the trash copy of c that HEAD found gone: expired by
// trashd's rule when it is old enough for it, else removed. A copy a
// versioned bucket still holds beneath a delete marker is not gone: it is
// named, and left for the operator to bring back.
func (p *pass) recordGone(log *slog.Logger, c TransitionCandidate, bucket string) bool {
	rec := c.Record
	hidden, err := "", error(nil)
	if !c.Expirable {
		// trashd's own expiration hides a copy on a versioned bucket
		// too, as it means to.
		hidden, err = hiddenCopy(p.work, p.r.s3, bucket, rec)
		if err != nil && errors.Is(err, ErrPermanent) && p.r.conds.unversioned(bucket) {
			// The bucket keeps no versions: nothing can be beneath.
			err = nil
		}
	}
	switch {
	case err != nil:
		log.Warn("transition check: the trash copy is gone, and its key's versions could not be listed (s3:ListBucketVersions on the trash bucket), "+
			"so whether a delete marker hides it is not known: the record is left as it is and looked at again later", "state", rec.State, "err", err)
		return false
	case hidden != "":
		log.Error("the trash copy is hidden by a delete marker (an expiration or a delete on a versioned bucket): "+
			"delete the marker to bring it back, or it goes for good when a rule expires noncurrent versions",
			"version_id", hidden, "state", rec.State)
		return false
	}
	state, why := StateRemoved, goneReason(bucket, rec.TrashKey, p.r.foreign.get())
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
	if state == StateRemoved {
		p.progress.update(func(pr *Progress) { pr.Counts.Missing++ })
		log.Error("trash copy removed by something that is not trashd's rule: the file cannot be restored", "state", state, "reason", why)
		return false
	}
	log.Info("trash copy expired", "state", state)
	return true
}

// goneReason says why a trash copy is gone, for the record: the rules that
// delete trash copies, when there are any.
func goneReason(bucket, key string, rules []ExpiringRule) string {
	by := "by something that is not trashd's lifecycle rule (another rule, or someone's delete), since trashd's rule does not expire copies this young"
	if len(rules) > 0 {
		lines := make([]string, len(rules))
		for i, e := range rules {
			lines[i] = e.String()
		}
		by = "by a lifecycle rule that is not trashd's: " + strings.Join(lines, "; ")
	}
	return fmt.Sprintf("the trash copy s3://%s/%s was removed %s; the file cannot be restored", bucket, key, by)
}

// hiddenCopy looks, after a HEAD found rec's trash copy gone, whether a
// version of its key still holds it (a versioned bucket keeps it beneath
// the delete marker an expiration or a delete put there), and returns that
// version's id, or "" when the listing answered and holds none (a bucket
// that keeps no versions answers with none). A listing refused (not
// permitted, not implemented) or failed is an error: whether the copy is
// there is not known, and it must not be recorded gone.
func hiddenCopy(ctx context.Context, s3 VersionLister, bucket string, rec Record) (string, error) {
	versions, err := s3.KeyVersions(ctx, bucket, rec.TrashKey, 100)
	if err != nil {
		return "", err
	}
	for _, v := range versions {
		if !v.DeleteMarker && (rec.Copy.ETag == "" || v.ETag == rec.Copy.ETag) {
			return v.VersionID, nil
		}
	}
	return "", nil
}
