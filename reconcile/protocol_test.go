package reconcile_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// The rules of the one move protocol (movebatch.go, move.go, delete.go),
// each through the real servers, each failing when its line is broken. A
// batch of one and a batch of many run the same code; where a rule is kept
// on the way a record goes on alone (a resumed record), it is tried there
// too.

// The LMS is asked right before the delete: a row untrashed after the
// copy was recorded keeps its object, and no delete of it is sent — on
// the batch's phases and on a record resumed alone alike.
func TestProtocolAsksTheLMSRightBeforeTheDelete(t *testing.T) {
	t.Parallel()
	for _, resumed := range []bool{false, true} {
		name := map[bool]string{false: "batch", true: "resumed"}[resumed]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			body := testworld.Body(name, 500)
			id := w.AddFile(t, "kept/doc.pdf", body, true, 0)
			other := w.AddFile(t, "moved/doc.pdf", testworld.Body(name+"o", 500), true, 0)
			key := w.Config("x").TrashKeys.Render(id, w.Source, "kept/doc.pdf")
			var untrashed atomic.Bool
			untrash := func() {
				if untrashed.CompareAndSwap(false, true) {
					w.Untrash(t, id)
				}
			}
			if resumed {
				// First pass: copied, but the delete fails; the record
				// stays copied and is resumed alone in the next pass.
				w.setRule(s3test.When(s3test.Deletes(w.Source, "kept/doc.pdf"), serviceUnavailable))
				run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
				if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateCopied {
					t.Fatalf("after the first pass %s (%q), want copied", rec.State, rec.LastError)
				}
				makeDue(t, w.Env)
			}
			before := w.deletes(w.Source, "kept/doc.pdf")
			w.setRule(func(r *http.Request) s3test.Fault {
				// The copy is made (batch) or checked (resumed), the
				// record copied: now the user restores the file.
				if request("CopyObject", w.Trash, key)(r) || (resumed && request("HeadObject", w.Trash, key)(r)) {
					untrash()
				}
				return s3test.Fault{}
			})
			sum := run(t, w.Runner(t, w.Config("owner-a")))
			if !untrashed.Load() {
				t.Fatalf("the row was never untrashed: the fault did not fire (requests %v)", w.ft.Requests())
			}
			if n := w.deletes(w.Source, "kept/doc.pdf") - before; n != 0 {
				t.Errorf("%d deletes of an object whose row was untrashed before the delete, want none", n)
			}
			if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateShared {
				t.Errorf("record %s (%q), want shared: an untrashed row names the object", rec.State, rec.LastError)
			}
			if rec := ruleRecord(t, w.Env, other); rec.State != reconcile.StateInTrash {
				t.Errorf("the other record %s (%q), want in_trash", rec.State, rec.LastError)
			}
			wantObject(t, w.Env, w.Source, "kept/doc.pdf", body, "the untrashed file")
			if sum.Counts.Shared != 1 {
				t.Errorf("counts %+v: want one shared", sum.Counts)
			}
			w.CheckInvariant(t)
		})
	}
}

// A row that comes to name an object while its source is being deleted (a
// content-addressed LMS storing the same file again, after the last look)
// gets the object back at once, from the verified trash copy, and the
// record says the object is shared. Without the look after the delete the
// new row would name nothing.
func TestProtocolRowNamingTheObjectAsItIsDeletedGetsItBack(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		t.Run(map[int]string{1: "one", 3: "batch"}[n], func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			body := testworld.Body("again", 700)
			id := w.AddFile(t, "cas/ab12", body, true, 0)
			for i := 1; i < n; i++ {
				w.AddFile(t, "cas/other"+string(rune('a'+i)), testworld.Body("x"+string(rune('a'+i)), 300), true, 0)
			}
			var newRow atomic.Int64
			w.setRule(func(r *http.Request) s3test.Fault {
				if s3test.Deletes(w.Source, "cas/ab12")(r) && newRow.Load() == 0 {
					// The LMS stores the same file again for another
					// user, as the delete goes out.
					newRow.Store(w.AddSharedRow(t, id, false))
				}
				return s3test.Fault{}
			})
			run(t, w.Runner(t, w.Config("owner-a")))
			if newRow.Load() == 0 {
				t.Fatal("no delete of the source was sent")
			}
			rec := ruleRecord(t, w.Env, id)
			if rec.State != reconcile.StateShared {
				t.Errorf("record %s (%q), want shared with the new row", rec.State, rec.LastError)
			}
			var sharedWith int64
			testworld.Must(t, w.DB.QueryRow("SELECT COALESCE(shared_with, 0) FROM trash_objects WHERE lms_id = ?", id).Scan(&sharedWith))
			if sharedWith != newRow.Load() {
				t.Errorf("shared_with %d, want the new row %d", sharedWith, newRow.Load())
			}
			wantObject(t, w.Env, w.Source, "cas/ab12", body, "the object the new row names")
			wantObject(t, w.Env, w.Trash, rec.TrashKey, body, "the verified trash copy")
			w.CheckInvariant(t)
		})
	}
}

