package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Every S3 delete trashd makes goes through guardedDelete: the sources of a
// batch or of one object, and a restore's removal of a trash copy. It
// fences first (renewing the leases whose last fence is older than a
// quarter of the lease), then, for sources, asks the LMS whether an
// untrashed row names the object, and then sends each delete on a context
// that ends, and under a send guard that refuses, once the fence or the
// LMS's answer would be older than a quarter of the lease, on the lease
// clock that counts through a suspend. The S3 adapter checks the guard
// after signing and again once it has a connection (s3ops), so a delete that
// waited for a worker, a connection or a handshake does not go out stale.

// deletion is one object to delete, fenced by the lease of record id.
type deletion struct {
	id  int64
	obj Object // exactly what to delete: its version, or on condition of its ETag
	how deleteHow
}

// liveRowError is a source delete not sent because an untrashed LMS row
// names the object.
type liveRowError struct{ lmsID int64 }

func (e *liveRowError) Error() string {
	return fmt.Sprintf("LMS row %d, untrashed, names the object", e.lmsID)
}

// guardedDelete deletes dels under their fences and returns one error per
// deletion: nil when the object is deleted (or, by version, already gone),
// a *liveRowError when sources is set and an untrashed LMS row names the
// object (nothing sent), ErrStale when the fence went stale before the
// request could go, the lease's error when it was lost, else what S3 said
// (ErrPreconditionFailed, ErrNotFound, ErrBatchFailed, ...). Each goes as
// its how says (deletePath): the batched ones of a bucket in one request.
func (h *hold) guardedDelete(dels []deletion, sources bool) []error {
	errs := make([]error, len(dels))
	pending := func() []int {
		var at []int
		for i, d := range dels {
			if errs[i] == nil {
				if lost := h.lostErr(d.id); lost != nil {
					errs[i] = lost
					continue
				}
				at = append(at, i)
			}
		}
		return at
	}
	fail := func(at []int, err error) []error {
		for _, i := range at {
			errs[i] = err
		}
		return errs
	}
	// Fence first, then ask the LMS, then delete while both answers are
	// fresh: the answer that no untrashed row names the object is as old
	// as the fence at most.
	var asked time.Duration
	for try := 0; ; try++ {
		ids := make([]int64, len(dels))
		for i, d := range dels {
			ids[i] = d.id
		}
		if err := h.fresh(ids); err != nil {
			return fail(pending(), err)
		}
		asked = h.clock.Elapsed()
		at := pending()
		if len(at) == 0 {
			return errs
		}
		if sources {
			refs := make([]ObjectRef, len(at))
			for k, i := range at {
				refs[k] = ObjectRef{dels[i].obj.Bucket, dels[i].obj.Key}
			}
			live, err := h.p.r.store.LiveRows(h.ctx, refs)
			if err != nil {
				return fail(at, fmt.Errorf("look for LMS rows still naming the objects: %w", err))
			}
			for k, i := range at {
				if lms, ok := live[refs[k]]; ok {
					errs[i] = &liveRowError{lms}
				}
			}
		}
		if h.left(pending(), dels, asked) > 0 && h.clock.Elapsed()-asked < h.lease/freshShare {
			break
		}
		if try == 2 {
			return fail(pending(), fmt.Errorf("%w: the database answers too slowly for a delete to follow its answers safely", ErrTransient))
		}
	}
	h.send(dels, errs, pending(), asked)
	return errs
}

// left is how long the deletes at may still be sent: until the oldest of
// their fences, or the LMS's answer given at asked, is a quarter of the
// lease old.
func (h *hold) left(at []int, dels []deletion, asked time.Duration) time.Duration {
	limit := h.lease / freshShare
	left := limit - (h.clock.Elapsed() - asked)
	for _, i := range at {
		left = min(left, limit-h.since(dels[i].id))
	}
	return left
}

