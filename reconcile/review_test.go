package reconcile_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// Findings of a review of the delete and overwrite paths: each test plays
// one interleaving through the real servers and the fault layer, and fails
// while trashd loses a file there or records something false.

// A source delete that took effect but whose answer was lost leaves the
// record copied, its source gone. A content-addressed LMS then inserts a
// row naming the same object (it stores the same file again). The next
// attempt must give that row its file back (from the verified trash copy),
// as the look at the LMS right after a delete does; recording the record
// shared — "the object stays where it is" — leaves the live row naming a
// key that holds nothing.
func TestReviewResumedCopiedRecordBringsTheObjectBackForANewLiveRow(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("resumed-shared", 700)
	id := w.AddFile(t, "hash/aa/bb/resumed", body, true, 0)
	// The delete reaches the server; its answer never comes back.
	w.setRule(s3test.When(s3test.Deletes(w.Source, "hash/aa/bb/resumed"), s3test.Fault{LoseResponse: errors.New("connection reset after the delete")}))
	run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
	if w.deletes(w.Source, "hash/aa/bb/resumed") == 0 {
		t.Fatal("no delete of the source was sent in the first pass")
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateCopied {
		t.Fatalf("after the first pass %s (%q), want copied", rec.State, rec.LastError)
	}
	wantNoObject(t, w.Env, w.Source, "hash/aa/bb/resumed", "the delete took effect")

	live := w.AddSharedRow(t, id, false)
	w.setRule(nil)
	makeDue(t, w.Env)
	run(t, w.Runner(t, w.Config("owner-b")))

	wantObject(t, w.Env, w.Source, "hash/aa/bb/resumed", body, "the object LMS row "+itoa(live)+" names")
	if rec := ruleRecord(t, w.Env, id); rec.State == reconcile.StateShared {
		if _, ok := objectAt(t, w.Env, w.Source, "hash/aa/bb/resumed"); !ok {
			t.Errorf("record of row %d says shared (the object stays at its key) but the key holds nothing", id)
		}
	}
	w.CheckInvariant(t)
}

// A trash key template that puts {key} first ("{key}/{id}" is accepted)
// renders a source key under the probe's prefix as a trash key under it too:
// ".trashd-probe/notes.txt" is moved to ".trashd-probe/notes.txt/1" in the
// trash bucket. The probe of the trash bucket takes whatever lies under its
// prefix for a killed probe's leftovers once it is an hour old, and deletes
// it, every version: here the verified trash copy of a file whose source
// is gone, its record in_trash. (The same holds in a source bucket for an
// LMS file under that prefix.) The listing is edited to make the copy an
// hour old, as an hour passing would.
func TestReviewProbeCleanupNeverDeletesATrashCopy(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	const key = ".trashd-probe/notes.txt"
	body := testworld.Body("probe-prefix", 600)
	id := w.AddFile(t, key, body, true, 0)
	cfg := w.Config("owner-a")
	tmpl, err := reconcile.ParseKeyTemplate("{key}/{id}")
	testworld.Must(t, err)
	cfg.TrashKeys = tmpl
	r := w.Runner(t, cfg)
	run(t, r)
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateInTrash || !strings.HasPrefix(rec.TrashKey, reconcile.ProbePrefix) {
		t.Fatalf("record %s at trash key %q (%q), want in_trash under %s", rec.State, rec.TrashKey, rec.LastError, reconcile.ProbePrefix)
	}
	wantObject(t, w.Env, w.Trash, rec.TrashKey, body, "the trash copy after the move")

	var aged atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); b != w.Trash || !strings.HasPrefix(s3test.Operation(r), "List") || s3test.Operation(r) == "ListMultipartUploads" {
			return s3test.Fault{}
		}
		return s3test.Fault{EditResponse: func(resp *http.Response) {
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Errorf("read the listing: %v", err)
			}
			edited := olderEntry(raw, rec.TrashKey)
			if !bytes.Equal(edited, raw) {
				aged.Store(true)
			}
			resp.Body = io.NopCloser(bytes.NewReader(edited))
			resp.ContentLength = int64(len(edited))
			resp.Header.Set("Content-Length", strconv.Itoa(len(edited)))
		}}
	})
	// `trashd doctor`, or the daily probe of the trash bucket.
	if _, err := r.Conditions(t.Context(), w.Trash); err != nil {
		t.Fatalf("probe the trash bucket: %v", err)
	}
	if !aged.Load() {
		t.Fatal("the probe's listing never named the trash copy")
	}
	wantObject(t, w.Env, w.Trash, rec.TrashKey, body, "the verified trash copy of a record in_trash, after a probe of the trash bucket")
	w.CheckInvariant(t)
}

