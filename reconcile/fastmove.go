package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// The fast path moves a claimed batch of records together: each phase of a
// move (the sharing questions, HEAD and copy, the verified copy recorded,
// the fence and the last look at the LMS, the delete, the move recorded) is
// done for the whole batch at once, in one statement or one request where S3
// and SQL allow it:
//
//	per batch   ClaimBatch; LiveRows + EarlierMoves; RecordBatch (copied,
//	            which is the fence); LiveRows; DeleteObjects per bucket;
//	            RecordBatch (in_trash)
//	per object  HEAD of the source; one CopyObject, proven by its response
//
// so a single-part object costs two S3 requests and a share of one, and a
// batch of B objects about ten statements. The rules are those of a move of
// one object (move.go), phase by phase: the copy never overwrites
// (If-None-Match), is made of exactly the bytes HEAD saw (x-amz-copy-source-
// if-match) and is proven before it is recorded; nothing is deleted unless
// its verified copy is recorded, the fence of every record in the delete is
// fresh (a quarter of the lease), and the LMS was asked no longer ago than
// that whether a live row names the object; each delete names the version,
// or carries the ETag, that was copied. Whatever does not fit — a record
// resumed from an earlier attempt, a shared object, a versioned or
// multipart source, a copy the response cannot prove, a refused delete — is
// handed at that point, with its lease, to the move of one object, which
// takes it from where it stands.

// fastPorts are the batch operations, when both adapters have them.
type fastPorts struct {
	rec   BatchRecorder
	share BatchSharing
	copy  OneRequestCopier
	del   BatchDeleter
}

// fastPath returns the batch operations, or false when the pass moves
// every record one by one (MoveBatch 1, or an adapter without them).
func (p *pass) fastPath() (fastPorts, bool) {
	var f fastPorts
	var ok1, ok2, ok3, ok4 bool
	f.rec, ok1 = p.r.store.(BatchRecorder)
	f.share, ok2 = p.r.store.(BatchSharing)
	f.copy, ok3 = p.r.s3.(OneRequestCopier)
	f.del, ok4 = p.r.s3.(BatchDeleter)
	return f, ok1 && ok2 && ok3 && ok4 && p.r.cfg.MoveBatch > 1
}

// batchMove is one claimed batch on the fast path.
type batchMove struct {
	*pass
	f    fastPorts
	hold *batchHold
	ctx  context.Context // the work on the batch: cancelled when its leases would lapse
	pool *pool           // the pass's S3 requests in flight, shared by every batch
	// batchDeletes: the server honours DeleteObjects' per-object ETag
	// (probed once, when first asked).
	batchDeletes func() bool
	lanes        *lanes
}

// fastItem is one record of a batch on its way.
type fastItem struct {
	rec  Record
	log  *slog.Logger
	src  Object
	copy Object
}

// moveBatch takes recs, just claimed at claimedAt, as far as the fast path
// goes, and hands every record that leaves it to moveObject.
func (p *pass) moveBatch(f fastPorts, recs []Record, claimedAt time.Duration, workers *pool, l *lanes, batchDeletes func() bool) {
	hold, ctx := p.holdBatch(p.work, recs, claimedAt)
	b := &batchMove{pass: p, f: f, hold: hold, ctx: ctx, pool: workers, lanes: l, batchDeletes: batchDeletes}
	defer hold.release()

	items := make([]*fastItem, 0, len(recs))
	for _, rec := range recs {
		it := &fastItem{rec: rec, log: p.log.With("object_id", rec.ID, "bucket", rec.Source.Bucket, "key", rec.Source.Key)}
		// A first attempt only: a record that an earlier attempt took
		// further (a source read, a copy recorded, a shared object) goes
		// on from where it stands, one by one.
		if rec.State != StatePending || rec.TrashKey != "" || rec.Copy.ETag != "" || p.checkRow(rec) != nil {
			b.handOff(it)
			continue
		}
		items = append(items, it)
	}
	items = b.notShared(items)
	items = b.notWaiting(items)
	items = b.copyAll(items)
	items = b.recordCopies(items)
	items = b.deleteSources(items)
	b.recordMoves(items)
}