// send sends the deletes at: one DeleteObjects per bucket for those that may
// go batched, else one DeleteObject each, all at once; one without a
// proven condition right after a HEAD that finds exactly it. The deletes do
// not wait for the pass's S3 workers: there are at most a batch of them,
// and waiting would age their fences.
func (h *hold) send(dels []deletion, errs []error, at []int, asked time.Duration) {
	guarded := func(parent context.Context, at []int) (context.Context, context.CancelFunc, bool) {
		left := h.left(at, dels, asked)
		if left <= 0 {
			return nil, nil, false
		}
		// Written whole within what is left, or not at all; the answer
		// may take longer (bounded all the same), as the delete is out.
		ctx, cancel := context.WithTimeout(WithSendBy(parent, time.Now().Add(left)), left+h.lease/freshShare)
		return WithSendGuard(ctx, func() error {
			if h.left(at, dels, asked) <= 0 {
				return fmt.Errorf("%w: a fence or the LMS's answer is older than a quarter of the %s lease", ErrStale, h.lease)
			}
			return nil
		}), cancel, true
	}
	byBucket := map[string][]int{}
	var single []int
	for _, i := range at {
		if o := dels[i].obj; dels[i].how == deleteBatched {
			byBucket[o.Bucket] = append(byBucket[o.Bucket], i)
		} else {
			single = append(single, i)
		}
	}
	var wg sync.WaitGroup
	for bucket, group := range byBucket {
		if len(group) == 1 {
			single = append(single, group...)
			continue
		}
		wg.Go(func() {
			ctx, cancel, ok := guarded(h.ctx, group)
			if !ok {
				for _, i := range group {
					errs[i] = ErrStale
				}
				return
			}
			defer cancel()
			objs := make([]Object, len(group))
			for k, i := range group {
				objs[k] = dels[i].obj
			}
			for k, err := range h.p.r.s3.DeleteBatch(ctx, bucket, objs) {
				errs[group[k]] = err
			}
		})
	}
	for _, i := range single {
		wg.Go(func() {
			ctx, cancel, ok := guarded(h.ctxOf(dels[i].id), []int{i})
			if !ok {
				errs[i] = ErrStale
				return
			}
			defer cancel()
			errs[i] = h.deleteOne(ctx, dels[i])
		})
	}
	wg.Wait()
	for _, i := range at {
		if errs[i] != nil && !errors.Is(errs[i], ErrStale) {
			if lost := h.lostErr(dels[i].id); lost != nil && errors.Is(errs[i], context.Canceled) {
				errs[i] = lost
			}
		}
	}
}

// exactly is obj as a delete names it: by its version, but not by the
// version "null", which a bucket whose versioning is suspended gives every
// write, so that it names whatever was written last at the key (a file the
// LMS wrote after the copy): that one is deleted on condition of its ETag,
// as on an unversioned bucket.
func exactly(obj Object) Object {
	if obj.VersionID == "null" {
		obj.VersionID = ""
	}
	return obj
}

// deleteOne sends one DeleteObject: by version or on condition of the ETag,
// or, without a proven condition, unconditionally right after a HEAD that
// finds exactly the object (a changed object answers ErrPreconditionFailed,
// as If-Match would).
func (h *hold) deleteOne(ctx context.Context, d deletion) error {
	if d.how != deleteAfterHead || d.obj.VersionID != "" {
		return h.p.r.s3.Delete(ctx, d.obj)
	}
	cur, err := h.p.r.s3.Head(ctx, d.obj.Bucket, d.obj.Key)
	switch {
	case err != nil:
		return err
	case !sameVersion(cur, d.obj):
		return fmt.Errorf("%w: s3://%s/%s holds another object (ETag %q) than the one to delete (%q)", ErrPreconditionFailed, d.obj.Bucket, d.obj.Key, cur.ETag, d.obj.ETag)
	}
	unconditional := d.obj
	unconditional.ETag = ""
	return h.p.r.s3.Delete(ctx, unconditional)
}

