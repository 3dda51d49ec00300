package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// A pass moves what it claims in batches of up to MoveBatch records, all
// held by one hold (lease.go); a batch of one is the move of one object.
// Each phase of a first attempt is done for the whole batch at once, in one
// statement or one request where S3 and SQL allow it:
//
//	per batch   ClaimBatch; LiveRows + EarlierMoves; RecordBatch (sources);
//	            RecordBatch (copied, which is the fence); the guarded
//	            delete (LiveRows, DeleteObjects per bucket, LiveRows);
//	            RecordBatch (in_trash)
//	per object  HEAD of the source; one CopyObject, proven by its response
//
// so a single-part object costs two S3 requests and a share of one, and a
// batch of B objects about ten statements. Whatever does not fit — a record
// resumed from an earlier attempt, a shared object, a versioned source that
// another record moved, a multipart or archived source, a copy the response
// cannot prove, a refused delete — goes on alone from where it stands
// (move.go), still in the hold, with the same rules: the copy never
// overwrites (If-None-Match) and is made of exactly the bytes HEAD saw
// (x-amz-copy-source-if-match); nothing is deleted unless its verified copy
// is recorded, and only through the guarded delete (delete.go).

// batchMove is one claimed batch.
type batchMove struct {
	*pass
	h     *hold
	pool  *pool // the pass's S3 requests in flight, shared by every batch
	lanes *lanes
}

// item is one record of a batch on its way.
type item struct {
	rec  Record
	log  *slog.Logger
	src  Object
	copy Object
	note string // recorded with in_trash
}

// moveBatch takes recs, just claimed at claimedAt, as far as the batch's
// phases go, and has every record that leaves them moved alone.
func (p *pass) moveBatch(recs []Record, claimedAt time.Duration, workers *pool, l *lanes) {
	b := &batchMove{pass: p, h: p.holdLeases(recs, claimedAt), pool: workers, lanes: l}
	defer b.h.close()

	items := make([]*item, 0, len(recs))
	for _, rec := range recs {
		it := &item{rec: rec, log: p.log.With("object_id", rec.ID, "bucket", rec.Source.Bucket, "key", rec.Source.Key)}
		switch {
		case p.checkRow(rec) != nil:
			b.settleOff(it, p.checkRow(rec))
		case rec.State != StatePending || rec.TrashKey != "" || rec.Copy.ETag != "":
			// A record that an earlier attempt took further (a source
			// read, a copy recorded, a shared object) goes on from where
			// it stands.
			b.handOff(it)
		default:
			items = append(items, it)
		}
	}
	items = b.notShared(items)
	items = b.notWaiting(items)
	var asIs, headFirst []*item
	for _, it := range items {
		if b.asIs(it) {
			asIs = append(asIs, it)
		} else {
			headFirst = append(headFirst, it)
		}
	}
	b.flow(b.readAll(headFirst), b.recordTrashKeys(asIs))
}

// stopped settles every item as stopped (its lease given back) when the
// pass was asked to stop.
func (b *batchMove) stopped(items []*item) bool {
	if !b.halted() {
		return false
	}
	for _, it := range items {
		b.settleOff(it, errStopped)
	}
	return true
}

// handOff has it moved alone, from where it stands, still in the hold. A
// record whose turn comes after the pass was asked to stop, or after S3 was
// found unavailable as a whole, is given back instead.
func (b *batchMove) handOff(it *item) {
	b.lanes.begin()
	b.pool.GoIn(&b.lanes.handed, func() {
		defer b.lanes.end()
		defer b.h.finish(it.rec.ID)
		if b.halted() {
			b.report(b.settle(b.work, it.log, it.rec, errStopped, failMove))
			return
		}
		b.report(b.moveHeld(b.h, it.rec))
	})
}

// halted reports whether the pass takes no new step: asked to stop, or S3
// found unavailable.
func (p *pass) halted() bool { return p.stopping() || p.outage.tripped() }

// settleOff settles it with err, out of the batch.
func (b *batchMove) settleOff(it *item, err error) {
	// Work cut short because the lease was found lost, or would lapse, is
	// no failure of the object's: the lease is gone.
	if lost := b.h.lostErr(it.rec.ID); lost != nil {
		err = lost
	}
	b.report(b.settle(b.work, it.log, it.rec, err, failMove))
	b.h.finish(it.rec.ID)
}

// report passes one record's outcome on: to the outage brake, the progress
// and the events.
func (p *pass) report(ev Event) {
	p.outage.observe(ev)
	p.progress.add(ev)
	p.r.events(ev)
}

