package reconcile_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// holdCopy has w hold the first CopyObject until the returned release is
// called (at the latest when the test ends); arrived is closed when it
// comes.
func holdCopy(t *testing.T, w *faultWorld) (arrived <-chan struct{}, release func()) {
	t.Helper()
	come, gate := make(chan struct{}), make(chan struct{})
	var seen, opened sync.Once
	w.setRule(func(req *http.Request) s3test.Fault {
		// The move's copy, not a probe's: a probe held would go on after
		// the pass, writing to the buckets while the test removes them.
		if s3test.Operation(req) == "CopyObject" && !s3test.IsProbe(req) {
			seen.Do(func() { close(come) })
			return s3test.Fault{Release: gate}
		}
		return s3test.Fault{}
	})
	release = func() { opened.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return come, release
}

// startHeld starts a pass of a runner with the shortest lease and waits for
// its copy to arrive at the fault.
func startHeld(t *testing.T, w *faultWorld, arrived <-chan struct{}, opts ...reconcile.Option) *reconcile.Handle {
	t.Helper()
	return startHeldLease(t, w, arrived, reconcile.MinLease, opts...)
}

// startHeldLease is startHeld with a lease of lease.
func startHeldLease(t *testing.T, w *faultWorld, arrived <-chan struct{}, lease time.Duration, opts ...reconcile.Option) *reconcile.Handle {
	t.Helper()
	cfg := w.Config("owner-a")
	cfg.Lease = lease
	h, err := w.Runner(t, cfg, opts...).Start(t.Context(), reconcile.TriggerManual)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	select {
	case <-arrived:
	case <-h.Done():
		t.Fatal("the pass ended before its copy was sent")
	case <-time.After(10 * time.Second):
		t.Fatal("no copy was sent within 10 s")
	}
	return h
}

// The lease is renewed while a step takes longer than the lease: another
// host running passes all the while takes nothing, and the first worker
// finishes the move, deleting the source exactly once.
func TestRuleLeaseRenewedDuringLongCopy(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	id := w.AddFile(t, "long/copy.bin", []byte("a copy that takes long"), true, 0)
	arrived, release := holdCopy(t, w)
	// A lease of an hour: the real time a loaded machine takes between
	// the steps below is nothing beside it, and only the steps age it.
	const lease = time.Hour
	clock := newHandClock()
	h := startHeldLease(t, w, arrived, lease, reconcile.WithLeaseClock(clock))

	cfg := w.Config("owner-b")
	cfg.Lease = reconcile.MinLease
	other := w.RunnerWithoutFaults(t, cfg)
	// Two and a half leases go by, a third of a lease at a time, on both
	// clocks: the database's (the lease is made a third older, as if that
	// long had passed) and the worker's (which then fires its renewal).
	// Without renewals the lease lapses after three thirds, and another
	// host's pass takes the record.
	const third = lease / 3
	for i := range 8 {
		clock.waitForTimers(t, 1, h.Done()) // the renewal is set: the one before it is sent
		select {
		case <-h.Done():
			t.Fatalf("the pass ended %d thirds of a lease into the held copy", i)
		default:
		}
		execBehind(t, w.Env, "UPDATE trash_objects SET lease_expires_at = lease_expires_at - INTERVAL ? MICROSECOND WHERE lms_id = ?",
			third.Microseconds(), id)
		if sum := run(t, other); sum.Counts != (reconcile.Counts{}) {
			t.Fatalf("another host's pass %d thirds of a lease into the copy: %+v; want nothing claimed while the first worker renews its lease",
				i, sum.Counts)
		}
		var live bool
		if err := w.DB.QueryRow("SELECT lease_owner = 'owner-a' AND lease_expires_at > NOW(6) FROM trash_objects WHERE lms_id = ?", id).Scan(&live); err != nil || !live {
			t.Fatalf("%d thirds of a lease into the copy the first worker's lease is not live (%v)", i, err)
		}
		clock.advance(third)
	}
	release()
	sum, err := h.Wait()
	if err != nil || sum.Counts.Moved != 1 {
		t.Fatalf("first worker: %+v, %v; want the move finished", sum.Counts, err)
	}
	if n := w.deletes(w.Source, "long/copy.bin"); n != 1 {
		t.Errorf("%d deletes of the source sent, want exactly 1", n)
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateInTrash {
		t.Errorf("record %s, want in_trash", rec.State)
	}
	w.CheckInvariant(t)
}

// A lease taken over while a step is in flight stops the move at once: the
// step is abandoned, nothing is deleted and nothing recorded, and the record
// is left to its new holder.
func TestRuleLostLeaseStopsMove(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := []byte("taken over mid-copy")
	id := w.AddFile(t, "lost/lease.bin", body, true, 0)
	arrived, release := holdCopy(t, w)
	clock := newHandClock()
	h := startHeld(t, w, arrived, reconcile.WithLeaseClock(clock))

	// Another host takes the record over, with a lease of its own.
	execBehind(t, w.Env, `UPDATE trash_objects SET lease_owner = 'owner-b', lease_token = 'stolen-by-another-host',
		lease_expires_at = NOW(6) + INTERVAL 1 HOUR WHERE lms_id = ?`, id)
	// The next renewal, a third of the lease on, finds the lease gone.
	clock.waitForTimers(t, 1, h.Done())
	clock.advance(reconcile.MinLease / 3)
	select {
	case <-h.Done():
	case <-time.After(3 * time.Second):
		t.Error("the copy was still in flight 3 s after the renewal that found the lease lost: the loss did not stop the move")
	}
	release()
	sum, err := h.Wait()
	if err != nil || sum.Counts.Interrupted != 1 || sum.Counts.Moved != 0 {
		t.Errorf("first worker: %+v, %v; want the object interrupted", sum.Counts, err)
	}
	if n := w.deletes(w.Source, "lost/lease.bin"); n != 0 {
		t.Errorf("%d deletes of the source sent after the lease was lost, want none", n)
	}
	rec := ruleRecord(t, w.Env, id)
	if rec.Token != "stolen-by-another-host" || rec.Owner != "owner-b" || rec.State != reconcile.StatePending {
		t.Errorf("record %+v: the first worker wrote after losing its lease", rec)
	}
	// The fast path names the trash key only with the verified copy.
	wantNoObject(t, w.Env, w.Trash, w.Config("x").TrashKeys.Render(id, w.Source, "lost/lease.bin"), "the abandoned copy")
	wantObject(t, w.Env, w.Source, "lost/lease.bin", body, "the source")
	w.CheckInvariant(t)
}
