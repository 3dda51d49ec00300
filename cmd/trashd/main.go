// Command trashd archives an LMS's trashed files from S3 to the trash bucket
// (and on to Glacier). See the README for configuration and operations.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// A pass allocates briskly (every S3 request through the SDK's pipeline)
// and keeps little: its live heap stays at some megabytes even with a million
// records pending, so a heap allowed to grow to five times that costs a few
// tens of megabytes and saves most of the collector's CPU.
const gcPercent = 400

// main is the only place that touches signals and exits. The first SIGINT,
// SIGTERM or SIGHUP (a dropped SSH session) cancels ctx, naming the signal:
// a pass stops claiming, lets its steps in flight finish, releases its
// leases and records itself interrupted. Then SIGHUP is ignored and the
// handler removed, so that a second SIGINT or SIGTERM ends the process at
// once (its leases lapse on their own), while more SIGHUPs change nothing.
// A process started with SIGHUP ignored (nohup) keeps ignoring it.
//
// SIGPIPE is ignored: a write to a closed stdout or stderr (`trashd
// reconcile | head -3`) then fails with EPIPE instead of killing the
// process mid-pass, and outputs drop what they can no longer write.
func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 1)
	stopOn := []os.Signal{os.Interrupt, syscall.SIGTERM}
	// Started under nohup, SIGHUP stays ignored: Notify would undo that.
	if !signal.Ignored(syscall.SIGHUP) {
		stopOn = append(stopOn, syscall.SIGHUP)
	}
	signal.Notify(signals, stopOn...)
	go func() {
		sig := <-signals
		// A dropped SSH session sends more than one SIGHUP (the shell
		// passes its own on, the kernel hangs up the terminal's process
		// group): only a second SIGINT or SIGTERM ends the process at once.
		signal.Ignore(syscall.SIGHUP)
		signal.Stop(signals)
		cancel(fmt.Errorf("received %s", signalName(sig)))
	}()
	code := run(ctx, os.Args[1:], newOutput(os.Stdout), newOutput(os.Stderr))
	signal.Stop(signals)
	os.Exit(code)
}

// signalName is sig as operators write it: SIGTERM, SIGHUP.
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}
