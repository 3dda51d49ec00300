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
// its delete would delete while another host holds the record. So every
// delete is sent only while the last fenced write that extended the lease
// is fresh — sent less than a quarter of the lease ago — measured on a clock
// that keeps counting through a suspend (see guardedDelete). Otherwise the
// worker fences again first, and a lease lost meanwhile stops it.
//
// The timing exists once, here, whatever the number of records held:
//
//	renew    every third of the lease, all the records held, in one statement
//	give up  a record's work at seven eighths of its lease unrenewed
//	fresh    a fence is fresh for a delete for a quarter of the lease

// freshShare is the share of the lease within which a fenced write counts as
// fresh for a delete.
const freshShare = 4

// Elapsed reads a clock that only moves forward and keeps counting while the
// machine is suspended (CLOCK_BOOTTIME on Linux), as a duration since an
// arbitrary start.
type Elapsed func() time.Duration

// hold is a worker's hold on the leases of the records of one claim, one or
// many: the move of one object is a hold of one. Each record's fence is its
// own (the time its last lease-extending write was sent), so a record that
// goes on alone, with a write or a multipart copy of its own, keeps its
// own time while the hold keeps renewing every record it holds until that
// record's work is done.
type hold struct {
	p     *pass
	lease time.Duration
	clock LeaseClock
	ctx   context.Context // the hold's statements: ends when the hold does
	stop  context.CancelFunc
	done  chan struct{}

	mu      sync.Mutex
	members map[int64]*member
	lost    map[int64]error
	closed  bool // the claim's batched steps are over: the hold ends with its last member
	changed chan struct{}
}

// member is one record held.
type member struct {
	rec      Record // its lease token, for renewals
	fencedAt time.Duration
	ctx      context.Context // the work on the record: cancelled when its lease is lost or would lapse
	cancel   context.CancelCauseFunc
	released bool // a write gave the lease up: nothing left to renew
}

// holdLeases starts holding the leases of recs, fenced by the claim that was
// sent at claimedAt.
func (p *pass) holdLeases(recs []Record, claimedAt time.Duration) *hold {
	ctx, stop := context.WithCancel(p.work)
	h := &hold{p: p, lease: p.r.cfg.Lease, clock: p.r.leases, ctx: ctx, stop: stop, done: make(chan struct{}),
		members: make(map[int64]*member, len(recs)), lost: map[int64]error{}, changed: make(chan struct{}, 1)}
	for _, rec := range recs {
		mctx, cancel := context.WithCancelCause(p.work)
		h.members[rec.ID] = &member{rec: rec, fencedAt: claimedAt, ctx: mctx, cancel: cancel}
	}
	go h.keep()
	return h
}

// ctxOf is the context of the work on record id alone.
func (h *hold) ctxOf(id int64) context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.members[id]; m != nil {
		return m.ctx
	}
	ctx, cancel := context.WithCancelCause(h.ctx)
	cancel(cmpErr(h.lost[id], errors.New("the record is no longer held")))
	return ctx
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// lostErr is the error of a record whose lease was found lost (or given up),
// nil while it is held.
func (h *hold) lostErr(id int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost[id]
}

// finish lets record id go: its work is done, its lease released or to be
// left to lapse. The hold ends once the claim's batched steps are over and
// every record has been let go.
func (h *hold) finish(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.members[id]; m != nil {
		m.cancel(nil)
		delete(h.members, id)
	}
	h.endIfIdle()
}

// close says that the claim's batched steps are over: the hold goes on for
// the records still being moved one by one, and ends with the last.
func (h *hold) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.endIfIdle()
}

func (h *hold) endIfIdle() {
	if h.closed && len(h.members) == 0 {
		h.stop()
	}
}

// wait returns when the hold has ended.
func (h *hold) wait() { <-h.done }

// loseLocked takes id out of the hold with err (ErrLeaseLost): its work is
// cancelled.
func (h *hold) loseLocked(id int64, err error) {
	if m := h.members[id]; m != nil {
		m.cancel(err)
		delete(h.members, id)
	}
	h.lost[id] = err
	h.endIfIdle()
}

// record writes steps[i] for recs[i], in one batch, fenced by each record's
// lease, and notes each write that extended a lease as that record's fence
// (from when it was sent: the database counts the lease from when it
// arrives, later). A step of a move that keeps the lease extends it. A
// record whose lease was lost meanwhile is let go, its work cancelled.
func (h *hold) record(ctx context.Context, recs []Record, steps []Step) []error {
	for i, s := range steps {
		if s.Renew == 0 && !releases(recs[i], s) && s.To.Movable() {
			steps[i].Renew = h.lease
		}
	}
	sent := h.clock.Elapsed()
	errs := h.p.r.store.RecordBatch(ctx, recs, steps)
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, err := range errs {
		id := recs[i].ID
		switch {
		case errors.Is(err, ErrLeaseLost):
			h.loseLocked(id, err)
		case err != nil:
		case releases(recs[i], steps[i]):
			if m := h.members[id]; m != nil {
				m.released = true // renewals would only find it gone
			}
		case steps[i].Renew > 0:
			if m := h.members[id]; m != nil {
				m.fencedAt = max(m.fencedAt, sent)
				m.rec.Lease = recs[i].Lease
			}
		}
	}
	return errs
}

