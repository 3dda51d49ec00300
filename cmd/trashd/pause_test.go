package main_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/reconcile"
)

// TestPausedHostDeletesNothing: host A records its verified copy, and is
// paused (SIGSTOP: a VM frozen, a laptop suspended, a long GC stop) before
// it hears back. Its lease lapses; the LMS un-trashes the file; host B takes
// the record over and restores it, removing the trash copy because the
// source is still there. When A wakes up it must not delete the source: its
// fence is long stale, so the only copy of the file is that source.
//
// Safety rule 1 says the fence before a delete must be fresh. Without that
// check A deletes the source on waking, and the file is lost.
//
// The scenario needs A paused while its copied write is unanswered. Should
// A have sent its delete before the pause took hold (the harness cannot
// rule out every scheduling of two processes), the scenario did not happen:
// what A did is checked all the same (nothing lost), and the scenario is
// played again in a fresh world, up to three times.
func TestPausedHostDeletesNothing(t *testing.T) {
	t.Parallel()
	for try := 1; ; try++ {
		early := pausedHost(t)
		if early == 0 {
			return
		}
		t.Logf("attempt %d: A sent %d delete(s) of its source before it was paused, so it was not paused with its copied write unanswered; again in a fresh world", try, early)
		if try == 3 {
			t.Fatalf("in %d attempts A was never paused with its copied write unanswered", try)
		}
	}
}

// pausedHost plays the scenario once and checks what A did after waking;
// it returns the number of source deletes A sent before it was paused (then
// the scenario did not happen as meant, and only the end state is checked).
func pausedHost(t *testing.T) (early int32) {
	env := testworld.New(t)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	const key = "course-7/paused/host.pdf"
	id := env.AddFile(t, key, testworld.Body(key, 4000), true, 0)

	tap, dbp := newS3Tap(t), newDBProxy(t, env)
	var (
		a           = newVictim()
		woken       atomic.Bool // A was sent SIGCONT
		heldCopied  atomic.Bool
		heldOnWake  atomic.Bool
		nextOnce    sync.Once
		nextRequest = make(chan struct{}) // A did something more after its first statement on waking
		paused      atomic.Bool           // A was sent SIGSTOP
		deletes     atomic.Int32          // sent after A was woken
		before      atomic.Int32          // sent before A was paused
		reqs        syncBuffer            // every S3 request, and when
		start       = time.Now()
	)
	signalNext := func() {
		if heldOnWake.Load() {
			nextOnce.Do(func() { close(nextRequest) })
		}
	}
	sourceDelete := "DELETE DeleteObject " + env.Source + "/" + key
	tap.setRule(func(req string) tapAction {
		fmt.Fprintf(&reqs, "%7.3fs paused=%v woken=%v %s\n", time.Since(start).Seconds(), paused.Load(), woken.Load(), req)
		if req == sourceDelete {
			if woken.Load() {
				deletes.Add(1)
			} else {
				before.Add(1)
			}
		}
		if woken.Load() {
			// Once S3 has answered: a lost lease noticed meanwhile
			// cannot take back a request the server has carried out.
			return tapAction{After: signalNext}
		}
		return tapAction{}
	})
	dbp.SetRule(func(c dbtest.Command) dbtest.Action {
		if woken.Load() {
			// The first write A sends on waking (its background
			// lease renewal, or a fence before the delete) is slow to
			// answer, until A sends another command or S3 has answered
			// another request: whether A deletes must not depend on which
			// of its goroutines hears first that the lease is gone.
			if c.Write() && heldOnWake.CompareAndSwap(false, true) {
				t.Logf("A's first write on waking, answered late: %s", c)
				return dbtest.Action{Hold: true}
			}
			signalNext()
			return dbtest.Action{}
		}
		if c.Write() && strings.Contains(c.SQL, "state = 'copied'") && heldCopied.CompareAndSwap(false, true) {
			return dbtest.Action{Hold: true}
		}
		return dbtest.Action{}
	})

	a.start(t, throughProxies(crashVars(env), tap, dbp), "reconcile")
	var copied *dbtest.HeldResponse
	select {
	case copied = <-dbp.Held():
	case <-a.exited:
		t.Fatalf("A finished without recording a copy:\n%s", a.out.String())
	case <-time.After(time.Minute):
		t.Fatalf("A recorded no copy within a minute:\n%s", a.out.String())
	}
	// The response reached the proxy: the write is committed.
	if got := env.States(t); got[reconcile.StateCopied] != 1 {
		t.Fatalf("states %v while A's copied write is held, want copied", got)
	}
	testworld.Must(t, a.cmd.Process.Signal(syscall.SIGSTOP))
	paused.Store(true)
	copied.Release() // in A's socket; A reads it only when it runs again
	awaitLeasesLapsed(t, env.DB, 30*time.Second)

	env.Untrash(t, id)
	b := trashd(t, crashVars(env), "reconcile")
	if b.code != 0 {
		t.Errorf("B: exit %d\n%s\n%s", b.code, b.stdout, b.stderr)
	}
	if got := env.States(t); got[reconcile.StateRestored] != 1 {
		t.Errorf("states %v after B, want B to have restored the record", got)
	}

	woken.Store(true)
	go func() {
		var h *dbtest.HeldResponse
		select {
		case h = <-dbp.Held():
		case <-a.exited:
			return
		}
		select {
		case <-nextRequest:
		case <-a.exited:
		case <-time.After(5 * time.Second):
			// A sent nothing else: let it hear the answer.
		}
		h.Release()
	}()
	testworld.Must(t, a.cmd.Process.Signal(syscall.SIGCONT))
	a.wait(t, time.Minute)
	t.Logf("A exited with %d; its S3 requests:\n%s", a.exitCode(), reqs.String())

	if n := deletes.Load(); n != 0 {
		t.Errorf("A, woken with a stale fence and no lease, sent %d DeleteObject for s3://%s/%s after B had restored it and removed the trash copy: the file is lost",
			n, env.Source, key)
	}
	if got := env.States(t); got[reconcile.StateRestored] != 1 {
		t.Errorf("states %v after A woke, want restored", got)
	}
	env.CheckInvariant(t)
	if t.Failed() || before.Load() != 0 {
		t.Logf("A's output:\n%s", a.out.String())
	}
	return before.Load()
}