// refs names the items' objects.
func refs(items []*item) []ObjectRef {
	out := make([]ObjectRef, len(items))
	for i, it := range items {
		out[i] = ObjectRef{it.rec.Source.Bucket, it.rec.Source.Key}
	}
	return out
}

// notShared hands off the items whose object an untrashed LMS row still
// names (the move alone records them shared), and returns the rest.
func (b *batchMove) notShared(items []*item) []*item {
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	live, err := b.r.store.LiveRows(b.h.ctx, refs(items))
	if err != nil {
		return b.handOffAll(items, err)
	}
	return b.split(items, func(it *item) bool {
		_, ok := live[ObjectRef{it.rec.Source.Bucket, it.rec.Source.Key}]
		return ok
	})
}

// split hands off the items for which off is true and returns the rest.
func (b *batchMove) split(items []*item, off func(*item) bool) []*item {
	var rest []*item
	for _, it := range items {
		if off(it) {
			b.handOff(it)
			continue
		}
		rest = append(rest, it)
	}
	return rest
}

// notWaiting hands off the items that must wait for the move of another
// record of the same object, and returns the rest.
func (b *batchMove) notWaiting(items []*item) []*item {
	if len(items) == 0 {
		return nil
	}
	earlier, err := b.r.store.EarlierMoves(b.h.ctx, records(items))
	if err != nil {
		return b.handOffAll(items, err)
	}
	return b.split(items, func(it *item) bool { _, ok := earlier[it.rec.ID]; return ok })
}

func records(items []*item) []Record {
	recs := make([]Record, len(items))
	for i, it := range items {
		recs[i] = it.rec
	}
	return recs
}

// handOffAll hands every item off after a batch operation failed: alone,
// each meets the failure (or not) on its own, and is settled by it.
func (b *batchMove) handOffAll(items []*item, err error) []*item {
	b.log.Warn("a batch step failed; its objects go on one by one", "objects", len(items), "err", err)
	for _, it := range items {
		b.handOff(it)
	}
	return nil
}

// readAll HEADs each source, all at once by the pass's S3 workers, and
// records what HEAD saw, and returns the items to copy (copyOne); every
// other item is handed off (or settled, when its lease was lost or the pass
// halted).
func (b *batchMove) readAll(items []*item) []*item {
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	items = b.inParallel(items, b.headOne)
	items = b.notAdopting(items)
	items = b.recordSources(items)
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	return items
}

// recordSources records, in one statement, each source as HEAD saw it and
// the trash key its copy goes to, before any copy, as fromSource does: a
// copy made and then lost track of (a crash before it is recorded, a source
// gone meanwhile) is found at that key and proven against that source.
func (b *batchMove) recordSources(items []*item) []*item {
	return b.recordAll(items, func(it *item) Step {
		src := it.src
		key := b.r.cfg.TrashKeys.RenderLife(it.rec.LMSID, it.rec.Life, it.rec.Source.Bucket, it.rec.Source.Key)
		return Step{To: StatePending, Source: &src, TrashKey: key}
	}, func(it *item, step Step) {
		it.rec.State, it.rec.Source, it.rec.TrashKey = StatePending, it.src, step.TrashKey
	})
}

// recordAll writes stepOf(item) for every item in one batch, each step
// extending its lease: the items written are fenced anew and go on, with
// done applying the step to their record; the others are settled with their
// error (a lease lost, a database that failed).
func (b *batchMove) recordAll(items []*item, stepOf func(*item) Step, done func(*item, Step)) []*item {
	if len(items) == 0 {
		return nil
	}
	steps := make([]Step, len(items))
	for i, it := range items {
		steps[i] = stepOf(it)
	}
	errs := b.h.record(b.h.ctx, records(items), steps)
	var rest []*item
	for i, it := range items {
		if errs[i] != nil {
			b.settleOff(it, errs[i])
			continue
		}
		done(it, steps[i])
		rest = append(rest, it)
	}
	return rest
}

// inParallel runs step for every item at once by the S3 workers, and
// returns the items it kept; the others are handed off, or settled when
// their lease was lost or the pass halted.
func (b *batchMove) inParallel(items []*item, step func(*item) bool) []*item {
	ok := make([]bool, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		b.pool.GoIn(&wg, func() { ok[i] = step(it) })
	}
	wg.Wait()
	var rest []*item
	for i, it := range items {
		if ok[i] {
			rest = append(rest, it)
			continue
		}
		b.notDone(it)
	}
	return rest
}

