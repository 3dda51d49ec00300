package reconcile

import (
	"time"

	"golang.org/x/sys/unix"
)

// BootClock reads CLOCK_BOOTTIME: monotonic, and unlike Go's monotonic
// clock (CLOCK_MONOTONIC) it keeps counting while the machine is suspended,
// so that a fence's age includes a suspend.
func BootClock() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		// Never fails on Linux 2.6.39 and later; fall back to the
		// monotonic clock rather than to nothing.
		return monotonic()
	}
	return time.Duration(ts.Nano())
}
