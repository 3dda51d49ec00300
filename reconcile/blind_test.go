package reconcile_test

import (
	"bytes"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
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

// The move of one request (blind.go), against the real server: SeaweedFS
// proves If-None-Match on copies and If-Match on deletes, and the test
// world's source bucket keeps no versions, so a pass moves by the copy's
// answer alone unless told to HEAD first.

// sizes reads a record's recorded source and copy sizes (-1 for NULL).
func sizes(t *testing.T, w *faultWorld, lmsID int64) (src, copy int64) {
	t.Helper()
	var s, c sql.NullInt64
	testworld.Must(t, w.DB.QueryRow("SELECT source_size, trash_size FROM trash_objects WHERE lms_id = ?", lmsID).Scan(&s, &c))
	src, copy = -1, -1
	if s.Valid {
		src = s.Int64
	}
	if c.Valid {
		copy = c.Int64
	}
	return src, copy
}

// A batch of single-part objects, odd keys and empty ones among them, is
// moved with one CopyObject each, sent unread and never over anything, and
// one DeleteObjects for all, each source on condition of the ETag its
// copy's answer gave: one request in series per object, no HEAD before the
// delete. The records say the sizes are still to be filled.
func TestAsIsMovesInOneRequestPerObject(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	keys := []string{"a.pdf", "empty", "odd/ünï cödé+%20&=?#.txt", "odd/  spaces  ", "deep/a/b/c/d/e.bin"}
	for i := range 25 {
		keys = append(keys, "many/"+strings.Repeat("x", i)+".bin")
	}
	etags, bodies, ids := map[string]string{}, map[string][]byte{}, map[string]int64{}
	for _, key := range keys {
		body := testworld.Body(key, 700)
		if key == "empty" {
			body = nil
		}
		bodies[key] = body
		ids[key] = w.AddFile(t, key, body, true, 0)
		etags[key] = `"` + w.head(t, key).ETag + `"`
	}
	var ops opCounter
	var wrongETag, readFirst, unguarded atomic.Int32
	w.setRule(func(r *http.Request) s3test.Fault {
		if s3test.IsProbe(r) {
			return s3test.Fault{}
		}
		b, _ := s3test.BucketKey(r)
		if b == w.Source || s3test.Operation(r) == "CopyObject" {
			ops.see(r)
		}
		switch s3test.Operation(r) {
		case "CopyObject":
			if r.Header.Get("x-amz-copy-source-if-match") != "" || r.Header.Get("If-None-Match") != "*" {
				unguarded.Add(1)
			}
		case "HeadObject":
			if ops.get("DeleteObjects") == 0 {
				readFirst.Add(1)
			}
		}
		for _, o := range s3test.DeleteObjectsOf(r) {
			if o.ETag == "" || o.ETag != etags[o.Key] {
				wrongETag.Add(1)
			}
		}
		return s3test.Fault{}
	})
	cfg := w.Config("owner-a")
	cfg.Archive.LifecycleMode = reconcile.LifecycleOff // no transition check yet, which would fill the sizes in
	sum := run(t, w.Runner(t, cfg))
	if sum.Counts.Moved != len(keys) || sum.Counts.Failed+sum.Counts.Retrying != 0 {
		t.Fatalf("counts %+v: want all %d moved", sum.Counts, len(keys))
	}
	n := int64(len(keys))
	// The deletes go in groups as the copies come in (flow.go): a few
	// DeleteObjects (more on a busy machine, whose copies come slower),
	// never one per object.
	if h, c, d := ops.get("HeadObject"), ops.get("CopyObject"), ops.get("DeleteObjects"); h != 0 || c != n || d < 1 || d > n/5 || ops.get("DeleteObject") != 0 {
		t.Errorf("requests: %d HEAD of a source, %d CopyObject, %d DeleteObjects, %d DeleteObject; want 0, %d, 1 to %d, 0",
			h, c, d, ops.get("DeleteObject"), n, n/5)
	}
	if got := float64(ops.get("HeadObject")+ops.get("CopyObject")+ops.get("DeleteObjects")) / float64(n); got > 1.2 {
		t.Errorf("%.3f requests per object, want at most 1.2", got)
	}
	if readFirst.Load() != 0 {
		t.Errorf("%d HEADs before the delete, want none", readFirst.Load())
	}
	if unguarded.Load() != 0 {
		t.Errorf("%d copies not sent unread with If-None-Match: *", unguarded.Load())
	}
	if wrongETag.Load() != 0 {
		t.Errorf("%d objects of the batched delete carried no ETag or another than the source's", wrongETag.Load())
	}
	for _, key := range keys {
		rec := ruleRecord(t, w.Env, ids[key])
		if rec.State != reconcile.StateInTrash || `"`+rec.SourceETag+`"` != etags[key] || rec.TrashETag != rec.SourceETag {
			t.Errorf("%q: record %s, source ETag %q, copy ETag %q; want in_trash with the source's ETag %s for both", key, rec.State, rec.SourceETag, rec.TrashETag, etags[key])
		}
		if s, c := sizes(t, w, ids[key]); s != -1 || c != -1 {
			t.Errorf("%q: sizes %d, %d recorded; want both left to be filled (NULL)", key, s, c)
		}
		if d := w.deletes(w.Source, key); d != 1 {
			t.Errorf("%q: deleted %d times, want once", key, d)
		}
		wantObject(t, w.Env, w.Trash, rec.TrashKey, bodies[key], "the trash copy of "+key)
		wantNoObject(t, w.Env, w.Source, key, "the source of "+key)
	}
	// The transition check's HEAD of each copy fills the sizes in.
	w.setRule(nil)
	run(t, w.Runner(t, w.Config("owner-a")))
	for _, key := range keys {
		if s, c := sizes(t, w, ids[key]); s != int64(len(bodies[key])) || c != s {
			t.Errorf("%q: sizes %d, %d after a transition check; want %d", key, s, c, len(bodies[key]))
		}
	}
	w.CheckInvariant(t)
}

// A multipart source whose copy keeps its multipart ETag (SeaweedFS) has no
// MD5 in its copy's answer: nothing is deleted on it, and the move alone
// takes it from HEAD, finds the copy at the trash key and proves it.
func TestAsIsMultipartSourceGoesOnFromHead(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("multipart", 11<<20)
	id := w.AddFile(t, "big/multi.bin", body, true, 5<<20)
	etag := w.head(t, "big/multi.bin").ETag
	if !strings.Contains(etag, "-") {
		t.Fatalf("the source's ETag %q is no multipart one", etag)
	}
	var deleteBeforeHead atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		if s3test.IsDelete(r) && w.sent("HeadObject", w.Source, "big/multi.bin") == 0 {
			deleteBeforeHead.Store(true)
		}
		return s3test.Fault{}
	})
	if sum := run(t, w.Runner(t, w.Config("owner-a"))); sum.Counts.Moved != 1 {
		t.Fatalf("counts %+v: want moved", sum.Counts)
	}
	if deleteBeforeHead.Load() {
		t.Error("a delete was sent before the source was read")
	}
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateInTrash || rec.SourceETag != etag {
		t.Errorf("record %s with source ETag %q; want in_trash with %q", rec.State, rec.SourceETag, etag)
	}
	if s, _ := sizes(t, w, id); s != int64(len(body)) {
		t.Errorf("source size %d recorded, want %d (HEAD read it)", s, len(body))
	}
	wantObject(t, w.Env, w.Trash, rec.TrashKey, body, "the trash copy")
	wantNoObject(t, w.Env, w.Source, "big/multi.bin", "the source")
	w.CheckInvariant(t)
}

