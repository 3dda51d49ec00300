package reconcile

import (
	"sync"
	"sync/atomic"
	"testing"
)

// A pool never runs more than n functions at once, Go waits for a free
// goroutine, GoIn counts in the caller's WaitGroup, and Wait waits for all.
func TestPoolBound(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		p := newPool(n)
		var running, most, done atomic.Int64
		gate := make(chan struct{})
		var mine sync.WaitGroup
		handed := make(chan struct{})
		go func() {
			defer close(handed)
			for i := range 10 {
				f := func() {
					r := running.Add(1)
					for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
					}
					<-gate
					running.Add(-1)
					done.Add(1)
				}
				if i%2 == 0 {
					p.GoIn(&mine, f)
				} else {
					p.Go(f)
				}
			}
		}()
		for range 10 {
			gate <- struct{}{} // one at a time: Go waits meanwhile
		}
		<-handed
		mine.Wait()
		p.Close()
		if want := int64(max(n, 1)); most.Load() > want {
			t.Errorf("newPool(%d): %d ran at once, want at most %d", n, most.Load(), want)
		}
		if done.Load() != 10 {
			t.Errorf("newPool(%d): Wait returned with %d of 10 done", n, done.Load())
		}
	}
}
