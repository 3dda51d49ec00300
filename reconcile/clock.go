package reconcile

import "time"

var clockStart = time.Now()

// monotonic is the time since the process started, on Go's monotonic clock.
func monotonic() time.Duration { return time.Since(clockStart) }

// LeaseClock is what leases are timed on: the claim that starts a lease, the
// age of a fence, and the timers that renew a lease or give the work up when
// it would lapse. The Runner's default is BootClock with the timers of
// package time; a test moves a clock of its own by hand, so that a lease
// lapses when the test says and not after the test has waited for it.
type LeaseClock interface {
	// Elapsed reads the clock: it only moves forward, and counts through a
	// suspend (see Elapsed).
	Elapsed() time.Duration
	// AfterFunc calls f in its own goroutine once d has passed on this
	// clock, as time.AfterFunc does; stop keeps f from being called and
	// reports whether it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realTimers is an Elapsed clock with the timers of package time. Those do
// not count a suspend: a timer may fire late, and the hold then reads the
// lease's age on the clock, which does.
type realTimers struct{ elapsed Elapsed }

func (c realTimers) Elapsed() time.Duration { return c.elapsed() }

func (realTimers) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
