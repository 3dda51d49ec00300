package reconcile

import "time"

var clockStart = time.Now()

// monotonic is the time since the process started, on Go's monotonic clock.
func monotonic() time.Duration { return time.Since(clockStart) }