// deleted is what became of one copied source sent to deleteCopied.
type deleted struct {
	// err: the source was not deleted (a failure, a delete not sent in
	// time, a request that failed as a whole); the record stays copied.
	err error
	// shared: an untrashed LMS row names the object, which stays (or is
	// back) at its key: the record is to be recorded so.
	shared *Step
	// note, when the source is gone (err and shared nil): what to record
	// beside in_trash (a newer object left in place, a row that came to
	// name the object but could not get it back).
	note string
}

// deleteCopied deletes the sources of items, each exactly as it was copied
// (it.src) and whose verified copy (it.copy) is recorded, through the
// guarded delete, and says what became of each. The move of a batch and of
// one object call it alike, so every rule of a source delete is here:
//   - a refused delete (If-Match, 412) is looked at: a source gone
//     meanwhile is moved; one overwritten since the copy holds a newer
//     file, which is neither deleted nor copied over the verified copy;
//   - the LMS is asked once more after the deletes: a row that came to name
//     an object between the last look and the delete (a content-addressed
//     LMS storing the same file again) gets it back at once, copied from
//     the verified trash copy without overwriting anything.
func (p *pass) deleteCopied(h *hold, items []*item) []deleted {
	out := make([]deleted, len(items))
	errs := make([]error, len(items))
	var dels []deletion
	var at []int
	for i, it := range items {
		obj := exactly(it.src)
		caps, err := p.r.conds.of(h.ctx, obj.Bucket)
		how := deleteIfMatch
		if err == nil {
			how, err = p.deletePath(caps, obj, true)
		}
		if err != nil {
			// Never sent: the record stays copied, its source in place.
			out[i].err = err
			continue
		}
		dels, at = append(dels, deletion{id: it.rec.ID, obj: obj, how: how}), append(at, i)
	}
	for k, err := range h.guardedDelete(dels, true) {
		errs[at[k]] = err
	}
	var refused sync.WaitGroup
	for i, err := range errs {
		var live *liveRowError
		switch {
		case out[i].err != nil:
		case err == nil:
		case errors.Is(err, ErrNotFound) && !errors.Is(err, ErrBatchFailed):
			items[i].log.Info("source already deleted")
		case errors.As(err, &live):
			refused.Go(func() { out[i] = p.keepForLiveRow(h, items[i], live.lmsID) })
		case errors.Is(err, ErrPreconditionFailed) && !errors.Is(err, ErrBatchFailed):
			refused.Go(func() { out[i] = p.refusedDelete(h, items[i]) })
		default:
			out[i].err = err
		}
	}
	refused.Wait()
	var gone []int
	for i, d := range out {
		if d.err == nil && d.shared == nil && d.note == "" {
			gone = append(gone, i)
		}
	}
	if len(gone) == 0 {
		return out
	}
	refs := make([]ObjectRef, len(gone))
	for k, i := range gone {
		refs[k] = ObjectRef{items[i].src.Bucket, items[i].src.Key}
	}
	live, err := p.r.store.LiveRows(h.ctx, refs)
	for k, i := range gone {
		switch lms, ok := live[refs[k]]; {
		case err != nil:
			// Not known whether a row names it now: the record stays
			// copied (true: its copy is verified), and the next attempt
			// deletes again, then asks again.
			out[i].err = fmt.Errorf("%w: look for LMS rows naming the object after its delete: %w", ErrTransient, err)
		case ok:
			out[i] = p.bringBack(h, items[i], lms)
		}
	}
	return out
}

// refusedDelete looks at a source whose conditional delete was refused
// (412): the key holds another object than the one copied, or none.
func (p *pass) refusedDelete(h *hold, it *item) deleted {
	if byAnswer(it.src) {
		return p.refusedAsIs(h, it)
	}
	src := it.src
	cur, err := p.r.s3.Head(h.ctxOf(it.rec.ID), src.Bucket, src.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		// SeaweedFS refuses a conditional delete of a missing key with 412.
		it.log.Info("source already deleted")
		return deleted{}
	case err != nil:
		return deleted{err: fmt.Errorf("look at the source after a refused delete: %w", err)}
	case sameVersion(cur, src):
		return deleted{err: fmt.Errorf("%w: the delete of s3://%s/%s was refused (412) although its ETag is unchanged", ErrTransient, src.Bucket, src.Key)}
	}
	// Written after the copy: not the trashed file, so neither copied over
	// the verified copy nor deleted.
	it.log.Warn("source overwritten after the copy; the new object is left in place", "etag", cur.ETag)
	return deleted{note: fmt.Sprintf("s3://%s/%s was overwritten after the copy (now ETag %q): the new object is not the trashed file and was left in place", src.Bucket, src.Key, cur.ETag)}
}

