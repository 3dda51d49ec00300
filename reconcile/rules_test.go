package reconcile_test

// One test per safety rule of a move, each built to fail when the line that
// keeps its rule is deleted, inverted or skipped: faults come only from a
// FaultTransport between the client and the real servers, and each test
// asserts what is where afterwards, byte for byte, and which requests went
// out.

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// The fresh copy is verified before the source is deleted: when the copy's
// read-back HEAD says other bytes than the source's, nothing is deleted and
// the record fails with a reason.
func TestRuleCopyVerifiedBeforeDelete(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*http.Response)
		want string // in last_error
	}{
		{"other etag", func(r *http.Response) { r.Header.Set("ETag", `"00000000000000000000000000000000"`) }, "ETag"},
		{"other size", func(r *http.Response) { r.Header.Set("Content-Length", "3"); r.ContentLength = 3 }, "3 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			body := testworld.Body(tc.name, 1000)
			id := w.AddFile(t, "verify/fresh.bin", body, true, 0)
			key := w.Config("x").TrashKeys.Render(id, w.Source, "verify/fresh.bin")
			// A copy its response does not prove is read back
			// (TestFastUnprovenCopyReadBack), and the read-back decides.
			w.setRule(func(r *http.Request) s3test.Fault {
				switch {
				case request("CopyObject", w.Trash, key)(r):
					return s3test.Fault{EditResponse: editCopyETag}
				case request("HeadObject", w.Trash, key)(r):
					return s3test.Fault{EditResponse: tc.edit}
				}
				return s3test.Fault{}
			})
			cfg := w.Config("owner-a")
			cfg.HeadFirst = true // a copy moved by its answer alone has no read-back before its conditional delete
			sum := run(t, w.Runner(t, cfg))
			if sum.Counts.Failed != 1 || sum.Counts.Moved != 0 {
				t.Errorf("counts %+v: want the object failed, not moved", sum.Counts)
			}
			if n := w.sent("HeadObject", w.Trash, key); n == 0 {
				t.Fatalf("the copy was never read back: the fault did not fire (requests %v)", w.ft.Requests())
			}
			if n := w.deletes(w.Source, "verify/fresh.bin"); n != 0 {
				t.Errorf("%d deletes of the source sent for an unverified copy, want none", n)
			}
			rec := ruleRecord(t, w.Env, id)
			if rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, reconcile.ErrVerify.Error()) || !strings.Contains(rec.LastError, tc.want) {
				t.Errorf("record %s (%q): want failed with a verify error naming the %s", rec.State, rec.LastError, tc.name)
			}
			wantObject(t, w.Env, w.Source, "verify/fresh.bin", body, "the source")
			w.CheckInvariant(t)
		})
	}
}

// A trash copy recorded as verified is verified again before a resumed move
// deletes the source: a copy replaced behind trashd's back is not trusted.
func TestRuleResumedCopyVerifiedAgain(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("resume", 1000)
	id := w.AddFile(t, "resume/copied.bin", body, true, 0)
	cfg := w.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	r := w.Runner(t, cfg)

	// First pass: copied and verified, but the delete fails: copied.
	w.setRule(s3test.When(s3test.Deletes(w.Source, "resume/copied.bin"), serviceUnavailable))
	if sum := run(t, r); sum.Counts.Retrying != 1 {
		t.Fatalf("first pass %+v: want the delete retried later", sum.Counts)
	}
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateCopied {
		t.Fatalf("record %s after the failed delete, want copied", rec.State)
	}
	// The trash copy is replaced by other bytes of the same size.
	other := testworld.Body("someone else", len(body))
	putBehind(t, w.Env, w.Trash, rec.TrashKey, other)
	makeDue(t, w.Env)
	w.setRule(nil) // deletes go through now
	before := w.deletes(w.Source, "resume/copied.bin")

	sum := run(t, r)
	if sum.Counts.Failed != 1 || sum.Counts.Moved != 0 {
		t.Errorf("second pass %+v: want the record failed", sum.Counts)
	}
	if n := w.deletes(w.Source, "resume/copied.bin") - before; n != 0 {
		t.Errorf("%d deletes of the source sent against a changed trash copy, want none", n)
	}
	rec = ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "changed since it was verified") || !strings.Contains(rec.LastError, reconcile.ErrVerify.Error()) {
		t.Errorf("record %s (%q): want failed, saying the trash copy changed", rec.State, rec.LastError)
	}
	wantObject(t, w.Env, w.Source, "resume/copied.bin", body, "the source")
	// The foreign object is the test's doing; without it the invariant
	// holds on the source alone.
	deleteBehind(t, w.Env, w.Trash, rec.TrashKey)
	w.CheckInvariant(t)
}