// md5ETag is the quoted MD5 of body: the ETag AWS gives a copy in one
// request of a multipart source.
func md5ETag(body []byte) string {
	sum := md5.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// setCopyETag makes a CopyObject answer give etag.
func setCopyETag(etag string) func(*http.Response) {
	return func(r *http.Response) {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		body = regexp.MustCompile(`<ETag>[^<]*</ETag>`).ReplaceAll(body, []byte("<ETag>"+strings.ReplaceAll(etag, `"`, "&#34;")+"</ETag>"))
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		r.Header.Del("Content-Length")
	}
}

// A multipart source copied as AWS copies it in one request — the copy
// gets an MD5 ETag of its own (and so would an SSE-KMS copy, an ETag that is
// not the source's) — is refused its delete on the copy's ETag; the full
// proof follows with the lease held: a second copy of the source as it is
// now has the same MD5, so the first holds the source's bytes, and the
// source is recorded as HEAD sees it and deleted on its own ETag. The
// second copy is removed; nothing was deleted before the proof.
func TestAsIsCopyWithAnETagOfItsOwn(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("aws-like", 11<<20)
	id := w.AddFile(t, "aws/multi.bin", body, true, 5<<20)
	real := w.head(t, "aws/multi.bin").ETag
	own := md5ETag(body)
	key := w.Config("x").TrashKeys.Render(id, w.Source, "aws/multi.bin")
	var (
		mu      sync.Mutex
		deletes []string // the If-Match or per-object ETag of each delete of the source
		proofs  atomic.Int32
	)
	w.setRule(func(r *http.Request) s3test.Fault {
		b, k := s3test.BucketKey(r)
		switch op := s3test.Operation(r); {
		case op == "CopyObject" && b == w.Trash && (k == key || strings.HasPrefix(k, proofPrefix)):
			if k != key {
				proofs.Add(1)
			}
			return s3test.Fault{EditResponse: setCopyETag(own)}
		case op == "HeadObject" && b == w.Trash && k == key:
			return s3test.Fault{EditResponse: func(r *http.Response) { r.Header.Set("ETag", own) }}
		case b == w.Source && s3test.IsDelete(r):
			mu.Lock()
			for _, o := range s3test.DeleteObjectsOf(r) {
				deletes = append(deletes, o.ETag)
			}
			if op == "DeleteObject" {
				deletes = append(deletes, r.Header.Get("If-Match"))
			}
			mu.Unlock()
		}
		return s3test.Fault{}
	})
	if sum := run(t, w.Runner(t, w.Config("owner-a"))); sum.Counts.Moved != 1 || sum.Counts.Failed != 0 {
		t.Fatalf("counts %+v: want moved", sum.Counts)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(deletes) != 2 || deletes[0] != own || deletes[1] != `"`+real+`"` {
		t.Errorf("deletes of the source on %q; want one on the copy's ETag %s (refused), then one on the source's own %q", deletes, own, real)
	}
	if proofs.Load() != 1 {
		t.Errorf("%d second copies made, want 1", proofs.Load())
	}
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateInTrash || rec.SourceETag != real || `"`+rec.TrashETag+`"` != own {
		t.Errorf("record %s, source ETag %q, copy ETag %q; want in_trash with the source's %q and the copy's %s", rec.State, rec.SourceETag, rec.TrashETag, real, own)
	}
	if s, c := sizes(t, w, id); s != int64(len(body)) || c != int64(len(body)) {
		t.Errorf("sizes %d, %d recorded; want %d for both (HEAD read them in the proof)", s, c, len(body))
	}
	wantObject(t, w.Env, w.Trash, key, body, "the trash copy")
	wantNoProofs(t, w)
	wantNoObject(t, w.Env, w.Source, "aws/multi.bin", "the source")
	w.CheckInvariant(t)
}

// One DeleteObjects in which sources were rewritten since their copies
// (one to other bytes of another size, one to other bytes of the same
// size, which only the second copy tells apart) and one is gone: the others
// are deleted, each rewritten key's new object is left in place with a note
// and its copy holds the trashed file, and the gone one is moved.
func TestAsIsSourcesRewrittenBeforeTheirDelete(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	keys := []string{"rw/1", "rw/longer", "rw/same-size", "rw/gone", "rw/5"}
	ids, bodies := map[string]int64{}, map[string][]byte{}
	for _, key := range keys {
		bodies[key] = testworld.Body(key, 500)
		ids[key] = w.AddFile(t, key, bodies[key], true, 0)
	}
	newer := map[string][]byte{"rw/longer": testworld.Body("longer", 900), "rw/same-size": testworld.Body("same size", 500)}
	var once atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); b == w.Source && s3test.Operation(r) == "DeleteObjects" && !s3test.IsProbe(r) && once.CompareAndSwap(false, true) {
			if w.sent("HeadObject", w.Source, "rw/1") != 0 {
				t.Error("a source was read before its delete")
			}
			for key, body := range newer {
				putBehind(t, w.Env, w.Source, key, body)
			}
			deleteBehind(t, w.Env, w.Source, "rw/gone")
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
		if body, ok := newer[key]; ok {
			wantObject(t, w.Env, w.Source, key, body, "the new object at "+key)
			if !strings.Contains(rec.LastError, "left in place") {
				t.Errorf("%s: last_error %q, want a note that the new object was left in place", key, rec.LastError)
			}
			// The new object is the LMS's file now, not the trashed one.
			w.Forget(ids[key])
			continue
		}
		wantNoObject(t, w.Env, w.Source, key, "the source of "+key)
	}
	wantNoProofs(t, w)
	w.CheckInvariant(t)
}

// proofPrefix is where the full proof's second copies go.
const proofPrefix = reconcile.ProbePrefix + "proof/"

// wantNoProofs fails t if a second copy made for a proof is left in the
// trash bucket.
func wantNoProofs(t *testing.T, w *faultWorld) {
	t.Helper()
	out, err := w.SDK.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(w.Trash), Prefix: aws.String(proofPrefix)})
	testworld.Must(t, err)
	for _, o := range out.Contents {
		t.Errorf("a second copy made for a proof is left: s3://%s/%s", w.Trash, aws.ToString(o.Key))
	}
}

