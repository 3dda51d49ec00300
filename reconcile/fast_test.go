package reconcile_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// The fast path's own rules, against the real server. Every other rule
// test runs on it too: a pass takes it unless MoveBatch is 1.

// opCounter counts the requests of each operation the client sends (one per
// request, where FaultTransport.Requests lists a DeleteObjects once per key).
type opCounter struct{ n [8]atomic.Int64 }

var countedOps = []string{"HeadObject", "CopyObject", "DeleteObjects", "DeleteObject", "UploadPartCopy", "PutObject"}

func (c *opCounter) see(r *http.Request) {
	for i, op := range countedOps {
		if s3test.Operation(r) == op {
			c.n[i].Add(1)
		}
	}
}

func (c *opCounter) get(op string) int64 {
	for i, o := range countedOps {
		if o == op {
			return c.n[i].Load()
		}
	}
	return -1
}

// With a HEAD first (TRASHD_S3_HEAD_FIRST), a batch of single-part objects,
// odd keys and empty ones among them, is moved with a HEAD and a CopyObject each and one DeleteObjects for all:
// no copy is read back, every source is deleted once, on its ETag.
func TestFastMovesInTwoRequestsPerObject(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	keys := []string{"a.pdf", "empty", "odd/ünï cödé+%20&=?#.txt", "odd/  spaces  ", "deep/a/b/c/d/e.bin"}
	for i := range 25 {
		keys = append(keys, "many/"+strings.Repeat("x", i)+".bin")
	}
	etags := map[string]string{}
	for _, key := range keys {
		body := testworld.Body(key, 700)
		if key == "empty" {
			body = nil
		}
		w.AddFile(t, key, body, true, 0)
		etags[key] = `"` + w.head(t, key).ETag + `"`
	}
	var ops opCounter
	var wrongETag atomic.Int32
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); !s3test.IsProbe(r) && (b == w.Source || s3test.Operation(r) == "CopyObject") {
			ops.see(r)
			for _, o := range s3test.DeleteObjectsOf(r) {
				if o.ETag == "" || o.ETag != etags[o.Key] {
					wrongETag.Add(1)
				}
			}
		}
		return s3test.Fault{}
	})
	cfg := w.Config("owner-a")
	cfg.HeadFirst = true // the one-request move: TestAsIsMovesInOneRequestPerObject
	sum := run(t, w.Runner(t, cfg))
	if sum.Counts.Moved != len(keys) || sum.Counts.Failed+sum.Counts.Retrying != 0 {
		t.Fatalf("counts %+v: want all %d moved", sum.Counts, len(keys))
	}
	n := int64(len(keys))
	// The deletes go in groups as the copies come in (flow.go): a few
	// DeleteObjects (more on a busy machine, whose copies come slower),
	// never one per object.
	if h, c, d := ops.get("HeadObject"), ops.get("CopyObject"), ops.get("DeleteObjects"); h != n || c != n || d < 1 || d > n/5 || ops.get("DeleteObject") != 0 {
		t.Errorf("requests on the source: %d HEAD, %d CopyObject, %d DeleteObjects, %d DeleteObject; want %d, %d, 1 to %d, 0",
			h, c, d, ops.get("DeleteObject"), n, n, n/5)
	}
	if got := float64(ops.get("HeadObject")+ops.get("CopyObject")+ops.get("DeleteObjects")) / float64(n); got > 2.2 {
		t.Errorf("%.3f requests per object, want at most 2.2", got)
	}
	for _, key := range keys {
		rec := ruleRecord(t, w.Env, w.lmsID(t, key))
		if w.sent("HeadObject", w.Trash, rec.TrashKey) != 0 {
			t.Errorf("%q: the copy was read back", key)
		}
		if d := w.deletes(w.Source, key); d != 1 {
			t.Errorf("%q: deleted %d times, want once", key, d)
		}
	}
	if wrongETag.Load() != 0 {
		t.Errorf("%d objects of the batched delete carried no ETag or another than copied", wrongETag.Load())
	}
	w.CheckInvariant(t)
}

// editCopyETag rewrites the ETag in a CopyObject response's body, as a
// server whose ETags are no MD5 (KMS) would answer.
func editCopyETag(r *http.Response) {
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	body = regexp.MustCompile(`<ETag>[^<]*</ETag>`).ReplaceAll(body, []byte(`<ETag>&#34;0123456789abcdef0123456789abcdef&#34;</ETag>`))
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.Header.Del("Content-Length")
}

