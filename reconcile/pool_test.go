package reconcile

import (
	"sync/atomic"
	"testing"
)

// A pool never runs more than n functions at once, Go waits for a free
// goroutine, and Wait waits for all of them.
func TestPoolBound(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		p := newPool(n)
		var running, most, done atomic.Int64
		gate := make(chan struct{})
		for range 10 {
			p.Go(func() {
				r := running.Add(1)
				for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
				}
				<-gate
				running.Add(-1)
				done.Add(1)
			})
			if len(p.slots) == cap(p.slots) {
				// Full: let one out, so that the next Go can start.
				gate <- struct{}{}
			}
		}
		close(gate)
		p.Wait()
		if want := int64(max(n, 1)); most.Load() > want {
			t.Errorf("newPool(%d): %d ran at once, want at most %d", n, most.Load(), want)
		}
		if done.Load() != 10 {
			t.Errorf("newPool(%d): Wait returned with %d of 10 done", n, done.Load())
		}
	}
}
