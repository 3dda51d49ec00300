// Command trashd archives an LMS's trashed files from S3 to the trash bucket
// (and on to Glacier). See the README for configuration and operations.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// main is the only place that touches signals and exits. The first SIGINT
// or SIGTERM cancels ctx: a pass stops claiming and lets its steps in flight
// finish. Then the handler is removed, so that a second signal ends the
// process at once (its leases lapse on their own).
// gcPercent is the garbage collector's target unless GOGC says otherwise.
// A pass allocates briskly (every S3 request through the SDK's pipeline)
// and keeps little: its live heap stays at some megabytes even with a million
// records pending, so a heap allowed to grow to five times that costs a few
// tens of megabytes and saves most of the collector's CPU.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