// A record of an object whose source another record (of any id) is
// deleting right now — between its delete and its in_trash — never settles
// on missing, and on a versioned bucket never takes the older version made
// current for its file: it waits, and then shares that record's copy.
func TestProtocolNeverMissingWhileAnotherRecordOfTheObjectIsInFlight(t *testing.T) {
	t.Parallel()
	for _, versioned := range []bool{false, true} {
		t.Run(map[bool]string{false: "unversioned", true: "versioned"}[versioned], func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			if versioned {
				s3test.EnableVersioning(t, w.SDK, w.Source)
				s3test.PutObject(t, w.SDK, w.Source, "shared/file.bin", []byte("the older version"))
			}
			body := testworld.Body("in flight", 600)
			low := w.AddFile(t, "shared/file.bin", body, true, 0)
			high := w.AddSharedRow(t, low, true)
			// Both are discovered; the lower id's record is shared, its
			// recheck not due (as when the last live row naming the object
			// was trashed since), so the higher id moves the object.
			r := w.Runner(t, w.Config("owner-a"))
			_, err := w.Store.RecordTrashed(t.Context(), []reconcile.TrashedRow{
				{LMSID: low, Bucket: w.Source, Key: "shared/file.bin"}, {LMSID: high, Bucket: w.Source, Key: "shared/file.bin"}})
			testworld.Must(t, err)
			_, err = w.DB.Exec("UPDATE trash_objects SET state = 'shared', next_attempt_at = NOW(6) + INTERVAL 1 HOUR WHERE lms_id = ?", low)
			testworld.Must(t, err)
			var nested atomic.Bool
			var lowState atomic.Value
			w.setRule(func(req *http.Request) s3test.Fault {
				if !s3test.Deletes(w.Source, "shared/file.bin")(req) || !nested.CompareAndSwap(false, true) {
					return s3test.Fault{}
				}
				return s3test.Fault{EditResponse: func(*http.Response) {
					// The source is deleted, its record not yet in_trash:
					// now the lower id's move starts, on another host.
					_, err := w.DB.Exec("UPDATE trash_objects SET next_attempt_at = NOW(6) WHERE lms_id = ?", low)
					testworld.Must(t, err)
					run(t, w.RunnerWithoutFaults(t, w.Config("owner-b")))
					lowState.Store(ruleRecord(t, w.Env, low).State)
				}}
			})
			run(t, r)
			if !nested.Load() {
				t.Fatal("the higher id's delete was never sent")
			}
			if got := lowState.Load(); got == reconcile.StateMissing || got == reconcile.StateInTrash && versioned {
				t.Errorf("the lower id's record went %s while the other's move was between its delete and in_trash", got)
			}
			// Then the lower id shares the copy.
			makeDue(t, w.Env)
			run(t, w.RunnerWithoutFaults(t, w.Config("owner-b")))
			lr, hr := ruleRecord(t, w.Env, low), ruleRecord(t, w.Env, high)
			if lr.State != reconcile.StateInTrash || hr.State != reconcile.StateInTrash || lr.TrashKey != hr.TrashKey {
				t.Errorf("records %s at %q and %s at %q: want both in_trash, sharing one copy", lr.State, lr.TrashKey, hr.State, hr.TrashKey)
			}
			wantObject(t, w.Env, w.Trash, hr.TrashKey, body, "the shared trash copy")
			if versioned {
				// The invariant would take the older version at the key
				// for a changed file: checked by hand above.
				wantObject(t, w.Env, w.Source, "shared/file.bin", []byte("the older version"), "the older version, current again")
				return
			}
			w.CheckInvariant(t)
		})
	}
}

