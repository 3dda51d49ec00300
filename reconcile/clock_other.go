//go:build !linux

package reconcile

import "time"

// BootClock is Go's monotonic clock where CLOCK_BOOTTIME does not exist: it
// may not count a suspend.
func BootClock() time.Duration { return monotonic() }
