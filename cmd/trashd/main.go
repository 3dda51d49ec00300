// Command trashd archives an LMS's trashed files from S3 to the trash bucket
// (and on to Glacier). See the README for configuration and operations.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// main is the only place that touches signals and exits. The first SIGINT
// or SIGTERM cancels ctx: a pass stops claiming and lets its steps in flight
// finish. Then the handler is removed, so that a second signal ends the
// process at once (its leases lapse on their own).
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