// noRetry is cfg with retries an hour away: a failed attempt stays as it
// ended, for the next pass to resume.
func noRetry(cfg reconcile.Config) reconcile.Config {
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	return cfg
}

// A record whose trash key and source were lost (a failover to a replica
// that lost committed writes, a dump restored) still finds the copy trashd
// made for it at the key its life renders, before it would be missing: the
// copy is kept as the row's, with a note when nothing proves it.
func TestProtocolLostTrashKeyIsLookedAtBeforeMissing(t *testing.T) {
	t.Parallel()
	for _, identity := range []bool{false, true} {
		t.Run(map[bool]string{false: "nothing recorded", true: "source recorded"}[identity], func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			body := testworld.Body("lost", 800)
			id := w.AddFile(t, "lost/writes.txt", body, true, 0)
			w.setRule(s3test.When(s3test.Deletes(w.Source, "lost/writes.txt"), serviceUnavailable))
			run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
			rec := ruleRecord(t, w.Env, id)
			if rec.State != reconcile.StateCopied {
				t.Fatalf("after the first pass %s (%q), want copied", rec.State, rec.LastError)
			}
			// The delete did land after all, and the database lost the
			// record's writes since discovery.
			deleteBehind(t, w.Env, w.Source, "lost/writes.txt")
			lost := "state = 'pending', trash_key = NULL, trash_bucket = NULL, trash_etag = NULL, trash_size = NULL, trash_checksum = NULL, copied_at = NULL"
			if !identity {
				lost += ", source_etag = NULL, source_size = NULL, source_checksum = NULL, source_version = NULL, source_seen_at = NULL"
			}
			_, err := w.DB.Exec("UPDATE trash_objects SET "+lost+", next_attempt_at = NOW(6) WHERE lms_id = ?", id)
			testworld.Must(t, err)
			w.setRule(nil)
			run(t, w.Runner(t, w.Config("owner-a")))
			got := ruleRecord(t, w.Env, id)
			if got.State != reconcile.StateInTrash || got.TrashKey != rec.TrashKey {
				t.Fatalf("record %s at %q (%q), want in_trash at %q", got.State, got.TrashKey, got.LastError, rec.TrashKey)
			}
			if unproven := got.LastError != ""; unproven == identity {
				t.Errorf("note %q: want one exactly when nothing recorded proves the copy", got.LastError)
			}
			wantObject(t, w.Env, w.Trash, got.TrashKey, body, "the copy")
			w.CheckInvariant(t)
		})
	}
}

// A record whose `copied` write finds its lease taken over sends no delete:
// the write is the fence.
func TestProtocolCopiedWriteLostLeaseDeletesNothing(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	stolen := w.AddFile(t, "stolen.bin", testworld.Body("stolen", 400), true, 0)
	kept := w.AddFile(t, "kept.bin", testworld.Body("kept", 400), true, 0)
	key := w.Config("x").TrashKeys.Render(stolen, w.Source, "stolen.bin")
	w.setRule(func(r *http.Request) s3test.Fault {
		if request("CopyObject", w.Trash, key)(r) {
			// Another host took the record over while the copy ran.
			_, err := w.DB.Exec("UPDATE trash_objects SET lease_token = 'another-host' WHERE lms_id = ?", stolen)
			testworld.Must(t, err)
		}
		return s3test.Fault{}
	})
	run(t, w.Runner(t, w.Config("owner-a")))
	if n := w.deletes(w.Source, "stolen.bin"); n != 0 {
		t.Errorf("%d deletes sent for a record whose lease was lost before its copy was recorded, want none", n)
	}
	if rec := ruleRecord(t, w.Env, stolen); rec.Token != "another-host" || rec.State != reconcile.StatePending {
		t.Errorf("record %s, token %q: want pending and left to the other host", rec.State, rec.Token)
	}
	if rec := ruleRecord(t, w.Env, kept); rec.State != reconcile.StateInTrash {
		t.Errorf("the other record %s (%q), want in_trash", rec.State, rec.LastError)
	}
	w.CheckInvariant(t)
}