// stopped hands back every item when the pass was asked to stop: each is
// settled as stopped (its lease given back) by the move of one object.
func (b *batchMove) stopped(items []*fastItem) bool {
	if !b.halted() {
		return false
	}
	for _, it := range items {
		b.settleOff(it, errStopped)
	}
	return true
}

// handOff gives it to the move of one object, with the lease as the batch
// last fenced it. A record whose turn comes after the pass was asked to stop,
// or after S3 was found unavailable as a whole, is given back instead.
func (b *batchMove) handOff(it *fastItem) {
	at := b.hold.drop(it.rec.ID)
	b.lanes.begin()
	b.pool.GoIn(&b.lanes.handed, func() {
		defer b.lanes.end()
		if b.halted() {
			b.report(b.settle(b.work, it.log, it.rec, errStopped, failMove))
			return
		}
		b.report(b.moveObject(it.rec, at))
	})
}

// halted reports whether the pass takes no new step: asked to stop, or S3
// found unavailable.
func (p *pass) halted() bool { return p.stopping() || p.outage.tripped() }

// settleOff settles it with err, out of the batch.
func (b *batchMove) settleOff(it *fastItem, err error) {
	// Work cut short because the leases would lapse, or this one was
	// found lost, is no failure of the object's: the lease is gone.
	if lost := b.hold.lostErr(it.rec.ID); lost != nil {
		err = lost
	} else if cause := context.Cause(b.ctx); errors.Is(cause, ErrLeaseLost) {
		err = cause
	}
	b.hold.drop(it.rec.ID)
	b.report(b.settle(b.work, it.log, it.rec, err, failMove))
}

// report passes one record's outcome on: to the outage brake, the progress
// and the events.
func (p *pass) report(ev Event) {
	p.outage.observe(ev)
	p.progress.add(ev)
	p.r.events(ev)
}

// refs names the items' objects.
func refs(items []*fastItem) []ObjectRef {
	out := make([]ObjectRef, len(items))
	for i, it := range items {
		out[i] = ObjectRef{it.rec.Source.Bucket, it.rec.Source.Key}
	}
	return out
}

// notShared hands off the items whose object an untrashed LMS row still
// names (the move of one object records them shared), and returns the rest.
func (b *batchMove) notShared(items []*fastItem) []*fastItem {
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	live, err := b.f.share.LiveRows(b.ctx, refs(items))
	if err != nil {
		return b.handOffAll(items, err)
	}
	var rest []*fastItem
	for _, it := range items {
		if _, ok := live[ObjectRef{it.rec.Source.Bucket, it.rec.Source.Key}]; ok {
			b.handOff(it)
			continue
		}
		rest = append(rest, it)
	}
	return rest
}

// notWaiting hands off the items that must wait for the move of another
// record of the same object, and returns the rest.
func (b *batchMove) notWaiting(items []*fastItem) []*fastItem {
	if len(items) == 0 {
		return nil
	}
	recs := make([]Record, len(items))
	for i, it := range items {
		recs[i] = it.rec
	}
	earlier, err := b.f.share.EarlierMoves(b.ctx, recs)
	if err != nil {
		return b.handOffAll(items, err)
	}
	var rest []*fastItem
	for _, it := range items {
		if _, ok := earlier[it.rec.ID]; ok {
			b.handOff(it)
			continue
		}
		rest = append(rest, it)
	}
	return rest
}

// handOffAll hands every item off after a batch operation failed: one by
// one, each meets the failure (or not) on its own, and is settled by it.
func (b *batchMove) handOffAll(items []*fastItem, err error) []*fastItem {
	b.log.Warn("a batch step failed; its objects go on one by one", "objects", len(items), "err", err)
	for _, it := range items {
		b.handOff(it)
	}
	return nil
}

// copyAll HEADs each source, then copies each in one CopyObject, all at
// once by the pass's S3 workers, and returns the items whose copy the
// response proves; every other item is handed off (or settled, when its
// lease was lost or the pass halted).
func (b *batchMove) copyAll(items []*fastItem) []*fastItem {
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	items = b.inParallel(items, b.headOne)
	items = b.notAdopting(items)
	items = b.recordSources(items)
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	return b.inParallel(items, b.copyOne)
}

