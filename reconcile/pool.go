package reconcile

import "sync"

// pool is n goroutines that run the functions handed to them, at most n at
// once: the bound on objects in flight (Config.Concurrency) is a bound on
// requests to S3 and connections to the database. The goroutines live as
// long as the pool, so their stacks grow to the SDK's depth once, not once
// per request.
type pool struct {
	jobs    chan func()
	all     sync.WaitGroup // every function handed over
	workers sync.WaitGroup
}

// newPool returns a pool of n goroutines (1 when n is less).
func newPool(n int) *pool {
	p := &pool{jobs: make(chan func())}
	for range max(n, 1) {
		p.workers.Go(func() {
			for f := range p.jobs {
				f()
			}
		})
	}
	return p
}

// Go runs f on one of the pool's goroutines, first waiting while all n are
// busy.
func (p *pool) Go(f func()) { p.GoIn(nil, f) }

// GoIn is Go that also counts f in wg, for a caller that waits for some of
// the pool's functions and not all.
func (p *pool) GoIn(wg *sync.WaitGroup, f func()) {
	p.all.Add(1)
	if wg != nil {
		wg.Add(1)
	}
	p.jobs <- func() {
		defer p.all.Done()
		if wg != nil {
			defer wg.Done()
		}
		f()
	}
}

// Wait waits until every function handed over so far has returned.
func (p *pool) Wait() { p.all.Wait() }

// Close waits as Wait does and ends the pool's goroutines: nothing may be
// handed over after it.
func (p *pool) Close() {
	p.all.Wait()
	close(p.jobs)
	p.workers.Wait()
}