// notDone settles or hands off an item that a step did not take further:
// settled when its lease was lost or the pass halted, else handed off.
func (b *batchMove) notDone(it *item) {
	switch {
	case b.h.lostErr(it.rec.ID) != nil:
		b.settleOff(it, b.h.lostErr(it.rec.ID))
	case b.halted():
		// A copy made before the stop stays unrecorded at its trash key;
		// the next attempt proves it by HEAD.
		b.settleOff(it, errStopped)
	default:
		b.handOff(it)
	}
}

// headOne reads one item's source. false: the move alone takes it (a
// missing, archived or unreadable source, a failed HEAD), and starts again
// from HEAD.
func (b *batchMove) headOne(it *item) bool {
	ctx := b.h.ctxOf(it.rec.ID)
	src, err := b.r.s3.Head(ctx, it.rec.Source.Bucket, it.rec.Source.Key)
	if err != nil || !src.Readable() || b.halted() || b.refusesDeletes(ctx, src) != nil {
		return false
	}
	it.src = src
	return true
}

// notAdopting hands off the items of a versioned source whose object
// another record's verified copy holds, moved since this record was
// discovered, or that another record is moving right now: the key may now
// show an older version made current, which is not this row's file; the
// move alone adopts that copy, or waits, instead (fromSource). Asked after
// the HEAD, as fromSource asks.
func (b *batchMove) notAdopting(items []*item) []*item {
	var versioned []Record
	for _, it := range items {
		if it.src.VersionID != "" {
			versioned = append(versioned, it.rec)
		}
	}
	if len(versioned) == 0 {
		return items
	}
	moved, err := b.r.store.MovedSince(b.h.ctx, versioned)
	if err != nil {
		return b.handOffAll(items, err)
	}
	moving, err := b.r.store.EarlierMoves(b.h.ctx, versioned)
	if err != nil {
		return b.handOffAll(items, err)
	}
	return b.split(items, func(it *item) bool {
		_, waits := moving[it.rec.ID]
		return moved[it.rec.ID] || waits
	})
}