// recordSources records, in one statement, each source as HEAD saw it and
// the trash key its copy goes to, before any copy, as fromSource does: a
// copy made and then lost track of (a crash before it is recorded, a source
// gone meanwhile) is found at that key and proven against that source.
func (b *batchMove) recordSources(items []*fastItem) []*fastItem {
	return b.recordAll(items, func(it *fastItem) Step {
		src := it.src
		key := b.r.cfg.TrashKeys.RenderLife(it.rec.LMSID, it.rec.Life, it.rec.Source.Bucket, it.rec.Source.Key)
		return Step{To: StatePending, Source: &src, TrashKey: key, Renew: b.r.cfg.Lease}
	}, func(it *fastItem, step Step) {
		it.rec.State, it.rec.Source, it.rec.TrashKey = StatePending, it.src, step.TrashKey
	})
}

// recordAll writes stepOf(item) for every item in one batch (RecordBatch),
// each step extending its lease: the items written are fenced anew and go
// on, with done applying the step to their record; the others are settled
// with their error (a lease lost, a database that failed).
func (b *batchMove) recordAll(items []*fastItem, stepOf func(*fastItem) Step, done func(*fastItem, Step)) []*fastItem {
	if len(items) == 0 {
		return nil
	}
	recs := make([]Record, len(items))
	steps := make([]Step, len(items))
	for i, it := range items {
		recs[i], steps[i] = it.rec, stepOf(it)
	}
	errs := b.hold.record(b.ctx, b.f.rec, recs, steps)
	var rest []*fastItem
	for i, it := range items {
		if errs[i] != nil {
			b.settleOff(it, errs[i])
			continue
		}
		done(it, steps[i])
		rest = append(rest, it)
	}
	b.hold.fencedAll(rest)
	return rest
}

// inParallel runs step for every item at once by the S3 workers, and
// returns the items it kept; the others are handed off, or settled when
// their lease was lost or the pass halted.
func (b *batchMove) inParallel(items []*fastItem, step func(*fastItem) bool) []*fastItem {
	ok := make([]bool, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		b.pool.GoIn(&wg, func() { ok[i] = step(it) })
	}
	wg.Wait()
	var rest []*fastItem
	for i, it := range items {
		switch {
		case ok[i]:
			rest = append(rest, it)
		case b.hold.lostErr(it.rec.ID) != nil:
			b.settleOff(it, b.hold.lostErr(it.rec.ID))
		case b.halted():
			// A copy made before the stop stays unrecorded at its
			// trash key; the next attempt proves it by HEAD.
			b.settleOff(it, errStopped)
		default:
			b.handOff(it)
		}
	}
	return rest
}

// headOne reads one item's source. false: the move of one object takes it
// (a missing, archived or unreadable source, a failed HEAD), and starts
// again from HEAD.
func (b *batchMove) headOne(it *fastItem) bool {
	src, err := b.r.s3.Head(b.hold.itemContext(it.rec.ID), it.rec.Source.Bucket, it.rec.Source.Key)
	if err != nil || !src.Readable() || b.halted() {
		return false
	}
	it.src = src
	return true
}

// notAdopting hands off the items of a versioned source whose object
// another record's verified copy holds, moved since this record was
// discovered: the key may now show an older version made current, which is
// not this row's file, and the move of one object adopts that copy instead
// (adoptCopyOf). Asked after the HEAD, as fromSource asks.
func (b *batchMove) notAdopting(items []*fastItem) []*fastItem {
	var versioned []Record
	for _, it := range items {
		if it.src.VersionID != "" {
			versioned = append(versioned, it.rec)
		}
	}
	if len(versioned) == 0 {
		return items
	}
	moved, err := b.f.share.MovedSince(b.ctx, versioned)
	if err != nil {
		return b.handOffAll(items, err)
	}
	var rest []*fastItem
	for _, it := range items {
		if moved[it.rec.ID] {
			b.handOff(it)
			continue
		}
		rest = append(rest, it)
	}
	return rest
}

