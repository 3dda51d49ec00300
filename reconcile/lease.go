package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A worker holds a record through its lease: a token and an expiry that the
// database keeps. Every write is fenced on the token, so a worker whose lease
// was taken over changes nothing in the database. S3 requests are not
// fenced by the database, though: a worker paused for longer than its lease
// (a VM freeze, SIGSTOP, a suspended laptop) between its fenced write and
// its DeleteObject would delete while another host holds the record. So
// every delete is sent only while the last fenced write that extended the
// lease is fresh — sent less than a quarter of the lease ago — measured on
// a clock that keeps counting through a suspend. Otherwise the worker fences
// again first, and a lease lost meanwhile stops it.

// freshShare is the share of the lease within which a fenced write counts as
// fresh for a delete.
const freshShare = 4

// Elapsed reads a clock that only moves forward and keeps counting while the
// machine is suspended (CLOCK_BOOTTIME on Linux), as a duration since an
// arbitrary start.
type Elapsed func() time.Duration

// holder is one worker's hold on one record's lease: it renews the lease in
// the background, remembers when the last fenced write that extended it was
// sent, and cancels the work on a timer when the lease would lapse
// unrenewed.
type holder struct {
	p      *pass
	lease  time.Duration
	clock  Elapsed
	timers LeaseClock
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	rec      Record
	fencedAt time.Duration // clock reading when the last extending write was sent
	done     chan struct{}
}

// hold starts holding rec's lease, fenced by the claim that was just made,
// and returns the context for the work on rec: it is cancelled with
// ErrLeaseLost the moment the lease is lost or would lapse.
func (p *pass) hold(ctx context.Context, rec Record, claimedAt time.Duration) (*holder, context.Context) {
	octx, cancel := context.WithCancelCause(ctx)
	h := &holder{p: p, lease: p.r.cfg.Lease, clock: p.r.leases.Elapsed, timers: p.r.leases, cancel: cancel, rec: rec, fencedAt: claimedAt, done: make(chan struct{})}
	go h.keep(octx)
	return h, octx
}

// release stops the background renewal.
func (h *holder) release() {
	h.cancel(nil)
	<-h.done
}

// record writes step, fenced by the lease, and extends the lease unless the
// step gives it up.
func (h *holder) record(ctx context.Context, rec Record, step Step) error {
	if step.Renew == 0 && !step.Release && step.RetryIn == 0 && step.To.Movable() {
		step.Renew = h.lease
	}
	sent := h.clock()
	if err := h.p.r.store.Record(ctx, rec, step); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			h.cancel(err)
		}
		return err
	}
	if step.Renew > 0 {
		h.fenced(sent)
	}
	return nil
}

// renew extends the lease now, with a timeout of its own (a quarter of the
// lease, and never past the local deadline), so that a stuck database cannot
// hold a worker past its lease.
func (h *holder) renew(ctx context.Context) error {
	timeout := min(h.lease/freshShare, h.lease*7/8-h.since())
	if timeout <= 0 {
		err := fmt.Errorf("%w: not renewed within %s of the %s lease", ErrLeaseLost, h.lease*7/8, h.lease)
		h.cancel(err)
		return err
	}
	// A timeout on real time, not on the lease clock: it bounds a request
	// to the database, which answers in real time.
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sent := h.clock()
	h.mu.Lock()
	rec := h.rec
	h.mu.Unlock()
	err := h.p.r.store.RenewLease(rctx, rec, h.lease)
	switch {
	case errors.Is(err, ErrLeaseLost):
		h.cancel(err)
		return err
	case err != nil:
		return err
	}
	h.fenced(sent)
	h.p.progress.touch()
	return nil
}

