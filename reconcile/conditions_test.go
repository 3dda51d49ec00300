package reconcile_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// The paths trashd takes on a bucket by what its probe proves, against the
// real server: where a condition is forbidden (TRASHD_S3_FORBID), trashd
// acts as on a server that does not honour it. (The same paths on servers
// that really ignore the conditions: the moto and versitygw tests.)

// requestLog records, in order, each request's operation, bucket/key and
// conditional headers.
type requestLog struct {
	mu   sync.Mutex
	reqs []loggedRequest
}

type loggedRequest struct {
	op, bucket, key       string
	ifMatch, ifNoneMatch  string
	copySourceIfMatch     string
	deleteObjectsWithETag bool
}

func (l *requestLog) see(r *http.Request) {
	if s3test.IsProbe(r) {
		return
	}
	b, k := s3test.BucketKey(r)
	lr := loggedRequest{op: s3test.Operation(r), bucket: b, key: k, ifMatch: r.Header.Get("If-Match"),
		ifNoneMatch: r.Header.Get("If-None-Match"), copySourceIfMatch: r.Header.Get("X-Amz-Copy-Source-If-Match")}
	for _, o := range s3test.DeleteObjectsOf(r) {
		lr.deleteObjectsWithETag = lr.deleteObjectsWithETag || o.ETag != ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, lr)
}

func (l *requestLog) all() []loggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loggedRequest(nil), l.reqs...)
}

// of lists the logged requests of op on bucket/key, probes left out.
func (l *requestLog) of(op, bucket, key string) []loggedRequest {
	var out []loggedRequest
	for _, r := range l.all() {
		if r.op == op && r.bucket == bucket && r.key == key {
			out = append(out, r)
		}
	}
	return out
}

func loggingWorld(t *testing.T) (*faultWorld, *requestLog) {
	t.Helper()
	w := newFaultWorld(t)
	log := &requestLog{}
	w.setRule(func(r *http.Request) s3test.Fault { log.see(r); return s3test.Fault{} })
	return w, log
}

func forbidding(cfg reconcile.Config, conds ...reconcile.Condition) reconcile.Config {
	cfg.Forbid = map[reconcile.Condition]string{}
	for _, c := range conds {
		cfg.Forbid[c] = "TRASHD_S3_FORBID"
	}
	return cfg
}

// Without a proven If-None-Match on copies, a copy into the trash bucket
// HEADs its destination first, under the lease, and a copy is never made
// over an object there.
func TestConditionsCopyWithoutIfNoneMatchLooksFirst(t *testing.T) {
	t.Parallel()
	w, log := loggingWorld(t)
	body := testworld.Body("look first", 400)
	id := w.AddFile(t, "look/first.txt", body, true, 0)
	taken := w.AddFile(t, "look/taken.txt", testworld.Body("taken", 400), true, 0)
	cfg := forbidding(w.Config("owner-a"), reconcile.CondCopyIfNoneMatch)
	takenKey := cfg.TrashKeys.Render(taken, w.Source, "look/taken.txt")
	planted := []byte("already at the trash key")
	s3test.PutObject(t, w.SDK, w.Trash, takenKey, planted)
	run(t, w.Runner(t, cfg))

	key := cfg.TrashKeys.Render(id, w.Source, "look/first.txt")
	var headAt, copyAt = -1, -1
	for i, r := range log.all() {
		switch {
		case r.op == "HeadObject" && r.bucket == w.Trash && r.key == key && headAt < 0:
			headAt = i
		case r.op == "CopyObject" && r.bucket == w.Trash && r.key == key && copyAt < 0:
			copyAt = i
		}
	}
	if headAt < 0 || copyAt < 0 || headAt > copyAt {
		t.Errorf("HEAD of the trash key at request %d, its copy at %d: want the HEAD first", headAt, copyAt)
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateInTrash {
		t.Errorf("record %s (%q), want in_trash", rec.State, rec.LastError)
	}
	if n := len(log.of("CopyObject", w.Trash, takenKey)); n != 0 {
		t.Errorf("%d copies over the object already at %s, want none", n, takenKey)
	}
	wantObject(t, w.Env, w.Trash, takenKey, planted, "the object that was at the trash key first")
	if rec := ruleRecord(t, w.Env, taken); rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "never overwrites") {
		t.Errorf("record of the taken key %s (%q), want failed: a trash copy is never overwritten", rec.State, rec.LastError)
	}
}

