package main_test

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// A dropped SSH session hangs up a foreground `trashd reconcile` twice:
// bash passes SIGHUP on to its jobs, then, as the session leader exits,
// the kernel sends SIGHUP to the terminal's foreground process group. The
// second one must not end the pass that the first one is stopping
// gracefully (leases released, the run recorded interrupted).
func TestReconcileTwoSIGHUPs(t *testing.T) {
	t.Parallel()
	const n = 20
	w := newHeldWorld(t, n)
	v := newVictim()
	v.start(t, w.vars, "reconcile")
	release := w.awaitCopies(t, 2, v.out.String)
	testworld.Must(t, v.cmd.Process.Signal(syscall.SIGHUP))
	// The second hangup comes once the first was handled (the pass says it
	// is stopping), as the kernel's follows the shell's; sent at once, it
	// would only meet the first one still queued, which proves less.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(v.out.String(), "stopping: no new claims") {
		if time.Now().After(deadline) {
			t.Fatalf("reconcile never said it was stopping after SIGHUP\n%s", v.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	testworld.Must(t, v.cmd.Process.Signal(syscall.SIGHUP))
	release()
	v.wait(t, time.Minute)
	if v.exitCode() != 1 {
		t.Errorf("reconcile after two SIGHUPs: exit %d, want 1 (interrupted gracefully)\n%s", v.exitCode(), v.out.String())
	}
	w.checkStoppedGracefully(t, n)
}

// `nohup trashd reconcile`: the operator asked for the pass to outlive the
// session, so a SIGHUP changes nothing and the pass moves everything.
func TestReconcileUnderNohupIgnoresSIGHUP(t *testing.T) {
	t.Parallel()
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		t.Fatalf("nohup (coreutils) is not on PATH: %v", err)
	}
	const n = 12
	w := newHeldWorld(t, n)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := command(ctx, w.vars, "reconcile")
	cmd.Args = append([]string{nohup}, cmd.Args...)
	cmd.Path = nohup
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	testworld.Must(t, cmd.Start())
	release := w.awaitCopies(t, 2, out.String)
	testworld.Must(t, cmd.Process.Signal(syscall.SIGHUP))
	testworld.Must(t, cmd.Process.Signal(syscall.SIGHUP))
	release()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("nohup trashd reconcile after SIGHUP: %v, want exit 0\n%s", err, out.String())
	}
	if got := w.env.States(t)[reconcile.StateInTrash]; got != n {
		t.Errorf("%d of %d moved after an ignored SIGHUP, want all\n%s", got, n, out.String())
	}
	w.env.CheckInvariant(t)
}
