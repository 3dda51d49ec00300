package main_test

import (
	"syscall"
	"testing"
	"time"

	"trashd/internal/testworld"
)

// A dropped SSH session hangs up a foreground `trashd reconcile` twice:
// bash passes SIGHUP on to its jobs, then, as the session leader exits,
// the kernel sends SIGHUP to the terminal's foreground process group. The
// second one must not end the pass that the first one is stopping
// gracefully (leases released, the run recorded interrupted).
func TestReviewReconcileTwoSIGHUPs(t *testing.T) {
	t.Parallel()
	const n = 20
	w := newHeldWorld(t, n)
	v := newVictim()
	v.start(t, w.vars, "reconcile")
	release := w.awaitCopies(t, 2, v.out.String)
	testworld.Must(t, v.cmd.Process.Signal(syscall.SIGHUP))
	time.Sleep(200 * time.Millisecond) // the shell's hangup, then the kernel's
	testworld.Must(t, v.cmd.Process.Signal(syscall.SIGHUP))
	release()
	v.wait(t, time.Minute)
	if v.exitCode() != 1 {
		t.Errorf("reconcile after two SIGHUPs: exit %d, want 1 (interrupted gracefully)\n%s", v.exitCode(), v.out.String())
	}
	w.checkStoppedGracefully(t, n)
}