// copyOne is the one CopyObject of one item, of exactly the version HEAD
// saw. false: the move of one object takes it from HEAD again (a multipart
// source, a trash key already taken, a source changed since HEAD, a copy
// that the response does not prove).
func (b *batchMove) copyOne(it *fastItem) bool {
	rec, src, trashKey := it.rec, it.src, it.rec.TrashKey
	opts := b.copyOptions()
	opts.NoOverwrite = true
	rep, err := b.f.copy.CopyOnce(b.hold.itemContext(rec.ID), src, b.r.cfg.TrashBucket, trashKey, opts)
	if err != nil {
		it.log.Debug("the one-request copy did not go through; moving it one by one", "err", err)
		return false
	}
	copy, err := provenCopy(src, rep, b.r.cfg.TrashBucket, trashKey, opts.StorageClass)
	if err != nil {
		it.log.Info("the copy's response does not prove it; verifying it by HEAD", "err", err)
		return false
	}
	it.copy = copy
	return true
}

// provenCopy is the copy that rep describes, if rep proves that it holds
// src's bytes: the checksum S3 computed over the copy equals the source's,
// or the copy's ETag equals the source's single-part ETag (the MD5 of the
// bytes). A multipart ETag is no MD5 (a copy in one request gets a new,
// single-part ETag), and a KMS-encrypted object's ETag is no MD5 either,
// but then the ETags differ and nothing is proven: such a copy is verified by
// HEAD, as every copy is on the move of one object.
func provenCopy(src Object, rep CopyReport, bucket, key, class string) (Object, error) {
	copy := Object{Bucket: bucket, Key: key, VersionID: rep.VersionID, Size: src.Size, ETag: rep.ETag, Checksum: rep.Checksum, StorageClass: class}
	if src.VersionID != "" && rep.SourceVersionID != src.VersionID {
		return Object{}, fmt.Errorf("%w: the copy is of version %q, not of %q", ErrVerify, rep.SourceVersionID, src.VersionID)
	}
	switch {
	case src.Checksum.Value != "" && rep.Checksum.Algorithm == src.Checksum.Algorithm:
		// As verifyCopy: a checksum of the same algorithm decides alone
		// (a server may carry an ETag across a copy without computing it).
		if rep.Checksum.Value != src.Checksum.Value {
			return Object{}, fmt.Errorf("%w: the copy's %s is %s, the source's %s", ErrVerify, src.Checksum.Algorithm, rep.Checksum.Value, src.Checksum.Value)
		}
		return copy, nil
	case rep.ETag != "" && rep.ETag == src.ETag && !multipartETag(src.ETag):
		if copy.Checksum.Value == "" {
			// The same bytes have the same checksum.
			copy.Checksum = src.Checksum
		}
		return copy, nil
	}
	return Object{}, fmt.Errorf("%w: the copy's ETag %q and checksum %+v prove nothing of the source's (ETag %q, checksum %+v)",
		ErrVerify, rep.ETag, rep.Checksum, src.ETag, src.Checksum)
}

// multipartETag reports whether etag is a multipart upload's
// ("<hex>-<parts>").
func multipartETag(etag string) bool {
	for i := len(etag) - 1; i >= 0; i-- {
		switch c := etag[i]; {
		case c == '-':
			return i < len(etag)-1
		case c < '0' || c > '9':
			return false
		}
	}
	return false
}

// recordCopies records every proven copy in one statement, which also
// extends the leases: the fence of the deletes that follow. A record whose
// lease was lost is settled so; one that could not be written goes on one
// by one.
func (b *batchMove) recordCopies(items []*fastItem) []*fastItem {
	// A copy that cannot be recorded stays unrecorded at its trash key; the
	// next attempt finds it there and proves it by HEAD.
	return b.recordAll(items, func(it *fastItem) Step {
		src, copy := it.src, it.copy
		return Step{To: StateCopied, Source: &src, Copy: &copy, Renew: b.r.cfg.Lease}
	}, func(it *fastItem, _ Step) {
		it.rec.State, it.rec.Source, it.rec.TrashKey, it.rec.Copy = StateCopied, it.src, it.copy.Key, it.copy
	})
}