// A source found gone is not settled in_trash on the word of whatever the
// trash key holds: the copy there is verified against the recorded source.
func TestRuleGoneSourceNeedsVerifiedCopy(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("gone", 1000)
	id := w.AddFile(t, "gone/source.bin", body, true, 0)
	cfg := w.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	r := w.Runner(t, cfg)

	// First pass: the source's identity and trash key are recorded, but
	// the copy fails: pending.
	w.setRule(func(req *http.Request) s3test.Fault {
		if s3test.Operation(req) == "CopyObject" {
			return serviceUnavailable
		}
		return s3test.Fault{}
	})
	if sum := run(t, r); sum.Counts.Retrying != 1 {
		t.Fatalf("first pass %+v: want the copy retried later", sum.Counts)
	}
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StatePending || rec.SourceETag == "" || rec.TrashKey == "" {
		t.Fatalf("record %+v: want pending with the source's identity and the trash key recorded", rec)
	}
	// The source is deleted by someone else, and the trash key holds other
	// bytes of the same size.
	deleteBehind(t, w.Env, w.Source, "gone/source.bin")
	putBehind(t, w.Env, w.Trash, rec.TrashKey, testworld.Body("not the source", len(body)))
	makeDue(t, w.Env)
	w.setRule(nil)

	sum := run(t, r)
	if sum.Counts.Moved != 0 {
		t.Errorf("second pass %+v: want nothing moved", sum.Counts)
	}
	rec = ruleRecord(t, w.Env, id)
	if rec.State == reconcile.StateInTrash || !strings.Contains(rec.LastError, reconcile.ErrVerify.Error()) {
		t.Errorf("record %s (%q): want not in_trash, with a verify error", rec.State, rec.LastError)
	}
	if rec.State != reconcile.StateFailed {
		t.Errorf("record %s, want failed (a verify error is permanent)", rec.State)
	}
	// The test destroyed the object itself: nothing is left for the
	// invariant to find.
	w.Forget(id)
	w.CheckInvariant(t)
}

// A 412 on the conditional delete is not a success: the source overwritten
// between the copy and the delete stays, the trash copy keeps the trashed
// bytes, and the record says what was left in place.
func TestRuleRefusedDeleteLeavesNewObject(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	old := []byte("the trashed file")
	newer := []byte("a new upload at the same key")
	id := w.AddFile(t, "overwrite/doc.txt", old, true, 0)
	var ifMatch atomic.Pointer[string]
	w.setRule(func(req *http.Request) s3test.Fault {
		if s3test.Deletes(w.Source, "overwrite/doc.txt")(req) && ifMatch.Load() == nil {
			h := req.Header.Get("If-Match")
			ifMatch.Store(&h)
			putBehind(t, w.Env, w.Source, "overwrite/doc.txt", newer)
		}
		return s3test.Fault{}
	})

	cfg := w.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	sum := run(t, w.Runner(t, cfg))
	if ifMatch.Load() == nil {
		t.Fatal("no delete of the source was sent")
	}
	if sum.Counts.Moved != 1 {
		t.Errorf("counts %+v: want the trashed file moved", sum.Counts)
	}
	wantObject(t, w.Env, w.Source, "overwrite/doc.txt", newer, "the new object")
	rec := ruleRecord(t, w.Env, id)
	wantObject(t, w.Env, w.Trash, rec.TrashKey, old, "the trash copy")
	if rec.State != reconcile.StateInTrash || !strings.Contains(rec.LastError, "left in place") {
		t.Errorf("record %s (%q): want in_trash with a note that the new object was left in place", rec.State, rec.LastError)
	}
	// The invariant would take the new object for the trashed file,
	// changed; it was checked above instead.
}

