package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// moveAll claims due records as workers become idle, so that a claimed
// record starts at once and its lease stays fresh. It ends when nothing is due and nothing is in flight (an object
// retried early in the pass comes back if its backoff ends first), or when
// the pass is asked to stop.
func (p *pass) moveAll() error {
	if f, ok := p.fastPath(); ok {
		return p.moveAllBatched(f)
	}
	workers := newPool(p.r.cfg.Concurrency)
	defer workers.Close()
	finished := make(chan struct{}, p.r.cfg.Concurrency)
	var inFlight atomic.Int64
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
		at := p.r.leases.Elapsed()
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
		for i, rec := range recs {
			if p.stopping() {
				p.releaseAll(recs[i:])
				inFlight.Add(-int64(len(recs) - i))
				break
			}
			// Never waits for long: a worker counted idle is one that
			// has returned or is returning.
			workers.Go(func() {
				ev := p.moveObject(rec, at)
				p.report(ev)
				inFlight.Add(-1)
				select {
				case finished <- struct{}{}:
				default:
				}
			})
		}
	}
	workers.Wait()
	return cmp.Or(claimErr, p.outage.err())
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