// deleteSources deletes the sources of items, whose verified copies are
// recorded: only with every fence fresh and after a last look at the LMS no
// older than a fence may be; in DeleteObjects requests where the server
// honours their conditions (or the sources are versioned), else one
// DeleteObject each. It returns the items whose source is gone.
func (b *batchMove) deleteSources(items []*fastItem) []*fastItem {
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	// The server's support for batched conditions is probed (once) before
	// the fence, so that the probe's requests do not age it.
	batched := b.batchDeletes()
	// Fence first, then ask the LMS, then delete while both answers are
	// fresh, as deleteSource does for one object.
	var asked time.Duration
	for try := 0; ; try++ {
		if err := b.hold.fresh(b.ctx); err != nil {
			return b.handOffAll(items, err)
		}
		items = b.leftIn(items)
		asked = b.r.leases.Elapsed()
		items = b.notShared(items)
		if len(items) == 0 {
			return nil
		}
		if b.r.leases.Elapsed()-asked < b.r.cfg.Lease/freshShare && b.hold.since() < b.r.cfg.Lease/freshShare {
			break
		}
		if try == 2 {
			return b.handOffAll(items, fmt.Errorf("%w: the database answers too slowly for a delete to follow its answers safely", ErrTransient))
		}
	}
	errs := b.sendDeletes(items, asked, batched)
	var rest []*fastItem
	for i, it := range items {
		switch err := errs[i]; {
		case err == nil:
		case errors.Is(err, ErrNotFound) && !errors.Is(err, ErrBatchFailed):
			it.log.Info("source already deleted")
		case errors.Is(err, ErrStale), errors.Is(err, ErrBatchFailed), errors.Is(err, ErrPreconditionFailed):
			// Not sent in time, a request that failed as a whole, or
			// refused (overwritten since the copy?): the move of one
			// object fences again, looks at the copy and the source, and
			// deletes (or leaves a new object in place) on its own.
			b.handOff(it)
			continue
		default:
			// Failed: the copy is recorded; a later attempt deletes, as
			// after a failed delete of one object.
			b.settleOff(it, fmt.Errorf("delete the source: %w", err))
			continue
		}
		rest = append(rest, it)
	}
	return rest
}

// sendDeletes deletes the items' sources, fenced and asked at asked: one
// DeleteObjects per source bucket where the server honours its per-object
// conditions (or the sources are versioned), else one DeleteObject each.
// Every request is checked for freshness right before it goes, and runs on
// a context that ends when the fence or the answer would go stale, so that
// nothing (a wait, a stall in the SDK before the send) sends it late; a
// request that could not go in time answers ErrStale. The deletes do not
// wait for the pass's S3 workers: there are at most a batch of them, and
// waiting would age their fence.
func (b *batchMove) sendDeletes(items []*fastItem, asked time.Duration, batched bool) []error {
	fresh := func(parent context.Context) (context.Context, context.CancelFunc, bool) {
		limit := b.r.cfg.Lease / freshShare
		left := min(limit-(b.r.leases.Elapsed()-asked), limit-b.hold.since())
		if left <= 0 {
			return nil, nil, false
		}
		ctx, cancel := context.WithTimeout(parent, left)
		return ctx, cancel, true
	}
	errs := make([]error, len(items))
	byBucket := map[string][]int{}
	var single []int
	for i, it := range items {
		if batched || it.src.VersionID != "" {
			byBucket[it.src.Bucket] = append(byBucket[it.src.Bucket], i)
			continue
		}
		single = append(single, i)
	}
	var wg sync.WaitGroup
	for bucket, at := range byBucket {
		wg.Go(func() {
			objs := make([]Object, len(at))
			for k, i := range at {
				objs[k] = items[i].src
			}
			ctx, cancel, ok := fresh(b.ctx)
			if !ok {
				for _, i := range at {
					errs[i] = ErrStale
				}
				return
			}
			defer cancel()
			for k, err := range b.f.del.DeleteBatch(ctx, bucket, objs) {
				errs[at[k]] = err
			}
		})
	}
	for _, i := range single {
		wg.Go(func() {
			ctx, cancel, ok := fresh(b.hold.itemContext(items[i].rec.ID))
			if !ok {
				errs[i] = ErrStale
				return
			}
			defer cancel()
			errs[i] = b.r.s3.Delete(ctx, items[i].src)
		})
	}
	wg.Wait()
	return errs
}

// leftIn keeps the items whose lease the batch still holds; the others'
// leases were lost at a renewal, and they are settled so.
func (b *batchMove) leftIn(items []*fastItem) []*fastItem {
	var rest []*fastItem
	for _, it := range items {
		if err := b.hold.lostErr(it.rec.ID); err != nil {
			b.settleOff(it, err)
			continue
		}
		rest = append(rest, it)
	}
	return rest
}

