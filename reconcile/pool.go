package reconcile

import "sync"

// pool runs functions each in a goroutine of its own, at most n at once: the
// bound on objects in flight (Config.Concurrency) is a bound on requests to
// S3 and connections to the database.
type pool struct {
	slots chan struct{}
	wg    sync.WaitGroup
}

// newPool returns a pool of n goroutines (1 when n is less).
func newPool(n int) *pool { return &pool{slots: make(chan struct{}, max(n, 1))} }

// Go runs f in a goroutine, first waiting while n functions are running.
func (p *pool) Go(f func()) {
	p.slots <- struct{}{}
	p.wg.Go(func() {
		defer func() { <-p.slots }()
		f()
	})
}

// Wait waits until every function started has returned.
func (p *pool) Wait() { p.wg.Wait() }
