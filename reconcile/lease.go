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
