package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

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