// A delete that cannot go out within a quarter of the lease after its
// fence (held before the server here, as by a connection that would not
// come) is cut off, not sent late.
func TestProtocolDeleteCutOffWhenItsFenceGoesStale(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		t.Run(map[int]string{1: "one", 3: "batch"}[n], func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			for i := range n {
				w.AddFile(t, "late/"+string(rune('a'+i)), testworld.Body("late"+string(rune('a'+i)), 300), true, 0)
			}
			cfg := w.Config("owner-a")
			cfg.Lease = 2 * time.Second
			var held atomic.Int32
			w.setRule(func(r *http.Request) s3test.Fault {
				if b, _ := s3test.BucketKey(r); s3test.IsDelete(r) && b == w.Source {
					held.Add(1)
					// Let go only once the fence is half the lease old.
					release := make(chan struct{})
					time.AfterFunc(cfg.Lease/2, func() { close(release) })
					return s3test.Fault{Release: release}
				}
				return s3test.Fault{}
			})
			sum := run(t, w.Runner(t, cfg))
			if held.Load() == 0 {
				t.Fatal("no delete was sent")
			}
			for i := range n {
				key := "late/" + string(rune('a'+i))
				if _, ok := objectAt(t, w.Env, w.Source, key); !ok {
					t.Errorf("%s was deleted by a request let go after its fence went stale", key)
				}
			}
			if sum.Counts.Moved != 0 {
				t.Errorf("counts %+v: want nothing moved in this pass", sum.Counts)
			}
			w.CheckInvariant(t)
		})
	}
}

// A record that goes on alone (here two multipart sources, the second
// waiting for the only S3 worker while the first one's copy is held) keeps
// its lease renewed from the claim on, whatever it waits for. The lease
// clock is moved by hand.
func TestProtocolRecordGoneOnAloneKeepsItsLease(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	var ids []int64
	for _, key := range []string{"alone/a.bin", "alone/b.bin"} {
		ids = append(ids, w.AddFile(t, key, testworld.Body(key, 6<<20), true, 5<<20))
	}
	cfg := w.Config("owner-a")
	cfg.Concurrency = 1
	release := make(chan struct{})
	arrived := make(chan struct{})
	var holding atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) == "UploadPartCopy" && holding.CompareAndSwap(false, true) {
			close(arrived)
			return s3test.Fault{Release: release}
		}
		return s3test.Fault{}
	})
	clock := newHandClock()
	h, err := w.Runner(t, cfg, reconcile.WithLeaseClock(clock)).Start(passCtx(t), reconcile.TriggerManual)
	testworld.Must(t, err)
	select {
	case <-arrived:
	case <-time.After(time.Minute):
		t.Fatal("no multipart copy began")
	}
	expiries := func() []time.Time {
		var out []time.Time
		for _, id := range ids {
			var at time.Time
			testworld.Must(t, w.DB.QueryRow("SELECT lease_expires_at FROM trash_objects WHERE lms_id = ?", id).Scan(&at))
			out = append(out, at)
		}
		return out
	}
	clock.waitForTimers(t, 1, nil)
	first := expiries()
	// A third of the lease: every lease held is renewed, the one whose
	// copy is held and the one waiting for a worker alike.
	clock.advance(cfg.Lease / 3)
	clock.waitForTimers(t, 1, nil)
	for i, at := range expiries() {
		if !at.After(first[i]) {
			t.Errorf("record of LMS row %d: lease expiry %s not extended (was %s) while it waited", ids[i], at, first[i])
		}
	}
	close(release)
	sum, _ := h.Wait()
	if sum.Counts.Moved != 2 {
		t.Errorf("counts %+v: want both moved by their holder", sum.Counts)
	}
	w.CheckInvariant(t)
}

// Another record's trash copy is adopted only once verified against what
// that record recorded of it: a copy replaced behind trashd's back is not
// taken for the object.
func TestProtocolAdoptsOnlyAVerifiedCopy(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("adopt", 500)
	first := w.AddFile(t, "cas/same", body, true, 0)
	second := w.AddSharedRow(t, first, true)
	firstKey := w.Config("x").TrashKeys.Render(first, w.Source, "cas/same")
	var replaced atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		// The first HEAD of the first record's copy is the second's look
		// before adopting it: someone replaces the copy just then.
		if request("HeadObject", w.Trash, firstKey)(r) && replaced.CompareAndSwap(false, true) {
			s3test.PutObject(t, w.SDK, w.Trash, firstKey, []byte("not the object"))
		}
		return s3test.Fault{}
	})
	// The second waits for the first's move, then looks to adopt its copy.
	run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
	makeDue(t, w.Env)
	run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
	if !replaced.Load() {
		t.Fatalf("the first record's copy was never looked at (requests %v)", w.ft.Requests())
	}
	if rec := ruleRecord(t, w.Env, first); rec.State != reconcile.StateInTrash {
		t.Fatalf("the first record %s (%q), want in_trash", rec.State, rec.LastError)
	}
	if rec := ruleRecord(t, w.Env, second); rec.State == reconcile.StateInTrash || rec.State == reconcile.StateArchived {
		t.Errorf("the second record %s at %q: it adopted a copy that does not match the recorded one", rec.State, rec.TrashKey)
	}
}

