package reconcile_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// awsLike makes the trash copy at key answer and HEAD as AWS gives a copy in
// one request of a multipart source: an MD5 ETag of its own (own).
func awsLike(w *faultWorld, key, own string, more func(r *http.Request, op, b, k string) (s3test.Fault, bool)) {
	w.setRule(func(r *http.Request) s3test.Fault {
		b, k := s3test.BucketKey(r)
		op := s3test.Operation(r)
		if more != nil {
			if f, ok := more(r, op, b, k); ok {
				return f
			}
		}
		switch {
		case op == "CopyObject" && b == w.Trash && (!s3test.IsProbe(r) || strings.HasPrefix(k, proofPrefix)):
			return s3test.Fault{EditResponse: setCopyETag(own)}
		case op == "HeadObject" && b == w.Trash && k == key:
			return s3test.Fault{EditResponse: func(r *http.Response) { r.Header.Set("ETag", own) }}
		}
		return s3test.Fault{}
	})
}

// A multipart source whose copy has an MD5 ETag of its own, and whose
// second copy (the proof) is refused for good (403 here): nothing was
// deleted, the source is where it was, so the record must not say in_trash.
func TestAsIsProofUnprovenIsNoMove(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("aws-like", 11<<20)
	id := w.AddFile(t, "aws/multi.bin", body, true, 5<<20)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "aws/multi.bin")
	awsLike(w, key, md5ETag(body), func(r *http.Request, op, b, k string) (s3test.Fault, bool) {
		if op == "CopyObject" && b == w.Trash && strings.HasPrefix(k, proofPrefix) {
			return s3test.Fault{Status: 403, Code: "AccessDenied", Message: "no"}, true
		}
		return s3test.Fault{}, false
	})
	sum := run(t, w.Runner(t, w.Config("owner-a")))
	rec := ruleRecord(t, w.Env, id)
	t.Logf("counts %+v; record %s, source ETag %q, last_error %q", sum.Counts, rec.State, rec.SourceETag, rec.LastError)
	wantObject(t, w.Env, w.Source, "aws/multi.bin", body, "the source (never deleted)")
	if rec.State == reconcile.StateInTrash {
		t.Errorf("record in_trash (moved %d) while its source is still at its key", sum.Counts.Moved)
	}
}

// The same with attempts run out (MaxAttempts 1) on a transient failure of
// the delete: the record is copied with the copy's answer as its source
// identity, the source untouched.
func TestAsIsProofExhaustedIsNoMove(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("aws-like 2", 11<<20)
	id := w.AddFile(t, "aws/multi2.bin", body, true, 5<<20)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "aws/multi2.bin")
	awsLike(w, key, md5ETag(body), func(r *http.Request, op, b, k string) (s3test.Fault, bool) {
		if b == w.Source && s3test.IsDelete(r) && !s3test.IsProbe(r) {
			return s3test.Fault{Status: 503, Code: "ServiceUnavailable", Message: "busy"}, true
		}
		return s3test.Fault{}, false
	})
	cfg := w.Config("owner-a")
	cfg.MaxAttempts, cfg.FailAfter = 1, time.Nanosecond
	sum := run(t, w.Runner(t, cfg))
	rec := ruleRecord(t, w.Env, id)
	t.Logf("counts %+v; record %s, source ETag %q, last_error %q", sum.Counts, rec.State, rec.SourceETag, rec.LastError)
	wantObject(t, w.Env, w.Source, "aws/multi2.bin", body, "the source (never deleted)")
	if rec.State == reconcile.StateInTrash {
		t.Errorf("record in_trash (moved %d) while its source is still at its key", sum.Counts.Moved)
	}
}

