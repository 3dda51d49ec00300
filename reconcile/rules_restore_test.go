package reconcile_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// movedThenUntrashed moves one file into the trash with r, then clears its
// trash flag, and returns its LMS row id and trash key.
func movedThenUntrashed(t *testing.T, w *faultWorld, r *reconcile.Runner, key string, body []byte) (int64, string) {
	t.Helper()
	id := w.AddFile(t, key, body, true, 0)
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("move pass %+v: want 1 moved", sum.Counts)
	}
	trashKey := ruleRecord(t, w.Env, id).TrashKey
	wantNoObject(t, w.Env, w.Source, key, "the moved source")
	w.Untrash(t, id)
	return id, trashKey
}

// A copy back never overwrites a file the LMS writes at the key after
// trashd looked: the conditional copy is refused, the new file stays, and
// the old one is restored beside it.
func TestRuleRestoreNeverOverwrites(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	r := w.Runner(t, w.Config("owner-a"))
	old, newer := []byte("the report as trashed"), []byte("the report the LMS wrote meanwhile")
	id, trashKey := movedThenUntrashed(t, w, r, "docs/report.pdf", old)
	// The new file lands between trashd's HEAD of the key (nothing there)
	// and its copy back.
	var wrote atomic.Bool
	w.setRule(func(req *http.Request) s3test.Fault {
		if request("CopyObject", w.Source, "docs/report.pdf")(req) && wrote.CompareAndSwap(false, true) {
			putBehind(t, w.Env, w.Source, "docs/report.pdf", newer)
		}
		return s3test.Fault{}
	})

	sum := run(t, r)
	if !wrote.Load() {
		t.Fatal("no copy back to the original key was sent")
	}
	if sum.Counts.Restored != 1 {
		t.Errorf("restore pass %+v: want 1 restored", sum.Counts)
	}
	beside := fmt.Sprintf("docs/report.restored-%d.pdf", id)
	wantObject(t, w.Env, w.Source, "docs/report.pdf", newer, "the LMS's new file")
	wantObject(t, w.Env, w.Source, beside, old, "the restored file")
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateRestored || rec.RestoredKey != beside || !strings.Contains(rec.LastError, "newer file") {
		t.Errorf("record %s at %q (%q): want restored beside the original, %q, with a note", rec.State, rec.RestoredKey, rec.LastError, beside)
	}
	wantNoObject(t, w.Env, w.Trash, trashKey, "the trash copy")
	w.CheckInvariant(t)
}

// The trash copy is not deleted before the copy back is verified: while the
// restored object cannot be read back, the trash copy stays and the record
// is not restored; once it can, the next attempt finishes.
func TestRuleRestoreKeepsTrashCopyUntilVerified(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	cfg := w.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	r := w.Runner(t, cfg)
	body := testworld.Body("read back", 1000)
	id, trashKey := movedThenUntrashed(t, w, r, "back/verify.txt", body)
	var copiedBack atomic.Bool
	w.setRule(func(req *http.Request) s3test.Fault {
		switch {
		case request("CopyObject", w.Source, "back/verify.txt")(req):
			copiedBack.Store(true)
		case request("HeadObject", w.Source, "back/verify.txt")(req) && copiedBack.Load():
			return serviceUnavailable
		}
		return s3test.Fault{}
	})

	sum := run(t, r)
	if !copiedBack.Load() {
		t.Fatal("no copy back was sent")
	}
	if sum.Counts.Restored != 0 || sum.Counts.Retrying != 1 {
		t.Errorf("restore pass %+v: want the restore retried later, not restored", sum.Counts)
	}
	if n := w.sent("DeleteObject", w.Trash, trashKey); n != 0 {
		t.Errorf("%d deletes of the trash copy sent before the copy back was verified, want none", n)
	}
	wantObject(t, w.Env, w.Trash, trashKey, body, "the trash copy")
	rec := ruleRecord(t, w.Env, id)
	if rec.State == reconcile.StateRestored || !rec.Requested || !strings.Contains(rec.LastError, "ServiceUnavailable") {
		t.Errorf("record %+v: want the restore still requested, not restored, with the read-back's error", rec)
	}

	w.setRule(nil)
	makeDue(t, w.Env)
	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Fatalf("next pass %+v: want 1 restored", sum.Counts)
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateRestored || rec.RestoredKey != "back/verify.txt" {
		t.Errorf("record %s at %q: want restored at the original key", rec.State, rec.RestoredKey)
	}
	wantNoObject(t, w.Env, w.Trash, trashKey, "the trash copy")
	w.CheckInvariant(t)
}