// Without a proven If-Match on DeleteObject, an unversioned source bucket
// has nothing copied out of it at all, and says why; with
// DeleteAfterHead the source is deleted unconditionally right after a HEAD
// that finds exactly it, and a source overwritten since its copy is left.
func TestConditionsDeleteWithoutIfMatch(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		w, log := loggingWorld(t)
		body := testworld.Body("refused", 300)
		id := w.AddFile(t, "refused.bin", body, true, 0)
		cfg := noRetry(forbidding(w.Config("owner-a"), reconcile.CondDeleteIfMatch, reconcile.CondBatchDeleteETag))
		run(t, w.Runner(t, cfg))
		rec := ruleRecord(t, w.Env, id)
		if rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "TRASHD_S3_DELETE_AFTER_HEAD") || !strings.Contains(rec.LastError, "versioning") {
			t.Errorf("record %s (%q), want failed, naming versioning and TRASHD_S3_DELETE_AFTER_HEAD", rec.State, rec.LastError)
		}
		for _, r := range log.all() {
			if (r.op == "CopyObject" || r.op == "UploadPartCopy") && r.bucket == w.Trash {
				t.Errorf("a copy into the trash was made (%s %s): nothing is copied that could not be deleted", r.op, r.key)
			}
		}
		wantObject(t, w.Env, w.Source, "refused.bin", body, "the source")
	})
	t.Run("after a HEAD", func(t *testing.T) {
		t.Parallel()
		w, log := loggingWorld(t)
		id := w.AddFile(t, "window.bin", testworld.Body("window", 300), true, 0)
		changed := w.AddFile(t, "changed.bin", testworld.Body("changed", 300), true, 0)
		cfg := forbidding(w.Config("owner-a"), reconcile.CondDeleteIfMatch, reconcile.CondBatchDeleteETag)
		cfg.DeleteAfterHead = true
		changedKey := cfg.TrashKeys.Render(changed, w.Source, "changed.bin")
		newBytes := []byte("written after the copy")
		w.setRule(func(r *http.Request) s3test.Fault {
			log.see(r)
			if request("CopyObject", w.Trash, changedKey)(r) {
				return s3test.Fault{EditResponse: func(*http.Response) {
					// The LMS overwrites the file once it is copied.
					s3test.PutObject(t, w.SDK, w.Source, "changed.bin", newBytes)
				}}
			}
			return s3test.Fault{}
		})
		w.Forget(changed)
		run(t, w.Runner(t, cfg))
		if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateInTrash {
			t.Errorf("record %s (%q), want in_trash", rec.State, rec.LastError)
		}
		dels := log.of("DeleteObject", w.Source, "window.bin")
		heads := log.of("HeadObject", w.Source, "window.bin")
		if len(dels) != 1 || dels[0].ifMatch != "" || len(heads) < 2 {
			t.Errorf("%d deletes of the source (%+v), %d HEADs: want one unconditional delete after a second HEAD", len(dels), dels, len(heads))
		}
		if n := len(log.of("DeleteObjects", w.Source, "")); n != 0 {
			t.Errorf("%d DeleteObjects: without a proven condition every delete goes alone", n)
		}
		wantObject(t, w.Env, w.Source, "changed.bin", newBytes, "the file written after its copy")
		if n := len(log.of("DeleteObject", w.Source, "changed.bin")); n != 0 {
			t.Errorf("%d deletes of a source that changed since its copy, want none", n)
		}
		if rec := ruleRecord(t, w.Env, changed); rec.State != reconcile.StateInTrash || !strings.Contains(rec.LastError, "overwritten") {
			t.Errorf("record of the changed file %s (%q), want in_trash with a note that the new object was left", rec.State, rec.LastError)
		}
	})
	t.Run("versioned", func(t *testing.T) {
		t.Parallel()
		w, log := loggingWorld(t)
		s3test.EnableVersioning(t, w.SDK, w.Source)
		id := w.AddFile(t, "by/version.bin", testworld.Body("version", 300), true, 0)
		cfg := forbidding(w.Config("owner-a"), reconcile.CondDeleteIfMatch, reconcile.CondBatchDeleteETag)
		run(t, w.Runner(t, cfg))
		if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateInTrash {
			t.Errorf("record %s (%q), want in_trash: a version is deleted by its id, which needs no condition", rec.State, rec.LastError)
		}
		for _, r := range log.of("DeleteObject", w.Source, "by/version.bin") {
			if r.ifMatch != "" {
				t.Errorf("a delete of the source carried If-Match %q: by version it needs none", r.ifMatch)
			}
		}
	})
}