// A record whose verified copy is gone, and whose key holds new bytes, never
// takes those bytes for its file: they are neither copied as the row's nor
// deleted.
func TestProtocolVerifiedCopyGoneNewBytesAtTheKeyStay(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	id := w.AddFile(t, "gone/copy.txt", testworld.Body("gone", 300), true, 0)
	w.setRule(s3test.When(s3test.Deletes(w.Source, "gone/copy.txt"), serviceUnavailable))
	run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateCopied {
		t.Fatalf("after the first pass %s (%q), want copied", rec.State, rec.LastError)
	}
	// The verified copy is removed by someone, and the LMS writes a new
	// file at the key.
	deleteBehind(t, w.Env, w.Trash, rec.TrashKey)
	newBytes := testworld.Body("new upload", 310)
	s3test.PutObject(t, w.SDK, w.Source, "gone/copy.txt", newBytes)
	w.Forget(id)
	w.setRule(nil)
	before := w.deletes(w.Source, "gone/copy.txt")
	makeDue(t, w.Env)
	run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
	if n := w.deletes(w.Source, "gone/copy.txt") - before; n != 0 {
		t.Errorf("%d deletes of the new file at the key, want none", n)
	}
	wantObject(t, w.Env, w.Source, "gone/copy.txt", newBytes, "the new file")
	if got := ruleRecord(t, w.Env, id); got.State == reconcile.StateInTrash {
		t.Errorf("record in_trash at %q: the new bytes were taken for the trashed file", got.TrashKey)
	}
}

// On a versioned bucket, a record discovered before another record of the
// same object moved it finds the older version made current at the key: it
// shares the other record's copy, and the older version stays.
func TestProtocolVersionedRecordAfterAnothersMoveShares(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	s3test.EnableVersioning(t, w.SDK, w.Source)
	older := []byte("the older version")
	s3test.PutObject(t, w.SDK, w.Source, "v/shared.bin", older)
	body := testworld.Body("current", 400)
	first := w.AddFile(t, "v/shared.bin", body, true, 0)
	second := w.AddSharedRow(t, first, true)
	run(t, w.Runner(t, w.Config("owner-a")))
	a, b := ruleRecord(t, w.Env, first), ruleRecord(t, w.Env, second)
	if a.State != reconcile.StateInTrash || b.State != reconcile.StateInTrash || a.TrashKey != b.TrashKey {
		t.Errorf("records %s at %q and %s at %q: want both in_trash, sharing one copy", a.State, a.TrashKey, b.State, b.TrashKey)
	}
	wantObject(t, w.Env, w.Trash, a.TrashKey, body, "the shared copy")
	wantObject(t, w.Env, w.Source, "v/shared.bin", older, "the older version, current again")
	if n := w.sent("CopyObject", w.Trash, w.Config("x").TrashKeys.Render(second, w.Source, "v/shared.bin")); n != 0 {
		t.Errorf("%d copies to the second record's own trash key: the older version was taken for its file", n)
	}
}

// A row naming the trash bucket itself is failed at once, whatever the
// batch: nothing in the trash bucket is copied or deleted for it.
func TestProtocolRowNamingTheTrashBucketFailsAtOnce(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("a copy", 300)
	moved := w.AddFile(t, "real.pdf", body, true, 0)
	run(t, w.Runner(t, w.Config("owner-a")))
	copyKey := ruleRecord(t, w.Env, moved).TrashKey
	bad := dbtest.InsertFile(t, w.DB, w.Trash, copyKey, true)
	other := w.AddFile(t, "other.pdf", testworld.Body("other", 300), true, 0)
	run(t, w.Runner(t, w.Config("owner-a")))
	if rec := ruleRecord(t, w.Env, bad); rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "trash bucket") {
		t.Errorf("record of the row naming the trash bucket %s (%q), want failed saying so", rec.State, rec.LastError)
	}
	if n := w.deletes(w.Trash, copyKey); n != 0 {
		t.Errorf("%d deletes of the trash copy %s, want none", n, copyKey)
	}
	wantObject(t, w.Env, w.Trash, copyKey, body, "the other record's trash copy")
	if rec := ruleRecord(t, w.Env, other); rec.State != reconcile.StateInTrash {
		t.Errorf("the batch's other record %s (%q), want in_trash", rec.State, rec.LastError)
	}
}