// The trash copy is deleted only with a fresh fence: a worker paused for
// longer than its lease after the copy back, while another host took the
// record over, deletes nothing and records nothing.
func TestRuleRestoreFenceBeforeTrashDelete(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	clock := &jumpClock{}
	r := w.Runner(t, w.Config("owner-a"), reconcile.WithElapsed(clock.now))
	body := []byte("restored by a paused worker")
	id, trashKey := movedThenUntrashed(t, w, r, "fence/restore.txt", body)
	// The restore HEADs the trash copy twice: before the copy back, and
	// right before deleting it. At the second, the worker pauses for an
	// hour and another host takes the record over.
	beforeDelete := s3test.Nth(2, request("HeadObject", w.Trash, trashKey))
	var paused atomic.Bool
	w.setRule(func(req *http.Request) s3test.Fault {
		if beforeDelete(req) {
			clock.jump(time.Hour)
			execBehind(t, w.Env, `UPDATE trash_objects SET lease_owner = 'owner-b', lease_token = 'taken-over-by-another-host',
				lease_expires_at = NOW(6) + INTERVAL 1 HOUR WHERE lms_id = ?`, id)
			paused.Store(true)
		}
		return s3test.Fault{}
	})

	sum := run(t, r)
	if !paused.Load() {
		t.Fatalf("the trash copy was not looked at twice (requests %v)", w.ft.Requests())
	}
	if sum.Counts.Restored != 0 || sum.Counts.Interrupted != 1 {
		t.Errorf("restore pass %+v: want the object left to the new lease holder", sum.Counts)
	}
	if n := w.sent("DeleteObject", w.Trash, trashKey); n != 0 {
		t.Errorf("%d deletes of the trash copy sent without a fresh fence, want none", n)
	}
	wantObject(t, w.Env, w.Trash, trashKey, body, "the trash copy")
	rec := ruleRecord(t, w.Env, id)
	if rec.State == reconcile.StateRestored || rec.Token != "taken-over-by-another-host" {
		t.Errorf("record %+v: the paused worker wrote after losing its lease", rec)
	}
	w.CheckInvariant(t)
}

// A multipart copy back that a crash left unfinished is aborted by the next
// attempt, which then restores the object.
func TestRuleRestoreAbortsLeftUpload(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	r := w.Runner(t, w.Config("owner-a"))
	body := testworld.Body("left upload", 1000)
	id, _ := movedThenUntrashed(t, w, r, "parts/left.bin", body)
	leaveUpload(t, w, id, "parts/left.bin")

	if sum := run(t, r); sum.Counts.Restored != 1 {
		t.Errorf("restore pass %+v: want 1 restored", sum.Counts)
	}
	if left := s3test.Uploads(t, w.SDK, w.Source); len(left) != 0 {
		t.Errorf("uploads %v left in the source bucket, want none", left)
	}
	if n := w.sent("AbortMultipartUpload", w.Source, "parts/left.bin"); n != 1 {
		t.Errorf("%d aborts sent, want 1", n)
	}
	var recorded bool
	testworld.Must(t, w.DB.QueryRow("SELECT upload_id IS NOT NULL FROM trash_objects WHERE lms_id = ?", id).Scan(&recorded))
	if recorded {
		t.Error("the aborted upload is still recorded")
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateRestored || rec.RestoredKey != "parts/left.bin" {
		t.Errorf("record %s at %q (%q): want restored at the original key in this pass", rec.State, rec.RestoredKey, rec.LastError)
	}
	wantObject(t, w.Env, w.Source, "parts/left.bin", body, "the restored file")
	w.CheckInvariant(t)
}

// leaveUpload leaves what a crash in the middle of a copy back in parts
// leaves: an upload at key, recorded on LMS row id's record, not completed.
func leaveUpload(t *testing.T, w *faultWorld, id int64, key string) {
	t.Helper()
	up, err := w.SDK.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: aws.String(w.Source), Key: aws.String(key)})
	testworld.Must(t, err)
	execBehind(t, w.Env, "UPDATE trash_objects SET upload_key = ?, upload_id = ? WHERE lms_id = ?", key, aws.ToString(up.UploadId), id)
	if left := s3test.Uploads(t, w.SDK, w.Source); len(left) != 1 {
		t.Fatalf("uploads %v before the restore, want the one left behind", left)
	}
}

