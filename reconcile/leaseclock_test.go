package reconcile_test

import (
	"sync"
	"testing"
	"time"
)

// handClock is a reconcile.LeaseClock that moves only when the test
// advances it: a lease lapses, or comes due for renewal, at the moment the
// test chooses, and no test waits for a lease to run down.
type handClock struct {
	mu      sync.Mutex
	now     time.Duration
	timers  map[*handTimer]struct{}
	changed chan struct{} // closed, and replaced, whenever a timer is set
}

type handTimer struct {
	at time.Duration
	f  func()
}

func newHandClock() *handClock {
	return &handClock{now: time.Hour, timers: map[*handTimer]struct{}{}, changed: make(chan struct{})}
}

func (c *handClock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *handClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	t := &handTimer{at: c.now + d, f: f}
	c.timers[t] = struct{}{}
	close(c.changed)
	c.changed = make(chan struct{})
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, pending := c.timers[t]
		delete(c.timers, t)
		return pending
	}
}

// advance moves the clock on by d and fires the timers that are due.
func (c *handClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	var due []func()
	for t := range c.timers {
		if t.at <= c.now {
			due = append(due, t.f)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// waitForTimers waits until n timers are set and not yet fired (the lease
// holders are waiting on the clock), or until unless is closed. It fails the
// test after 10 s.
func (c *handClock) waitForTimers(t *testing.T, n int, unless <-chan struct{}) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		pending, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if pending >= n {
			return
		}
		select {
		case <-changed:
		case <-unless:
			return
		case <-deadline:
			t.Fatalf("%d timers set on the lease clock after 10 s, want %d", pending, n)
		}
	}
}