// fresh makes sure the last fenced write is fresh enough for a delete sent
// now: fenced again if not. ErrLeaseLost if the lease is gone.
func (h *holder) fresh(ctx context.Context) error {
	if h.since() < h.lease/freshShare {
		return nil
	}
	if err := h.renew(ctx); err != nil {
		return fmt.Errorf("fence before the delete: %w", err)
	}
	if d := h.since(); d >= h.lease/freshShare {
		// The renewal itself took too long (or the worker paused during
		// it): the lease may be someone else's by the time a delete lands.
		return fmt.Errorf("%w: the fence before the delete took %s, over a quarter of the %s lease", ErrLeaseLost, d.Round(time.Millisecond), h.lease)
	}
	return nil
}

func (h *holder) fenced(sent time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fencedAt = max(h.fencedAt, sent)
}

// since is how long ago the last extending write was sent.
func (h *holder) since() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clock() - h.fencedAt
}

// keep renews the lease every third of it and gives the work up when the
// lease would lapse: the local deadline is the lease counted from when the
// last successful renewal was sent (the database counts from when it
// arrived, later), less a margin for the database clock's view of it.
func (h *holder) keep(ctx context.Context) {
	defer close(h.done)
	for {
		left := h.lease*7/8 - h.since()
		if left <= 0 {
			h.cancel(fmt.Errorf("%w: not renewed for %s of the %s lease", ErrLeaseLost, h.since().Round(time.Millisecond), h.lease))
			return
		}
		wait := min(left, max(h.lease/3-h.since(), time.Millisecond))
		fired := make(chan struct{})
		stop := h.timers.AfterFunc(wait, func() { close(fired) })
		select {
		case <-ctx.Done():
			stop()
			return
		case <-fired:
		}
		if h.since() >= h.lease/3 {
			if err := h.renew(ctx); errors.Is(err, ErrLeaseLost) {
				return
			} else if err != nil {
				h.p.log.Warn("lease renewal failed; trying again", "object_id", h.rec.ID, "err", err)
			}
		}
	}
}

// batchHold is holder for a batch: the leases of the records of one claim,
// which every write of the batch extends together, so that they share one
// time of the last extending write. It renews them every third of the lease
// in one statement and cancels the batch's work when they would lapse
// unrenewed (seven eighths of the lease, as holder). A record leaves the
// batch (drop) when it is handed to the move of one object, which holds
// its lease from then on, or when it is done.
type batchHold struct {
	p      *pass
	rec    BatchRecorder
	lease  time.Duration
	cancel context.CancelCauseFunc
	done   chan struct{}

	ctx context.Context

	mu       sync.Mutex
	members  map[int64]Record
	lost     map[int64]error
	cancels  map[int64]context.CancelCauseFunc // each member's own work
	fencedAt time.Duration                     // clock reading when the last write that extended every member's lease was sent
	pending  time.Duration                     // clock reading when the last record call was sent
}

// holdBatch starts holding the leases of recs, fenced by the claim sent at
// claimedAt, and returns the context for the batch's work.
func (p *pass) holdBatch(ctx context.Context, recs []Record, claimedAt time.Duration) (*batchHold, context.Context) {
	bctx, cancel := context.WithCancelCause(ctx)
	rec, _ := p.r.store.(BatchRecorder)
	b := &batchHold{p: p, rec: rec, lease: p.r.cfg.Lease, cancel: cancel, done: make(chan struct{}), ctx: bctx,
		members: make(map[int64]Record, len(recs)), lost: map[int64]error{}, cancels: map[int64]context.CancelCauseFunc{}, fencedAt: claimedAt}
	for _, r := range recs {
		b.members[r.ID] = r
	}
	go b.keep(bctx)
	return b, bctx
}

// release stops the renewals.
func (b *batchHold) release() {
	b.cancel(nil)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.cancels {
		c(nil)
	}
}

// itemContext is the context of the work on member id alone: cancelled with
// the batch, and with ErrLeaseLost when a renewal finds its lease lost.
func (b *batchHold) itemContext(id int64) context.Context {
	ctx, cancel := context.WithCancelCause(b.ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.lost[id]; err != nil {
		cancel(err)
		return ctx
	}
	if old := b.cancels[id]; old != nil {
		old(nil)
	}
	b.cancels[id] = cancel
	return ctx
}

// drop takes a record out of the batch and returns when its lease was last
// extended: for the holder that takes it over.
func (b *batchHold) drop(id int64) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.members, id)
	return b.fencedAt
}