// bringBack copies it's verified trash copy back to its source key, which
// LMS row lmsID names now, never over an object there.
func (p *pass) bringBack(h *hold, it *item, lmsID int64) deleted {
	ctx := h.ctxOf(it.rec.ID)
	src := it.src
	it.log.Warn("an LMS row came to name the object as it was deleted: copying it back", "shared_with", lmsID)
	opts, err := p.copyGuard(ctx, src.Bucket, CopyOptions{NoOverwrite: true, StorageClass: "STANDARD"})
	if err == nil {
		err = p.r.s3.Copy(ctx, it.copy, src.Bucket, src.Key, opts)
	}
	if err != nil && !errors.Is(err, ErrPreconditionFailed) && !errors.Is(err, ErrPermanent) && !errors.Is(err, ErrArchived) {
		// Tried again: the record stays copied, and its next attempt finds
		// the source gone and the row live, and copies it back again.
		return deleted{err: fmt.Errorf("%w: copy the object back for LMS row %d, which names it: %w", ErrTransient, lmsID, err)}
	}
	if err != nil && !errors.Is(err, ErrPreconditionFailed) {
		it.log.Error("the object could not be copied back for the LMS row that names it", "shared_with", lmsID, "err", err)
		return deleted{note: fmt.Sprintf("LMS row %d came to name s3://%s/%s as it was deleted, and copying it back from the trash failed (%v): "+
			"the bytes are in the trash copy s3://%s/%s; copy them back by hand", lmsID, src.Bucket, src.Key, err, it.copy.Bucket, it.copy.Key)}
	}
	cur, err := p.r.s3.Head(ctx, src.Bucket, src.Key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return deleted{err: fmt.Errorf("look at the object copied back for LMS row %d: %w", lmsID, err)}
	}
	if err == nil {
		err = verifyCopy(it.copy, cur)
	}
	if err != nil {
		return deleted{note: fmt.Sprintf("LMS row %d came to name s3://%s/%s as it was deleted; the key holds other bytes now (%v), so the trash copy s3://%s/%s was not copied over them",
			lmsID, src.Bucket, src.Key, err, it.copy.Bucket, it.copy.Key)}
	}
	return deleted{shared: sharedStep(p.r.cfg, lmsID, &cur)}
}

// keepForLiveRow is what becomes of a source whose delete was not sent
// because an untrashed row names the object: it stays, and the record is
// shared — unless the source is gone already (an earlier attempt's delete
// took effect, and the row came since), when the row gets the object back
// from the verified trash copy.
func (p *pass) keepForLiveRow(h *hold, it *item, lmsID int64) deleted {
	// Whatever is at the key stays: the trashed bytes, or another object
	// (the row's own), with the trashed bytes safe in the trash.
	_, err := p.r.s3.HeadVersion(h.ctxOf(it.rec.ID), it.src.Bucket, it.src.Key, it.src.VersionID)
	switch {
	case errors.Is(err, ErrNotFound):
		return p.bringBack(h, it, lmsID)
	case err != nil:
		return deleted{err: fmt.Errorf("look at the source an untrashed row names: %w", err)}
	}
	return deleted{shared: sharedStep(p.r.cfg, lmsID, nil)}
}

// sharedStep records a record shared with LMS row lmsID, which keeps the
// object where it is (at back, when it was just copied back there).
func sharedStep(cfg Config, lmsID int64, back *Object) *Step {
	return &Step{To: StateShared, SharedWith: lmsID, Source: back, RetryIn: cfg.SharedRecheck, Release: true}
}