// recordOne is record for one record.
func (h *hold) recordOne(ctx context.Context, rec Record, step Step) error {
	return h.record(ctx, []Record{rec}, []Step{step})[0]
}

// releases reports whether recording s gives rec's lease up (as the store
// applies it: a retry, a release, or a move done with the record).
func releases(rec Record, s Step) bool {
	return s.RetryIn > 0 || s.Release || (!s.To.Movable() && !rec.RestoreRequested)
}

// since is how long ago record id's last lease-extending write was sent.
func (h *hold) since(id int64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.members[id]; m != nil && !m.released {
		return h.clock.Elapsed() - m.fencedAt
	}
	return h.lease // not held: never fresh
}

// oldestLocked is the age of the oldest fence among the records held.
func (h *hold) oldestLocked() time.Duration {
	var oldest time.Duration
	now := h.clock.Elapsed()
	for _, m := range h.members {
		if !m.released {
			oldest = max(oldest, now-m.fencedAt)
		}
	}
	return oldest
}

// renew extends every held lease now, in one statement, with a timeout of
// its own (a quarter of the lease, and never past the oldest record's local
// deadline), so that a stuck database cannot hold a worker past its lease.
// Records whose lease is lost are let go.
func (h *hold) renew() error {
	h.mu.Lock()
	timeout := min(h.lease/freshShare, h.lease*7/8-h.oldestLocked())
	recs := make([]Record, 0, len(h.members))
	for _, m := range h.members {
		if !m.released {
			recs = append(recs, m.rec)
		}
	}
	h.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if timeout <= 0 {
		h.lapse()
		return fmt.Errorf("%w: not renewed within %s of the %s lease", ErrLeaseLost, h.lease*7/8, h.lease)
	}
	// A timeout on real time, not on the lease clock: it bounds a request
	// to the database, which answers in real time.
	ctx, cancel := context.WithTimeout(h.ctx, timeout)
	defer cancel()
	sent := h.clock.Elapsed()
	errs := h.p.r.store.RenewLeases(ctx, recs, h.lease)
	h.mu.Lock()
	defer h.mu.Unlock()
	var other error
	for i, err := range errs {
		switch {
		case err == nil:
			if m := h.members[recs[i].ID]; m != nil {
				m.fencedAt = max(m.fencedAt, sent)
			}
		case errors.Is(err, ErrLeaseLost):
			h.loseLocked(recs[i].ID, err)
		default:
			other = err
		}
	}
	if other == nil {
		h.p.progress.touch()
	}
	return other
}

// fresh makes sure the fences of ids are fresh enough for a delete sent now:
// renewed if not. The records whose lease is found lost are let go (lostErr
// says so); an error means no fence is fresh.
func (h *hold) fresh(ids []int64) error {
	stale := func() time.Duration {
		var worst time.Duration
		for _, id := range ids {
			if h.lostErr(id) == nil {
				worst = max(worst, h.since(id))
			}
		}
		return worst
	}
	if stale() < h.lease/freshShare {
		return nil
	}
	if err := h.renew(); err != nil {
		return fmt.Errorf("fence before the delete: %w", err)
	}
	if d := stale(); d >= h.lease/freshShare {
		// The renewal itself took too long (or the worker paused during
		// it): the lease may be someone else's by the time a delete lands.
		return fmt.Errorf("%w: the fence before the delete took %s, over a quarter of the %s lease", ErrLeaseLost, d.Round(time.Millisecond), h.lease)
	}
	return nil
}

// lapse gives up the work of every record whose lease would lapse
// unrenewed: seven eighths of the lease since its last fence (the database
// counts from when that write arrived, later; the eighth is the margin for
// the database clock's view of it).
func (h *hold) lapse() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Elapsed()
	for id, m := range h.members {
		if d := now - m.fencedAt; d >= h.lease*7/8 && !m.released {
			h.loseLocked(id, fmt.Errorf("%w: not renewed for %s of the %s lease", ErrLeaseLost, d.Round(time.Millisecond), h.lease))
		}
	}
}

// keep renews the leases every third of the lease and gives up a record's
// work when its lease would lapse, until the hold ends.
func (h *hold) keep() {
	defer close(h.done)
	var failed bool
	for {
		h.lapse()
		h.mu.Lock()
		oldest := h.oldestLocked()
		h.mu.Unlock()
		wait := h.lease/3 - oldest
		if failed {
			// After a failed renewal, not at once again: a database that
			// fails fast would be asked in a loop.
			wait = max(wait, min(h.lease/32, h.lease*7/8-oldest))
		}
		wait = max(wait, time.Millisecond)
		fired := make(chan struct{})
		stop := h.clock.AfterFunc(wait, func() { close(fired) })
		select {
		case <-h.ctx.Done():
			stop()
			h.mu.Lock()
			for id := range h.members {
				h.loseLocked(id, fmt.Errorf("%w: %w", errStopped, context.Cause(h.ctx)))
			}
			h.mu.Unlock()
			return
		case <-fired:
		}
		h.mu.Lock()
		due := h.oldestLocked() >= h.lease/3
		h.mu.Unlock()
		failed = false
		if due {
			if err := h.renew(); err != nil && !errors.Is(err, ErrLeaseLost) {
				failed = true
				h.p.log.Warn("lease renewal failed; trying again", "err", err)
			}
		}
	}
}