// A first move never overwrites what is at its trash key (If-None-Match on
// the copy): the object there stays, the record fails saying so, the
// source stays.
func TestProtocolFreshMoveNeverOverwritesItsTrashKey(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("fresh", 300)
	id := w.AddFile(t, "fresh/doc.txt", body, true, 0)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "fresh/doc.txt")
	planted := []byte("something else was here first")
	s3test.PutObject(t, w.SDK, w.Trash, key, planted)
	run(t, w.Runner(t, w.Config("owner-a")))
	wantObject(t, w.Env, w.Trash, key, planted, "the object at the trash key")
	wantObject(t, w.Env, w.Source, "fresh/doc.txt", body, "the source")
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "never overwrites") {
		t.Errorf("record %s (%q), want failed: a trash copy is never overwritten", rec.State, rec.LastError)
	}
}

// An error the server gives for one object inside a DeleteObjects answer is
// that object's failure, never its delete: the record stays copied.
func TestProtocolErrorInsideDeleteObjectsIsNoDelete(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	refused := w.AddFile(t, "b/refused.bin", testworld.Body("refused", 300), true, 0)
	for _, k := range []string{"b/one.bin", "b/two.bin"} {
		w.AddFile(t, k, testworld.Body(k, 300), true, 0)
	}
	var edited atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); s3test.Operation(r) != "DeleteObjects" || b != w.Source || s3test.IsProbe(r) {
			return s3test.Fault{}
		}
		// The server keeps this one (its ETag no longer matches), and the
		// answer says InternalError for it instead of PreconditionFailed.
		s3test.PutObject(t, w.SDK, w.Source, "b/refused.bin", []byte("rewritten"))
		return s3test.Fault{EditResponse: func(resp *http.Response) {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(body, []byte("PreconditionFailed")) {
				edited.Store(true)
			}
			body = bytes.ReplaceAll(body, []byte("PreconditionFailed"), []byte("InternalError"))
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			resp.Header.Del("Content-Length")
		}}
	})
	w.Forget(refused)
	sum := run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
	if !edited.Load() {
		t.Fatalf("no DeleteObjects answer carried a per-object error (requests %v)", w.ft.Requests())
	}
	if rec := ruleRecord(t, w.Env, refused); rec.State != reconcile.StateCopied {
		t.Errorf("record %s (%q): a per-object InternalError was taken for a delete; want copied, retried later", rec.State, rec.LastError)
	}
	if sum.Counts.Moved != 2 || sum.Counts.Retrying != 1 {
		t.Errorf("counts %+v: want two moved and one retried", sum.Counts)
	}
}

// A delete sent in time whose answer comes late is a delete: the deadline
// of a fence bounds the sending, and cutting off the wait for the answer
// would only make a done delete look failed.
func TestProtocolDeleteSentInTimeAnsweredLate(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	id := w.AddFile(t, "late/answer.bin", testworld.Body("late answer", 300), true, 0)
	cfg := w.Config("owner-a")
	cfg.Lease = 2 * time.Second
	var answered atomic.Int32
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); s3test.IsDelete(r) && b == w.Source {
			return s3test.Fault{EditResponse: func(*http.Response) {
				// The server answers only once the fence is half the
				// lease old. A wait on real time, and its subject: the
				// delete's send-by time and its context's deadline are
				// on real time (the SDK's), which no lease clock moves.
				<-time.After(cfg.Lease / 2)
				answered.Add(1)
			}}
		}
		return s3test.Fault{}
	})
	sum := run(t, w.Runner(t, noRetry(cfg)))
	if answered.Load() == 0 {
		t.Fatal("no delete was sent")
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateInTrash || sum.Counts.Moved != 1 {
		t.Errorf("record %s (%q), counts %+v: want in_trash, moved by the delete that was sent in time", rec.State, rec.LastError, sum.Counts)
	}
	w.CheckInvariant(t)
}