// A copy whose response does not prove it (another ETag than the source's)
// is read back by HEAD before anything is deleted, as on the move of one
// object; here the copy holds the bytes, so it is moved.
func TestFastUnprovenCopyReadBack(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("kms", 900)
	id := w.AddFile(t, "kms/like.bin", body, true, 0)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "kms/like.bin")
	var headBeforeDelete atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		switch {
		case request("CopyObject", w.Trash, key)(r):
			return s3test.Fault{EditResponse: editCopyETag}
		case request("HeadObject", w.Trash, key)(r) && w.deletes(w.Source, "kms/like.bin") == 0:
			headBeforeDelete.Store(true)
		}
		return s3test.Fault{}
	})
	cfg := w.Config("owner-a")
	cfg.HeadFirst = true // moved by the answer alone: TestAsIsCopyWithAnETagOfItsOwn
	if sum := run(t, w.Runner(t, cfg)); sum.Counts.Moved != 1 {
		t.Fatalf("counts %+v: want moved", sum.Counts)
	}
	if !headBeforeDelete.Load() {
		t.Error("the unproven copy was not read back before the delete")
	}
	rec := ruleRecord(t, w.Env, id)
	wantObject(t, w.Env, w.Trash, rec.TrashKey, body, "the trash copy")
	w.CheckInvariant(t)
}

// And when the read-back disagrees too, nothing is deleted: the record
// fails, and the source stays.
func TestFastUnprovenCopyOfOtherBytesFails(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("other", 900)
	id := w.AddFile(t, "other/bytes.bin", body, true, 0)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "other/bytes.bin")
	w.setRule(func(r *http.Request) s3test.Fault {
		switch {
		case request("CopyObject", w.Trash, key)(r):
			return s3test.Fault{EditResponse: editCopyETag}
		case request("HeadObject", w.Trash, key)(r):
			return s3test.Fault{EditResponse: func(r *http.Response) { r.Header.Set("ETag", `"00000000000000000000000000000000"`) }}
		}
		return s3test.Fault{}
	})
	cfg := w.Config("owner-a")
	cfg.HeadFirst = true // moved by the answer alone: TestAsIsCopyWithAnETagOfItsOwn
	sum := run(t, w.Runner(t, cfg))
	if sum.Counts.Moved != 0 || sum.Counts.Failed != 1 {
		t.Errorf("counts %+v: want failed, not moved", sum.Counts)
	}
	if n := w.deletes(w.Source, "other/bytes.bin"); n != 0 {
		t.Errorf("%d deletes of a source whose copy is not proven", n)
	}
	wantObject(t, w.Env, w.Source, "other/bytes.bin", body, "the source")
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "never overwrites") {
		t.Errorf("record %s (%q): want failed, saying the trash key holds another object", rec.State, rec.LastError)
	}
}

// One DeleteObjects in which one source was overwritten since its copy
// (its condition fails) and one is already gone: the others are deleted,
// the overwritten key's new object is left in place with a note, and the
// gone one is moved.
func TestFastBatchDeleteSomeRefusedSomeGone(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	keys := []string{"mix/1", "mix/overwritten", "mix/gone", "mix/4", "mix/5"}
	ids := map[string]int64{}
	bodies := map[string][]byte{}
	for _, key := range keys {
		bodies[key] = testworld.Body(key, 500)
		ids[key] = w.AddFile(t, key, bodies[key], true, 0)
	}
	newer := []byte("uploaded again after the copy")
	var once atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); b == w.Source && s3test.IsDelete(r) && s3test.Operation(r) == "DeleteObjects" && once.CompareAndSwap(false, true) {
			if n := len(s3test.DeleteObjectsOf(r)); n != len(keys) {
				t.Errorf("the batch names %d objects, want %d", n, len(keys))
			}
			putBehind(t, w.Env, w.Source, "mix/overwritten", newer)
			deleteBehind(t, w.Env, w.Source, "mix/gone")
		}
		return s3test.Fault{}
	})
	cfg := w.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	sum := run(t, w.Runner(t, cfg))
	if !once.Load() {
		t.Fatal("no DeleteObjects was sent")
	}
	if sum.Counts.Moved != len(keys) || sum.Counts.Failed+sum.Counts.Retrying != 0 {
		t.Errorf("counts %+v: want all %d moved", sum.Counts, len(keys))
	}
	for _, key := range keys {
		rec := ruleRecord(t, w.Env, ids[key])
		if rec.State != reconcile.StateInTrash {
			t.Errorf("%s: state %s (%q), want in_trash", key, rec.State, rec.LastError)
		}
		wantObject(t, w.Env, w.Trash, rec.TrashKey, bodies[key], "the trash copy of "+key)
		switch key {
		case "mix/overwritten":
			wantObject(t, w.Env, w.Source, key, newer, "the new object")
			if !strings.Contains(rec.LastError, "left in place") {
				t.Errorf("%s: last_error %q, want a note that the new object was left in place", key, rec.LastError)
			}
		default:
			wantNoObject(t, w.Env, w.Source, key, "the source of "+key)
		}
	}
	// The new object is the LMS's file now, not the trashed one.
	w.Forget(ids["mix/overwritten"])
	w.CheckInvariant(t)
}

