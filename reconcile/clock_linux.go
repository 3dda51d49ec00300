package reconcile

import (
	"syscall"
	"time"
	"unsafe"
)

// clockBoottime is CLOCK_BOOTTIME's id in <linux/time.h>; package syscall
// has the system call but not the constant.
const clockBoottime = 7

// BootClock reads CLOCK_BOOTTIME: monotonic, and unlike Go's monotonic
// clock (CLOCK_MONOTONIC) it keeps counting while the machine is suspended,
// so that a fence's age includes a suspend.
func BootClock() time.Duration {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockBoottime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		// Never fails on Linux 2.6.39 and later; fall back to the
		// monotonic clock rather than to nothing.
		return monotonic()
	}
	return time.Duration(ts.Nano())
}