// ConditionalDelete reaches the request: the delete of the source carries
// If-Match with the ETag that was copied.
func TestRuleDeleteCarriesIfMatch(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	id := w.AddFile(t, "ifmatch/doc.txt", []byte("conditional"), true, 0)
	var ifMatch atomic.Pointer[string]
	w.setRule(func(req *http.Request) s3test.Fault {
		if s3test.Deletes(w.Source, "ifmatch/doc.txt")(req) {
			// One by one, the header; in a batch, the object's ETag.
			h := req.Header.Get("If-Match")
			for _, o := range s3test.DeleteObjectsOf(req) {
				h = o.ETag
			}
			ifMatch.Store(&h)
		}
		return s3test.Fault{}
	})
	if sum := run(t, w.Runner(t, w.Config("owner-a"))); sum.Counts.Moved != 1 {
		t.Fatalf("counts %+v: want 1 moved", sum.Counts)
	}
	rec := ruleRecord(t, w.Env, id)
	want := `"` + rec.SourceETag + `"`
	if got := ifMatch.Load(); got == nil {
		t.Error("no delete of the source was sent")
	} else if *got != want {
		t.Errorf("the delete carries If-Match %q, want %q", *got, want)
	}
	w.CheckInvariant(t)
}

// A source that is gone when the delete arrives is moved, in the same pass:
// neither AWS's 404 nor SeaweedFS's 412 for a conditional delete of a
// missing key is an error.
func TestRuleDeleteOfGoneSourceIsMoved(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		answer func(*http.Response)
	}{
		{"as the server answers", nil},
		{"as AWS answers", answerNoSuchKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			body := []byte("deleted meanwhile")
			id := w.AddFile(t, "meanwhile/doc.txt", body, true, 0)
			var gone atomic.Bool
			w.setRule(func(req *http.Request) s3test.Fault {
				if s3test.Deletes(w.Source, "meanwhile/doc.txt")(req) && gone.CompareAndSwap(false, true) {
					deleteBehind(t, w.Env, w.Source, "meanwhile/doc.txt")
					if s3test.Operation(req) == "DeleteObjects" {
						// AWS and SeaweedFS answer a batch alike: the
						// key's NoSuchKey in the result.
						return s3test.Fault{}
					}
					return s3test.Fault{EditResponse: tc.answer}
				}
				return s3test.Fault{}
			})

			// A retry would come only after an hour, so that one that
			// succeeded cannot pass for the first attempt.
			cfg := w.Config("owner-a")
			cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
			sum := run(t, w.Runner(t, cfg))
			if !gone.Load() {
				t.Fatal("no delete of the source was sent")
			}
			if sum.Counts.Moved != 1 || sum.Counts.Retrying != 0 || sum.Counts.Failed != 0 {
				t.Errorf("counts %+v: want moved in this pass", sum.Counts)
			}
			rec := ruleRecord(t, w.Env, id)
			if rec.State != reconcile.StateInTrash || rec.Attempts != 0 || rec.LastError != "" {
				t.Errorf("record %+v: want in_trash, no attempt counted, no error", rec)
			}
			if n := w.deletes(w.Source, "meanwhile/doc.txt"); n != 1 {
				t.Errorf("%d deletes of the source sent, want 1", n)
			}
			wantObject(t, w.Env, w.Trash, rec.TrashKey, body, "the trash copy")
			w.CheckInvariant(t)
		})
	}
}

// A pass asked to stop before the copy copies nothing: the record is left
// pending, its lease given back and no attempt counted.
func TestRuleStopBeforeCopy(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	id := w.AddFile(t, "stop/before-copy.bin", []byte("stay"), true, 0)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var copies atomic.Int32
	w.setRule(func(req *http.Request) s3test.Fault {
		switch {
		case request("HeadObject", w.Source, "stop/before-copy.bin")(req):
			stop()
		case s3test.Operation(req) == "CopyObject" && !s3test.IsProbe(req):
			// (A probe started ahead goes on to its end: no move's copy.)
			copies.Add(1)
		}
		return s3test.Fault{}
	})

	cfg := w.Config("owner-a")
	cfg.HeadFirst = true // the stop comes between the HEAD and the copy
	sum, err := w.Runner(t, cfg).Run(ctx, reconcile.TriggerManual)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sum.Status != reconcile.RunInterrupted || sum.Counts.Interrupted != 1 || sum.Counts.Moved != 0 {
		t.Errorf("summary %+v: want interrupted with the object interrupted", sum)
	}
	if n := copies.Load(); n != 0 {
		t.Errorf("%d copies sent after the stop, want none", n)
	}
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StatePending || rec.Token != "" || rec.Owner != "" || rec.Attempts != 0 {
		t.Errorf("record %+v: want pending, lease released, no attempt counted", rec)
	}
	w.CheckInvariant(t)
}