// olderEntry rewrites, in a listing, the LastModified of the entries for key
// to the year 2000, long before the probe's own objects.
func olderEntry(listing []byte, key string) []byte {
	entry := regexp.MustCompile(`(?s)<(Contents|Version)>.*?</(Contents|Version)>`)
	stamp := regexp.MustCompile(`<LastModified>[^<]*</LastModified>`)
	return entry.ReplaceAllFunc(listing, func(e []byte) []byte {
		if !bytes.Contains(e, []byte("<Key>"+key+"</Key>")) {
			return e
		}
		return stamp.ReplaceAll(e, []byte("<LastModified>2000-01-01T00:00:00.000Z</LastModified>"))
	})
}

// Two rows name one object. Row A was trashed while row B still used it
// (A: shared, no copy of its own); then B is trashed and B's move copies
// the object and deletes the source, but its answer is lost: B stays
// copied, between its copy and in_trash, its verified copy the object's
// only bytes. Now the user restores A. A's restore finds the source gone
// and, with no trash key of its own and no record whose source delete is
// recorded, settles restore_failed, which is final — though B's copy holds
// the object and B, resumed, is the one that would give it back. A restore
// must wait for a record of its object between copy and in_trash, as a
// move does.
func TestReviewRestoreWaitsForAnotherRecordBetweenCopyAndInTrash(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	const key = "hash/cc/dd/pair"
	body := testworld.Body("restore-waits", 650)
	a := w.AddFile(t, key, body, true, 0)
	b := w.AddSharedRow(t, a, false)
	cfg := noRetry(w.Config("owner-a"))
	run(t, w.Runner(t, cfg))
	if rec := ruleRecord(t, w.Env, a); rec.State != reconcile.StateShared {
		t.Fatalf("row A after the first pass: %s (%q), want shared", rec.State, rec.LastError)
	}

	w.TrashRow(t, b)
	w.setRule(s3test.When(s3test.Deletes(w.Source, key), s3test.Fault{LoseResponse: errors.New("connection reset after the delete")}))
	run(t, w.Runner(t, cfg))
	if rec := ruleRecord(t, w.Env, b); rec.State != reconcile.StateCopied || rec.TrashETag == "" {
		t.Fatalf("row B after its move: %s (%q), want copied with its copy recorded", rec.State, rec.LastError)
	}
	wantNoObject(t, w.Env, w.Source, key, "B's delete took effect")

	// The user restores A; B's retry is not due yet (an hour's backoff).
	w.setRule(nil)
	w.Untrash(t, a)
	run(t, w.Runner(t, cfg))
	if rec := ruleRecord(t, w.Env, a); rec.State == reconcile.StateRestoreFailed {
		t.Errorf("row A's restore settled %s (%q) while row B's verified copy, between its copy and in_trash, holds the object",
			rec.State, rec.LastError)
	}
	wantObject(t, w.Env, w.Trash, ruleRecord(t, w.Env, b).TrashKey, body, "B's verified copy")
}