// A copy answered as encrypted with KMS (its ETag no MD5) is no proof: the
// object goes on alone from HEAD, and the bucket's next objects are read
// first.
func TestAsIsKMSAnswerTurnsTheBucketToHeadFirst(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	first := w.AddFile(t, "kms/1", testworld.Body("kms1", 300), true, 0)
	var kms atomic.Int32
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); s3test.Operation(r) == "CopyObject" && b == w.Trash {
			kms.Add(1)
			return s3test.Fault{EditResponse: func(r *http.Response) { r.Header.Set("x-amz-server-side-encryption", "aws:kms") }}
		}
		return s3test.Fault{}
	})
	r := w.Runner(t, w.Config("owner-a"))
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("first pass %+v: want moved", sum.Counts)
	}
	if kms.Load() == 0 {
		t.Fatal("no copy was answered as encrypted: the fault did not fire")
	}
	if n := w.sent("HeadObject", w.Source, "kms/1"); n == 0 {
		t.Error("the source whose copy's answer is no proof was not read before its delete")
	}
	if rec := ruleRecord(t, w.Env, first); rec.State != reconcile.StateInTrash {
		t.Errorf("record %s (%q), want in_trash", rec.State, rec.LastError)
	}
	second := w.AddFile(t, "kms/2", testworld.Body("kms2", 300), true, 0)
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("second pass %+v: want moved", sum.Counts)
	}
	if n := w.sent("HeadObject", w.Source, "kms/2"); n == 0 {
		t.Error("the bucket's next source was not read first")
	}
	if s, _ := sizes(t, w, second); s != 300 {
		t.Errorf("size %d recorded, want 300 (read by HEAD)", s)
	}
	w.CheckInvariant(t)
}