// A record in copied whose source delete went through although its client
// never heard so, and whose attempts run out, is in_trash, not failed: the
// source is gone and the verified copy the only one.
func TestRuleExhaustedCopiedRecordSettlesInTrash(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t, func(o *s3ops.Options) { o.RetryMaxAttempts = 1 })
	body := testworld.Body("lost response", 1000)
	id := w.AddFile(t, "lost/response.bin", body, true, 0)
	cfg := w.Config("owner-a")
	cfg.MaxAttempts = 1
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	r := w.Runner(t, cfg)
	// Every delete of the source reaches the server, and its answer is
	// lost on the way back.
	w.setRule(s3test.When(s3test.Deletes(w.Source, "lost/response.bin"), s3test.Fault{LoseResponse: syscall.ECONNRESET}))

	// First attempt: no failing time yet, so not exhausted: retried.
	if sum := run(t, r); sum.Counts.Retrying != 1 {
		t.Fatalf("first pass %+v: want the delete retried later", sum.Counts)
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateCopied || rec.Attempts != 1 {
		t.Fatalf("record %+v: want copied after one attempt", rec)
	}
	wantNoObject(t, w.Env, w.Source, "lost/response.bin", "the source the server deleted")
	// On the fast path a batch whose response is lost is sent again on
	// its own in the same attempt: one or two deletes so far.
	first := w.deletes(w.Source, "lost/response.bin")
	makeDue(t, w.Env)

	// Second attempt: exhausted; the source is gone and the copy intact.
	sum := run(t, r)
	if sum.Counts.Moved != 1 || sum.Counts.Failed != 0 {
		t.Errorf("second pass %+v: want moved, not failed", sum.Counts)
	}
	if n := w.deletes(w.Source, "lost/response.bin") - first; first < 1 || first > 2 || n != 1 {
		t.Errorf("%d deletes of the source sent in the first attempt and %d in the second, want 1 or 2 and 1", first, n)
	}
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateInTrash {
		t.Errorf("record %s (%q), want in_trash", rec.State, rec.LastError)
	}
	wantObject(t, w.Env, w.Trash, rec.TrashKey, body, "the trash copy")
	w.CheckInvariant(t)
}

// The other side of the same rule: a record in copied whose source is still
// there when its attempts run out is failed, not settled in_trash.
func TestRuleExhaustedCopiedRecordWithSourceFails(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t, func(o *s3ops.Options) { o.RetryMaxAttempts = 1 })
	body := testworld.Body("still there", 1000)
	id := w.AddFile(t, "still/there.bin", body, true, 0)
	cfg := w.Config("owner-a")
	cfg.MaxAttempts = 1
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	r := w.Runner(t, cfg)
	w.setRule(s3test.When(s3test.Deletes(w.Source, "still/there.bin"), serviceUnavailable))

	if sum := run(t, r); sum.Counts.Retrying != 1 {
		t.Fatalf("first pass %+v: want the delete retried later", sum.Counts)
	}
	makeDue(t, w.Env)
	if sum := run(t, r); sum.Counts.Failed != 1 || sum.Counts.Moved != 0 {
		t.Errorf("second pass %+v: want failed, not moved", sum.Counts)
	}
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "gave up after 2 attempts") {
		t.Errorf("record %s (%q): want failed after the attempts ran out", rec.State, rec.LastError)
	}
	wantObject(t, w.Env, w.Source, "still/there.bin", body, "the source")
	wantObject(t, w.Env, w.Trash, rec.TrashKey, body, "the trash copy")
	w.CheckInvariant(t)
}