// recordMoves records every item's object in the trash, in one statement,
// giving the leases up.
func (b *batchMove) recordMoves(items []*fastItem) {
	if len(items) == 0 {
		return
	}
	recs := make([]Record, len(items))
	steps := make([]Step, len(items))
	for i, it := range items {
		recs[i] = it.rec
		steps[i] = Step{To: StateInTrash, Release: true}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	errs := b.f.rec.RecordBatch(ctx, recs, steps)
	for i, it := range items {
		b.hold.drop(it.rec.ID)
		if errs[i] != nil {
			// The source is gone and the copy recorded: whoever takes the
			// record next finds the source gone and the copy verified.
			b.report(b.settle(b.work, it.log, it.rec, errs[i], failMove))
			continue
		}
		it.log.Debug("moved", "state", StateInTrash, "size", it.copy.Size)
		it.rec.State = StateInTrash
		b.report(Event{Record: it.rec, Outcome: OutcomeMoved, Bytes: it.copy.Size})
	}
}

// moveAllBatched is moveAll on the fast path: lanes that each claim a batch
// of up to MoveBatch records and move it, as many lanes as keep
// Concurrency S3 requests in flight with one more batch in its database
// steps. It ends, as moveAll, when nothing is due and no batch is in
// flight, or when the pass is asked to stop.
func (p *pass) moveAllBatched(f fastPorts) error {
	size := min(p.r.cfg.MoveBatch, MaxMoveBatch)
	nLanes := (p.r.cfg.Concurrency+size-1)/size + 1
	workers := newPool(p.r.cfg.Concurrency)
	defer workers.Close()
	// Probed when a first batch gets to its deletes: a pass with nothing
	// to move sends nothing.
	batchDeletes := sync.OnceValue(func() bool {
		ok, err := f.del.BatchConditions(p.stop, p.r.cfg.TrashBucket)
		if err != nil {
			p.log.Warn("deletes go one by one", "err", err)
		}
		return ok
	})
	l := &lanes{finished: make(chan struct{}, nLanes)}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		claiming sync.Mutex
		claimErr error
	)
	for range nLanes {
		wg.Go(func() {
			for !p.stopping() && !p.outage.tripped() {
				mu.Lock()
				failed := claimErr != nil
				mu.Unlock()
				if failed {
					return
				}
				// One claim at a time: lanes claiming at once would split
				// a backlog between them (SKIP LOCKED) into small batches.
				claiming.Lock()
				at := p.r.leases.Elapsed()
				recs, err := p.r.store.ClaimBatch(p.stop, p.r.cfg.Owner, size, p.r.cfg.Lease)
				claiming.Unlock()
				if err != nil {
					mu.Lock()
					if !p.stopping() && claimErr == nil {
						claimErr = fmt.Errorf("claim records: %w", err)
					}
					mu.Unlock()
					return
				}
				if len(recs) == 0 {
					// Nothing due: done, unless work in flight (a batch, or
					// a move handed to one by one) may make some due again.
					if l.idle() {
						return
					}
					select {
					case <-l.finished:
					case <-p.stop.Done():
					}
					continue
				}
				p.progress.touch()
				l.begin()
				p.moveBatch(f, recs, at, workers, l, batchDeletes)
				l.end()
			}
		})
	}
	wg.Wait()
	l.handed.Wait()
	mu.Lock()
	defer mu.Unlock()
	if claimErr != nil {
		return claimErr
	}
	return p.outage.err()
}

// lanes is what the lanes of a pass share: how much work is in flight
// (batches, and moves handed to one by one, which run on after their batch
// is done), and a signal each time some ends.
type lanes struct {
	mu       sync.Mutex
	inFlight int
	finished chan struct{}
	handed   sync.WaitGroup // the moves handed to one by one
}

func (l *lanes) begin() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight++
}

func (l *lanes) end() {
	l.mu.Lock()
	l.inFlight--
	l.mu.Unlock()
	for range cap(l.finished) {
		select {
		case l.finished <- struct{}{}:
		default:
		}
	}
}

func (l *lanes) idle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight == 0
}