// A content-addressed LMS stores the same file again while the source is
// being deleted: the look at the LMS right after the delete finds the new
// row, and the object is to be copied back from the verified trash copy.
// That copy back meets one transient S3 error (503): the record is then
// recorded in_trash with a note asking an operator to copy the bytes back
// by hand, and no later pass ever tries again — the live row names an
// empty key for good, its only bytes in a trash copy that the lifecycle
// rule archives (and may expire). A failed copy back must be retried like
// any transient failure of the move.
func TestReviewBringBackAfterATransientErrorIsRetried(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	const key = "hash/ee/ff/again"
	body := testworld.Body("bring-back", 720)
	id := w.AddFile(t, key, body, true, 0)
	var inserted atomic.Bool
	var live atomic.Int64
	w.setRule(func(r *http.Request) s3test.Fault {
		if s3test.Deletes(w.Source, key)(r) && inserted.CompareAndSwap(false, true) {
			// Between the last look before the delete and the delete.
			live.Store(w.AddSharedRow(t, id, false))
		}
		if request("CopyObject", w.Source, key)(r) {
			return serviceUnavailable
		}
		return s3test.Fault{}
	})
	// Retries an hour away: the test's own config would otherwise use up
	// the attempts within the pass (FailAfter is a microsecond here; it is
	// a day by default).
	run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
	if !inserted.Load() {
		t.Fatal("no delete of the source was sent")
	}
	if w.sent("CopyObject", w.Source, key) == 0 {
		t.Fatal("the object was never copied back for the new row")
	}
	first := ruleRecord(t, w.Env, id)

	w.setRule(nil)
	makeDue(t, w.Env)
	run(t, w.Runner(t, w.Config("owner-b")))
	wantObject(t, w.Env, w.Source, key, body, "the object LMS row "+itoa(live.Load())+" names, after a later pass (the first left the record "+
		string(first.State)+": "+first.LastError+")")
	w.CheckInvariant(t)
}

// On a bucket whose versioning is suspended, every upload is written as
// the version "null", replacing the one before in place. A HEAD there
// answers version "null", and a delete by version "null" then names no
// fixed bytes: whatever was written last. The LMS overwrites the trashed
// file between its copy and its delete (a user uploading a new file at the
// same key); the delete, sent by version with no condition, deletes the
// LMS's new file, which is then nowhere, and the record says in_trash.
// (The runner probes the bucket while versioning is still enabled, as the
// daily probe may have: a probe of a suspended bucket leaves "null" delete
// markers that SeaweedFS cannot remove, and the bucket could not be
// cleaned up. The move takes the same path after a probe of the suspended
// bucket: the object's version, not the probe's answer, decides.)
func TestReviewSuspendedVersioningNeverDeletesANewerFile(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	versioning := func(status types.BucketVersioningStatus) {
		_, err := w.SDK.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String(w.Source),
			VersioningConfiguration: &types.VersioningConfiguration{Status: status}})
		testworld.Must(t, err)
	}
	versioning(types.BucketVersioningStatusEnabled)
	r := w.Runner(t, w.Config("owner-a"))
	if _, err := r.Conditions(t.Context(), w.Source); err != nil {
		t.Fatalf("probe the source bucket: %v", err)
	}
	versioning(types.BucketVersioningStatusSuspended)

	const key = "docs/suspended.txt"
	id := w.AddFile(t, key, testworld.Body("suspended-old", 500), true, 0)
	head, err := w.SDK.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(w.Source), Key: aws.String(key)})
	testworld.Must(t, err)
	if v := aws.ToString(head.VersionId); v != "null" {
		t.Fatalf("HEAD of an object written while versioning is suspended answers version %q, want \"null\"", v)
	}

	newer := testworld.Body("suspended-new", 500)
	var overwritten atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		if s3test.Deletes(w.Source, key)(r) && overwritten.CompareAndSwap(false, true) {
			putBehind(t, w.Env, w.Source, key, newer)
		}
		return s3test.Fault{}
	})
	run(t, r)
	if !overwritten.Load() {
		t.Fatal("no delete of the source was sent")
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateInTrash {
		t.Fatalf("record %s (%q), want in_trash: the trashed file's copy is verified", rec.State, rec.LastError)
	}
	wantObject(t, w.Env, w.Source, key, newer, "the file the LMS wrote after the copy")
}