// A restore holds its lease to the end: the trash copy is deleted while the
// record's lease is the worker's, and the restore is recorded in the same
// pass — also when the restore records an upload on the way (a copy back in
// parts, or the abort of one a crash left). A restore of a record in
// in_trash (or archived) records those steps under that state, which a move
// is done with: were its lease given up there, the worker would copy back
// and delete the trash copy holding no lease, and a copy back in parts that
// outlasts a third of the lease would be cancelled by the failing renewal
// in every pass (an interruption is no attempt), never to finish.
func TestRuleRestoreHoldsLeaseToTheEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		size     int
		partSize int64 // the source uploaded in parts: copied back in parts
		left     bool  // an upload left by a crash to abort first
		slow     bool  // the parts take longer than the shortest lease
	}{
		{"abort of a left upload", 1000, 0, true, false},
		{"copy back in parts", 11 << 20, 5 << 20, false, false},
		{"copy back in parts longer than the lease", 11 << 20, 5 << 20, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			cfg := w.Config("owner-a")
			if tc.slow {
				cfg.Lease = reconcile.MinLease
			}
			r := w.Runner(t, cfg)
			body := testworld.Body(tc.name, tc.size)
			id := w.AddFile(t, "held/lease.bin", body, true, tc.partSize)
			if sum := run(t, r); sum.Counts.Moved != 1 {
				t.Fatalf("move pass %+v: want 1 moved", sum.Counts)
			}
			trashKey := ruleRecord(t, w.Env, id).TrashKey
			w.Untrash(t, id)
			if tc.left {
				leaveUpload(t, w, id, "held/lease.bin")
			}
			var tokenAtDelete atomic.Pointer[string]
			slowParts := make(chan struct{})
			var firstPart sync.Once
			w.setRule(func(req *http.Request) s3test.Fault {
				switch {
				case request("DeleteObject", w.Trash, trashKey)(req):
					// Read once the delete is sent (a read before it would
					// hold the delete past its short fence): the lease is
					// still held then, as the record is written after.
					return s3test.Fault{EditResponse: func(*http.Response) {
						tok := ruleRecord(t, w.Env, id).Token
						tokenAtDelete.Store(&tok)
					}}
				case tc.slow && s3test.Operation(req) == "UploadPartCopy":
					// The parts take one and a half leases: the lease
					// must be renewed meanwhile.
					firstPart.Do(func() { time.AfterFunc(3*reconcile.MinLease/2, func() { close(slowParts) }) })
					return s3test.Fault{Release: slowParts}
				}
				return s3test.Fault{}
			})

			sum := run(t, r)
			switch tok := tokenAtDelete.Load(); {
			case tok == nil:
				t.Error("no delete of the trash copy was sent in the pass")
			case *tok == "":
				t.Error("the trash copy's delete was sent while the record's lease was given up")
			}
			if sum.Counts.Restored != 1 || sum.Counts.Interrupted != 0 {
				t.Errorf("restore pass %+v: want restored in one pass", sum.Counts)
			}
			if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateRestored {
				t.Errorf("record %s (%q), want restored", rec.State, rec.LastError)
			}
			w.CheckInvariant(t)
		})
	}
}