// lostErr is the error of a record whose lease a renewal found lost.
func (b *batchHold) lostErr(id int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lost[id]
}

// record writes steps for recs in one batch (RecordBatch), sent now.
func (b *batchHold) record(ctx context.Context, w BatchRecorder, recs []Record, steps []Step) []error {
	b.mu.Lock()
	b.pending = b.p.r.leases.Elapsed()
	b.mu.Unlock()
	return w.RecordBatch(ctx, recs, steps)
}

// fencedAll notes that the last record call, which extended the lease of
// every item, fenced them all: when the batch holds exactly those items.
func (b *batchHold) fencedAll(items []*fastItem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(items) != len(b.members) {
		return
	}
	for _, it := range items {
		if _, ok := b.members[it.rec.ID]; !ok {
			return
		}
	}
	b.fencedAt = max(b.fencedAt, b.pending)
}

// since is how long ago the last write that extended every lease was sent.
func (b *batchHold) since() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.p.r.leases.Elapsed() - b.fencedAt
}

// renew extends every member's lease in one statement, with a timeout of a
// quarter of the lease (never past the local deadline). Members whose lease
// is lost leave the batch, their error kept for lostErr.
func (b *batchHold) renew(ctx context.Context) error {
	timeout := min(b.lease/freshShare, b.lease*7/8-b.since())
	if timeout <= 0 {
		err := fmt.Errorf("%w: not renewed within %s of the %s lease", ErrLeaseLost, b.lease*7/8, b.lease)
		b.cancel(err)
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b.mu.Lock()
	recs := make([]Record, 0, len(b.members))
	for _, r := range b.members {
		recs = append(recs, r)
	}
	b.mu.Unlock()
	sent := b.p.r.leases.Elapsed()
	errs := b.rec.RenewLeases(rctx, recs, b.lease)
	b.mu.Lock()
	defer b.mu.Unlock()
	var other error
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, ErrLeaseLost):
			delete(b.members, recs[i].ID)
			b.lost[recs[i].ID] = err
			if c := b.cancels[recs[i].ID]; c != nil {
				c(err)
			}
		default:
			other = err
		}
	}
	if other != nil {
		return other
	}
	b.fencedAt = max(b.fencedAt, sent)
	b.p.progress.touch()
	return nil
}

// fresh makes sure the last fence is fresh enough for deletes sent now:
// renewed if not.
func (b *batchHold) fresh(ctx context.Context) error {
	if b.since() < b.lease/freshShare {
		return nil
	}
	if err := b.renew(ctx); err != nil {
		return fmt.Errorf("fence before the delete: %w", err)
	}
	if d := b.since(); d >= b.lease/freshShare {
		return fmt.Errorf("%w: the fence before the delete took %s, over a quarter of the %s lease", ErrLeaseLost, d.Round(time.Millisecond), b.lease)
	}
	return nil
}

// keep renews the leases every third of the lease and cancels the batch's
// work when they would lapse, as holder.keep does for one.
func (b *batchHold) keep(ctx context.Context) {
	defer close(b.done)
	for {
		left := b.lease*7/8 - b.since()
		if left <= 0 {
			b.cancel(fmt.Errorf("%w: not renewed for %s of the %s lease", ErrLeaseLost, b.since().Round(time.Millisecond), b.lease))
			return
		}
		wait := min(left, max(b.lease/3-b.since(), time.Millisecond))
		fired := make(chan struct{})
		stop := b.p.r.leases.AfterFunc(wait, func() { close(fired) })
		select {
		case <-ctx.Done():
			stop()
			return
		case <-fired:
		}
		if b.since() >= b.lease/3 {
			if err := b.renew(ctx); errors.Is(err, ErrLeaseLost) {
				return
			} else if err != nil {
				b.p.log.Warn("lease renewal of a batch failed; trying again", "err", err)
			}
		}
	}
}