// Where the trash bucket does not prove If-None-Match on copies, no copy
// is sent unread: every source is read by HEAD before its copy.
func TestAsIsNeedsProvenConditions(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	for _, key := range []string{"cond/a", "cond/b"} {
		w.AddFile(t, key, testworld.Body(key, 300), true, 0)
	}
	var unread atomic.Int32
	w.setRule(func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) == "CopyObject" && !s3test.IsProbe(r) && r.Header.Get("x-amz-copy-source-if-match") == "" {
			unread.Add(1)
		}
		return s3test.Fault{}
	})
	cfg := w.Config("owner-a")
	cfg.Forbid = map[reconcile.Condition]string{reconcile.CondCopyIfNoneMatch: "TRASHD_S3_FORBID"}
	if sum := run(t, w.Runner(t, cfg)); sum.Counts.Moved != 2 {
		t.Fatalf("counts %+v: want both moved", sum.Counts)
	}
	if unread.Load() != 0 {
		t.Errorf("%d copies sent unread where the trash bucket proves no If-None-Match", unread.Load())
	}
	for _, key := range []string{"cond/a", "cond/b"} {
		if w.sent("HeadObject", w.Source, key) == 0 {
			t.Errorf("%s was not read before its copy", key)
		}
	}
	w.CheckInvariant(t)
}