// A restore of a record left copied by the copy's answer (its delete failed
// for now) whose source is multipart: the key still holds the trashed
// bytes, so nothing should be restored beside it.
func TestAsIsProofRestoreOfCopied(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("aws-like 3", 11<<20)
	id := w.AddFile(t, "aws/multi3.bin", body, true, 5<<20)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "aws/multi3.bin")
	var beside atomic.Bool
	awsLike(w, key, md5ETag(body), func(r *http.Request, op, b, k string) (s3test.Fault, bool) {
		if b == w.Source && strings.Contains(k, ".restored-") {
			beside.Store(true)
		}
		if b == w.Source && s3test.IsDelete(r) && !s3test.IsProbe(r) {
			return s3test.Fault{Status: 503, Code: "ServiceUnavailable", Message: "busy"}, true
		}
		return s3test.Fault{}, false
	})
	cfg := w.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	r := w.Runner(t, cfg)
	run(t, r)
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateCopied {
		t.Fatalf("record %s (%q), want copied", rec.State, rec.LastError)
	}
	w.Untrash(t, id)
	makeDue(t, w.Env)
	sum := run(t, r)
	rec = ruleRecord(t, w.Env, id)
	t.Logf("counts %+v; record %s at %q, last_error %q", sum.Counts, rec.State, rec.RestoredKey, rec.LastError)
	wantObject(t, w.Env, w.Source, "aws/multi3.bin", body, "the source")
	if beside.Load() {
		t.Errorf("the restore went for the key beside the original (record %s, %q) although the original key holds the trashed bytes", rec.State, rec.LastError)
	}
	if rec.RestoredKey != "" && rec.RestoredKey != "aws/multi3.bin" {
		t.Errorf("restored beside the original at %q (%q) although the original key holds the trashed bytes", rec.RestoredKey, rec.LastError)
	}
}

// A copy left at the trash key by the copy as it is (its answer no proof:
// here encrypted with KMS) of a multipart source, found by the move alone:
// a transient failure of the second copy that proves it must leave the
// record to be retried, not failed for good as "another object".
func TestAsIsTransientProofIsNoFailure(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("aws-like 4", 11<<20)
	id := w.AddFile(t, "aws/multi4.bin", body, true, 5<<20)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "aws/multi4.bin")
	own := md5ETag(body)
	awsLike(w, key, own, func(r *http.Request, op, b, k string) (s3test.Fault, bool) {
		switch {
		case op == "CopyObject" && b == w.Trash && strings.HasPrefix(k, proofPrefix):
			return s3test.Fault{Status: 503, Code: "ServiceUnavailable", Message: "busy"}, true
		case op == "CopyObject" && b == w.Trash && k == key:
			return s3test.Fault{EditResponse: func(r *http.Response) {
				setCopyETag(own)(r)
				r.Header.Set("x-amz-server-side-encryption", "aws:kms")
			}}, true
		}
		return s3test.Fault{}, false
	})
	cfg := w.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour // tried again later, not three times at once
	sum := run(t, w.Runner(t, cfg))
	rec := ruleRecord(t, w.Env, id)
	t.Logf("counts %+v; record %s, last_error %q", sum.Counts, rec.State, rec.LastError)
	wantObject(t, w.Env, w.Source, "aws/multi4.bin", body, "the source")
	if rec.State == reconcile.StateFailed || !strings.Contains(rec.LastError, "nothing proves yet") {
		t.Errorf("record %s (%q): want it left to be tried again, saying nothing proves the copy yet", rec.State, rec.LastError)
	}
}

// Without the transient failure, the move alone proves that copy by a second
// one, and moves the object.
func TestAsIsProofOfAnEncryptedCopyAlone(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("aws-like 4", 11<<20)
	id := w.AddFile(t, "aws/multi5.bin", body, true, 5<<20)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "aws/multi5.bin")
	own := md5ETag(body)
	awsLike(w, key, own, func(r *http.Request, op, b, k string) (s3test.Fault, bool) {
		switch {
		case op == "CopyObject" && b == w.Trash && k == key:
			return s3test.Fault{EditResponse: func(r *http.Response) {
				setCopyETag(own)(r)
				r.Header.Set("x-amz-server-side-encryption", "aws:kms")
			}}, true
		}
		return s3test.Fault{}, false
	})
	sum := run(t, w.Runner(t, w.Config("owner-a")))
	rec := ruleRecord(t, w.Env, id)
	t.Logf("counts %+v; record %s, last_error %q", sum.Counts, rec.State, rec.LastError)
	wantNoObject(t, w.Env, w.Source, "aws/multi5.bin", "the moved source")
	if rec.State != reconcile.StateInTrash {
		t.Errorf("record %s (%q), want in_trash", rec.State, rec.LastError)
	}
}