// Without a proven per-object ETag in DeleteObjects, every source goes in a
// DeleteObject of its own, with If-Match.
func TestConditionsDeleteWithoutBatchedETag(t *testing.T) {
	t.Parallel()
	w, log := loggingWorld(t)
	keys := []string{"one/a", "one/b", "one/c"}
	for _, k := range keys {
		w.AddFile(t, k, testworld.Body(k, 200), true, 0)
	}
	run(t, w.Runner(t, forbidding(w.Config("owner-a"), reconcile.CondBatchDeleteETag)))
	for _, r := range log.all() {
		if r.op == "DeleteObjects" && r.bucket == w.Source {
			t.Errorf("a DeleteObjects of the source bucket was sent")
		}
	}
	for _, k := range keys {
		dels := log.of("DeleteObject", w.Source, k)
		if len(dels) != 1 || dels[0].ifMatch == "" {
			t.Errorf("%s: %d deletes %v, want one with If-Match", k, len(dels), dels)
		}
	}
	w.CheckInvariant(t)
}

// A bucket is probed once by a runner, when it first needs an answer, and
// again by a new one (a restart); the probe leaves nothing behind.
func TestConditionsProbedOncePerBucketAndStart(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	var mu sync.Mutex
	puts := map[string]int{}
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, k := s3test.BucketKey(r); s3test.Operation(r) == "PutObject" && strings.HasPrefix(k, reconcile.ProbePrefix) {
			mu.Lock()
			puts[b]++
			mu.Unlock()
		}
		return s3test.Fault{}
	})
	w.AddFile(t, "p/1", testworld.Body("1", 100), true, 0)
	r := w.Runner(t, w.Config("owner-a"))
	run(t, r)
	w.AddFile(t, "p/2", testworld.Body("2", 100), true, 0)
	run(t, r)
	probes := func(bucket string) int {
		mu.Lock()
		defer mu.Unlock()
		return puts[bucket]
	}
	trashOnce, sourceOnce := probes(w.Trash), probes(w.Source)
	if trashOnce == 0 || sourceOnce == 0 {
		t.Fatalf("probe puts: %d in the trash bucket, %d in the source bucket; want each probed", trashOnce, sourceOnce)
	}
	w.AddFile(t, "p/3", testworld.Body("3", 100), true, 0)
	run(t, w.Runner(t, w.Config("owner-a")))
	if probes(w.Trash) != 2*trashOnce || probes(w.Source) != 2*sourceOnce {
		t.Errorf("probe puts after a second runner: %d and %d, want each bucket probed once more (%d, %d)", probes(w.Trash), probes(w.Source), 2*trashOnce, 2*sourceOnce)
	}
	for _, b := range []string{w.Trash, w.Source} {
		if keys := listKeys(t, w.Env, b, reconcile.ProbePrefix); len(keys) != 0 {
			t.Errorf("s3://%s: the probe left %v behind", b, keys)
		}
	}
	w.CheckInvariant(t)
}

// listKeys lists the keys under prefix in bucket, every version's on a
// versioned bucket.
func listKeys(t *testing.T, env *testworld.Env, bucket, prefix string) []string {
	t.Helper()
	out, err := env.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	testworld.Must(t, err)
	var keys []string
	for _, v := range out.Versions {
		keys = append(keys, aws.ToString(v.Key))
	}
	for _, m := range out.DeleteMarkers {
		keys = append(keys, aws.ToString(m.Key)+" (delete marker)")
	}
	return keys
}
