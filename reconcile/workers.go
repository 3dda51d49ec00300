package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// moveAll claims due records as workers become idle, so that a claimed
// record starts at once and its lease stays fresh. It ends when nothing is due and nothing is in flight (an object
// retried early in the pass comes back if its backoff ends first), or when
// the pass is asked to stop.
func (p *pass) moveAll() error {
	work := make(chan claimed)
	finished := make(chan struct{}, p.r.cfg.Concurrency)
	var (
		wg       sync.WaitGroup
		inFlight atomic.Int64
	)
	for range p.r.cfg.Concurrency {
		wg.Go(func() {
			for c := range work {
				ev := p.moveObject(c.rec, c.at)
				p.outage.observe(ev)
				p.progress.add(ev)
				p.r.events(ev)
				inFlight.Add(-1)
				select {
				case finished <- struct{}{}:
				default:
				}
			}
		})
	}
	var claimErr error
	for !p.stopping() && !p.outage.tripped() {
		// Claim only for idle workers, so that a claimed record does not
		// wait behind busy ones while its lease runs down; and only once
		// half of them are idle, so that a claim is worth its transaction.
		idle := p.r.cfg.Concurrency - int(inFlight.Load())
		if idle < max(1, p.r.cfg.Concurrency/2) && inFlight.Load() > 0 {
			select {
			case <-finished:
			case <-p.stop.Done():
			}
			continue
		}
		at := p.r.elapsed()
		recs, err := p.r.store.ClaimBatch(p.stop, p.r.cfg.Owner, idle, p.r.cfg.Lease)
		if err != nil {
			if !p.stopping() {
				claimErr = fmt.Errorf("claim records: %w", err)
			}
			break
		}
		if len(recs) == 0 {
			if inFlight.Load() == 0 {
				break
			}
			select {
			case <-finished:
			case <-p.stop.Done():
			}
			continue
		}
		p.progress.touch()
		inFlight.Add(int64(len(recs)))
		if sent := dispatch(p.stop, work, recs, at); sent < len(recs) {
			p.releaseAll(recs[sent:])
			inFlight.Add(-int64(len(recs) - sent))
		}
	}
	close(work)
	wg.Wait()
	return cmp.Or(claimErr, p.outage.err())
}

// claimed is a record just claimed, with the time the claim was sent (on
// the pass's elapsed clock): the claim is the first fence of its lease.
type claimed struct {
	rec Record
	at  time.Duration
}

// dispatch hands recs to the workers until ctx is done and returns how many
// it handed over.
func dispatch(ctx context.Context, work chan<- claimed, recs []Record, at time.Duration) int {
	for i, rec := range recs {
		select {
		case work <- claimed{rec, at}:
		case <-ctx.Done():
			return i
		}
	}
	return len(recs)
}

// releaseAll gives back the leases of records claimed but never started, so
// another host can take them at once.
func (p *pass) releaseAll(recs []Record) {
	ctx, cancel := context.WithTimeout(p.work, 5*time.Second)
	defer cancel()
	for _, rec := range recs {
		ev := Event{Record: rec, Outcome: OutcomeInterrupted, Err: errStopped}
		if err := p.r.store.Record(ctx, rec, Step{To: rec.State, Error: rec.LastError, Release: true}); err != nil {
			p.log.Warn("release lease", "object_id", rec.ID, "err", err)
		}
		p.progress.add(ev)
		p.r.events(ev)
	}
}