// copyOne is the one CopyObject of one item, of exactly the version HEAD
// saw. false: the move alone takes it from HEAD again (a multipart source,
// a trash key already taken, a source changed since HEAD, a copy that the
// response does not prove).
func (b *batchMove) copyOne(it *item) bool {
	rec, src, trashKey := it.rec, it.src, it.rec.TrashKey
	ctx := b.h.ctxOf(rec.ID)
	opts := b.copyOptions()
	opts.NoOverwrite = true
	opts, err := b.copyGuard(ctx, b.r.cfg.TrashBucket, opts)
	if err != nil {
		return false
	}
	rep, err := b.r.s3.CopyOnce(ctx, src, b.r.cfg.TrashBucket, trashKey, opts)
	if err != nil {
		it.log.Debug("the one-request copy did not go through; moving it alone", "err", err)
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

// recordCopies records every proven copy in one statement, which also
// extends the leases: the fence of the deletes that follow. A record whose
// lease was lost is settled so; one that could not be written goes on
// alone.
func (b *batchMove) recordCopies(items []*item) []*item {
	// A copy that cannot be recorded stays unrecorded at its trash key; the
	// next attempt finds it there and proves it by HEAD.
	return b.recordAll(items, func(it *item) Step {
		src, copy := it.src, it.copy
		return Step{To: StateCopied, Source: &src, Copy: &copy}
	}, func(it *item, _ Step) {
		it.rec.State, it.rec.Source, it.rec.TrashKey, it.rec.Copy = StateCopied, it.src, it.copy.Key, it.copy
	})
}

// deleteSources deletes the sources of items, whose verified copies are
// recorded, through the guarded delete, and returns the items whose source
// is gone for good. An object an untrashed row names is recorded shared; a
// delete not sent in time, or a request that failed as a whole, goes on
// alone, which fences again, looks at the copy, and deletes on its own.
func (b *batchMove) deleteSources(items []*item) []*item {
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	var rest, shared []*item
	sharedSteps := map[*item]Step{}
	for i, d := range b.deleteCopied(b.h, items) {
		it := items[i]
		switch {
		case d.shared != nil:
			shared, sharedSteps[it] = append(shared, it), *d.shared
		case d.err == nil:
			it.note = d.note
			rest = append(rest, it)
		case errors.Is(d.err, ErrStale), errors.Is(d.err, ErrBatchFailed):
			b.handOff(it)
		default:
			// Failed: the copy is recorded; a later attempt deletes, as
			// after a failed delete of one object.
			b.settleOff(it, fmt.Errorf("delete the source: %w", d.err))
		}
	}
	b.recordAll(shared, func(it *item) Step { return sharedSteps[it] }, func(it *item, s Step) {
		it.rec.State, it.rec.SharedWith = StateShared, s.SharedWith
		b.report(Event{Record: it.rec, Outcome: OutcomeShared})
		b.h.finish(it.rec.ID)
	})
	return rest
}

// recordMoves records every item's object in the trash, in one statement,
// giving the leases up.
func (b *batchMove) recordMoves(items []*item) {
	if len(items) == 0 {
		return
	}
	steps := make([]Step, len(items))
	for i, it := range items {
		steps[i] = Step{To: StateInTrash, Error: it.note, Release: true}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.h.ctx), 10*time.Second)
	defer cancel()
	errs := b.h.record(ctx, records(items), steps)
	for i, it := range items {
		if errs[i] != nil {
			// The source is gone and the copy recorded: whoever takes the
			// record next finds the source gone and the copy verified.
			b.settleOff(it, errs[i])
			continue
		}
		it.log.Debug("moved", "state", StateInTrash, "size", it.copy.Size)
		it.rec.State = StateInTrash
		b.report(Event{Record: it.rec, Outcome: OutcomeMoved, Bytes: bytesOf(it.copy.Size)})
		b.h.finish(it.rec.ID)
	}
}

// moveAll claims due records in batches and moves them: lanes that each
// claim a batch of up to MoveBatch records and move it, as many lanes as
// keep Concurrency S3 requests in flight with one more batch in its
// database steps. It ends when nothing is due and nothing is in flight (a
// record retried early in the pass comes back if its backoff ends first),
// or when the pass is asked to stop.
func (p *pass) moveAll() error {
	size := min(p.r.cfg.MoveBatch, MaxMoveBatch)
	nLanes := (p.r.cfg.Concurrency+size-1)/size + 1
	workers := newPool(p.r.cfg.Concurrency)
	defer workers.Close()
	l := &lanes{finished: make(chan struct{}, nLanes)}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		claiming sync.Mutex
		claimErr error
	)
	for range nLanes {
		wg.Go(func() {
			drained := false // the last claim found less than a batch
			for !p.halted() {
				if drained && !l.idle() {
					// The backlog is drained for now: claim again only
					// once some work in flight ends (which may make a
					// record due again), not while the batches just
					// started are still copying. A claim's transaction
					// holds the rows it read until it ends: one left
					// open by a host paused mid-claim would block other
					// hosts' writes to them.
					select {
					case <-l.finished:
					case <-p.stop.Done():
					}
				}
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
					// a move gone on alone) may make some due again.
					if l.idle() {
						return
					}
					select {
					case <-l.finished:
					case <-p.stop.Done():
					}
					continue
				}
				drained = len(recs) < size
				p.progress.touch()
				l.begin()
				p.moveBatch(recs, at, workers, l)
				l.endQuiet()
			}
		})
	}
	wg.Wait()
	l.flows.Wait() // before the moves gone on alone: a group may hand one off
	l.handed.Wait()
	mu.Lock()
	defer mu.Unlock()
	return cmp.Or(claimErr, p.outage.err())
}

// lanes is what the lanes of a pass share: how much work is in flight
// (batches, and moves gone on alone, which run on after their batch's
// phases), and a signal each time some ends.
type lanes struct {
	mu       sync.Mutex
	inFlight int
	finished chan struct{}
	handed   sync.WaitGroup // the moves gone on alone
	flows    sync.WaitGroup // the batches whose copies or groups go on (flow.go)
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
	l.signal()
}

// signal wakes every lane waiting for work in flight to end.
func (l *lanes) signal() {
	for range cap(l.finished) {
		select {
		case l.finished <- struct{}{}:
		default:
		}
	}
}

// endQuiet is end without the signal while other work is in flight: a
// lane done with its batch's steps makes nothing due (its flow signals when
// it ends); the last work to end always signals, so that waiting lanes see
// the pass idle.
func (l *lanes) endQuiet() {
	l.mu.Lock()
	l.inFlight--
	idle := l.inFlight == 0
	l.mu.Unlock()
	if idle {
		l.signal()
	}
}

func (l *lanes) idle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight == 0
}