// A server that refuses DeleteObjects' per-object conditions (501) gets one
// conditional DeleteObject per source instead; nothing is deleted without
// its condition.
func TestFastWithoutBatchConditions(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	var unconditional atomic.Int32
	w.setRule(func(r *http.Request) s3test.Fault {
		switch s3test.Operation(r) {
		case "DeleteObjects":
			return s3test.Fault{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "no conditions in batches here"}
		case "DeleteObject":
			if b, _ := s3test.BucketKey(r); b == w.Source && r.Header.Get("If-Match") == "" && s3test.IsDelete(r) {
				unconditional.Add(1)
			}
		}
		return s3test.Fault{}
	})
	var keys []string
	for _, key := range []string{"one/a", "one/b", "one/c"} {
		w.AddFile(t, key, testworld.Body(key, 300), true, 0)
		keys = append(keys, key)
	}
	if sum := run(t, w.Runner(t, w.Config("owner-a"))); sum.Counts.Moved != len(keys) {
		t.Fatalf("counts %+v: want all moved", sum.Counts)
	}
	for _, key := range keys {
		if n := w.sent("DeleteObject", w.Source, key); n != 1 {
			t.Errorf("%s: %d DeleteObject, want 1", key, n)
		}
	}
	if n := unconditional.Load(); n != 0 {
		t.Errorf("%d deletes of a source without If-Match", n)
	}
	w.CheckInvariant(t)
}

// head HEADs key in the source bucket.
func (w *faultWorld) head(t *testing.T, key string) reconcile.Object {
	t.Helper()
	obj, err := w.S3.Head(t.Context(), w.Source, key)
	if err != nil {
		t.Fatalf("HEAD %s: %v", key, err)
	}
	return obj
}

// lmsID is the LMS row of the record of key.
func (w *faultWorld) lmsID(t *testing.T, key string) int64 {
	t.Helper()
	var id int64
	if err := w.DB.QueryRow("SELECT lms_id FROM trash_objects WHERE source_key = ?", key).Scan(&id); err != nil {
		t.Fatalf("the record of %q: %v", key, err)
	}
	return id
}

// A server that ignores If-None-Match on copies (TRASHD_S3_IF_NONE_MATCH=
// false): one request cannot prove the trash key was free, so every object
// goes one by one, its trash key checked with HEAD before its copy, and is
// moved; the batch still deletes nothing itself.
func TestFastWithoutIfNoneMatch(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t, func(o *s3ops.Options) { o.NoOverwriteByHead = true })
	var keys []string
	for _, key := range []string{"inm/a", "inm/b"} {
		w.AddFile(t, key, testworld.Body(key, 300), true, 0)
		keys = append(keys, key)
	}
	if sum := run(t, w.Runner(t, w.Config("owner-a"))); sum.Counts.Moved != len(keys) {
		t.Fatalf("counts %+v: want all moved", sum.Counts)
	}
	for _, key := range keys {
		rec := ruleRecord(t, w.Env, w.lmsID(t, key))
		if n := w.sent("HeadObject", w.Trash, rec.TrashKey); n == 0 {
			t.Errorf("%s: its trash key was not checked before the copy", key)
		}
	}
	w.CheckInvariant(t)
}
