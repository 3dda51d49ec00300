package reconcile_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"trashd/db"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// The move on each of the three servers (SeaweedFS, moto, versitygw), with
// the probe finding what the server ignores (s3test.Server.Ignores) and
// trashd taking the fallback for each, seen in the requests it sends and in
// where the objects end up.

// wireLog records what trashd sent, the probe's requests aside: one entry
// per request, and per object named for DeleteObjects.
type wireLog struct {
	mu   sync.Mutex
	sent []wireRequest
}

type wireRequest struct {
	op, bucket, key string
	// ifMatch is If-Match, or a DeleteObjects object's <ETag>; versionID
	// is the versionId query, or its <VersionId>.
	ifMatch, ifNoneMatch, versionID string
	// direct: sent by the S3 client itself, and sent again through the
	// SDK unless it was answered with a success.
	direct bool
}

func (l *wireLog) see(r *http.Request) {
	if s3test.IsProbe(r) {
		return
	}
	op := s3test.Operation(r)
	b, k := s3test.BucketKey(r)
	var reqs []wireRequest
	if op == "DeleteObjects" {
		for _, o := range s3test.DeleteObjectsOf(r) {
			reqs = append(reqs, wireRequest{op: op, bucket: b, key: o.Key, ifMatch: o.ETag, versionID: o.VersionID})
		}
	} else {
		reqs = append(reqs, wireRequest{op: op, bucket: b, key: k, ifMatch: r.Header.Get("If-Match"),
			ifNoneMatch: r.Header.Get("If-None-Match"), versionID: r.URL.Query().Get("versionId"), direct: s3test.IsDirect(r)})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, reqs...)
}

// of lists what was sent to bucket/key, in order; op "" for any.
func (l *wireLog) of(op, bucket, key string) []wireRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []wireRequest
	for _, r := range l.sent {
		if (op == "" || r.op == op) && r.bucket == bucket && r.key == key {
			out = append(out, r)
		}
	}
	return out
}

// serverWorld is a world on srv whose client logs what it sends, and the
// answers of every probe the runner made, by bucket.
type serverWorld struct {
	*faultWorld
	log *wireLog

	mu   sync.Mutex
	caps map[string]reconcile.Capabilities
}

func newServerWorld(t *testing.T, srv s3test.Server) *serverWorld {
	t.Helper()
	w := &serverWorld{faultWorld: newFaultWorldOn(t, srv), log: &wireLog{}, caps: map[string]reconcile.Capabilities{}}
	w.setRule(func(r *http.Request) s3test.Fault { w.log.see(r); return s3test.Fault{} })
	return w
}

// runner is a runner over w that keeps what the probe found.
func (w *serverWorld) runner(t *testing.T, cfg reconcile.Config) *reconcile.Runner {
	t.Helper()
	return w.Runner(t, cfg, reconcile.WithConditionsObserver(func(c reconcile.Capabilities) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.caps[c.Bucket] = c
	}))
}

// wantProbed fails t unless bucket was probed and found as srv is known to
// be: every condition in srv.Ignores not honoured, every other honoured.
func (w *serverWorld) wantProbed(t *testing.T, bucket string) {
	t.Helper()
	w.mu.Lock()
	caps, ok := w.caps[bucket]
	w.mu.Unlock()
	if !ok {
		t.Fatalf("s3://%s was never probed", bucket)
	}
	for _, cond := range reconcile.Conditions() {
		want := reconcile.Honoured
		if !w.Server.Honours(cond) {
			want = reconcile.NotHonoured
		}
		if got := caps.Answers[cond]; got != want {
			t.Errorf("%s on s3://%s (%s): %s (%s), want %s", cond, bucket, w.Server.Name, got, caps.Why[cond], want)
		}
	}
}

// TestServersMove: a pass moves three trashed files and leaves a live one,
// on each server, on an unversioned source bucket and a versioned one. The
// requests follow what the probe found: where If-None-Match on copies is
// not honoured (moto, versitygw), the trash key is HEADed before its copy
// and each object moves alone, its source deleted by a DeleteObject of its
// own with If-Match (TestServersDeleteWithoutBatchedETag isolates the
// batch's fallback); where everything is honoured (SeaweedFS), the sources
// go in one DeleteObjects with their ETags; on a versioned source, by the
// version copied. The files really moved, byte for byte, the live one
// really stayed, an object already at a trash key was not overwritten (the
// record failed), the audit finds every record intact, and the status
// counts them.
func TestServersMove(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		for _, versioned := range []bool{false, true} {
			t.Run(map[bool]string{false: "unversioned", true: "versioned"}[versioned], func(t *testing.T) {
				t.Parallel()
				if versioned {
					s3test.SkipUnless(t, srv, s3test.FeatureVersioning)
				}
				testServerMove(t, srv, versioned)
			})
		}
	})
}

func testServerMove(t *testing.T, srv s3test.Server, versioned bool) {
	w := newServerWorld(t, srv)
	if versioned {
		s3test.EnableVersioning(t, w.SDK, w.Source)
	}
	files := map[int64][]byte{}
	keys := map[int64]string{}
	for _, k := range []string{"course 1/a.pdf", "course 1/b ü.txt", "c+d.bin"} {
		body := testworld.Body(srv.Name+k, 700)
		id := w.AddFile(t, k, body, true, 0)
		files[id], keys[id] = body, k
	}
	live := testworld.Body("live", 300)
	w.AddFile(t, "live.txt", live, false, 0)
	cfg := w.Config("owner-" + srv.Name)
	// Something already at a trash key: never overwritten, whether the
	// server refuses the copy or trashd looks first.
	taken := w.AddFile(t, "taken.txt", testworld.Body("taken", 300), true, 0)
	takenKey := cfg.TrashKeys.Render(taken, w.Source, "taken.txt")
	planted := []byte("already at the trash key")
	s3test.PutObject(t, w.SDK, w.Trash, takenKey, planted)
	sum := run(t, w.runner(t, cfg))
	if sum.Counts.Moved != 3 || sum.Counts.Failed != 1 || sum.Counts.Retrying != 0 {
		t.Errorf("pass %+v: want the 3 trashed files moved, the one with its trash key taken failed", sum.Counts)
	}
	wantObject(t, w.Env, w.Trash, takenKey, planted, "the object that was at the trash key first")
	if rec := ruleRecord(t, w.Env, taken); rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "never overwrites") {
		t.Errorf("record of the taken trash key %s (%q), want failed: a trash copy is never overwritten", rec.State, rec.LastError)
	}
	wantObject(t, w.Env, w.Source, "taken.txt", testworld.Body("taken", 300), "the source of the record that failed")
	w.Forget(taken) // its trash key holds what was planted there
	w.wantProbed(t, w.Source)
	w.wantProbed(t, w.Trash)

	for id, body := range files {
		key := keys[id]
		rec := ruleRecord(t, w.Env, id)
		if rec.State != reconcile.StateInTrash {
			t.Errorf("%s: record %s (%q), want in_trash", key, rec.State, rec.LastError)
			continue
		}
		wantObject(t, w.Env, w.Trash, rec.TrashKey, body, key+": the trash copy")
		wantNoObject(t, w.Env, w.Source, key, key+": the source")

		// The copy: HEAD of its destination first where the server does
		// not prove If-None-Match on copies.
		toTrash := w.log.of("", w.Trash, rec.TrashKey)
		headFirst := len(toTrash) > 0 && toTrash[0].op == "HeadObject"
		copies := w.log.of("CopyObject", w.Trash, rec.TrashKey)
		if len(copies) != 1 {
			t.Errorf("%s: %d copies into the trash, want 1", key, len(copies))
		}
		if want := !srv.Honours(reconcile.CondCopyIfNoneMatch); headFirst != want {
			t.Errorf("%s: requests to the trash key %v: a HEAD before the copy %v, want %v (%s: copy_if_none_match honoured: %v)",
				key, ops(toTrash), headFirst, want, srv.Name, !want)
		}

		// The source's delete, by what the bucket proves.
		dels := w.log.of("DeleteObject", w.Source, key)
		batched := w.log.of("DeleteObjects", w.Source, key)
		switch all := append(dels, batched...); {
		case len(all) != 1:
			t.Errorf("%s: %d deletes of the source (%+v), want 1", key, len(all), all)
		case versioned:
			if all[0].versionID == "" || all[0].ifMatch != "" {
				t.Errorf("%s: the source deleted by %+v, want by its version, with no condition", key, all[0])
			}
		case srv.Honours(reconcile.CondBatchDeleteETag):
			if len(batched) != 1 || batched[0].ifMatch == "" {
				t.Errorf("%s: the source deleted by %+v, want in a DeleteObjects with its ETag", key, all[0])
			}
		default:
			if len(dels) != 1 || dels[0].ifMatch == "" {
				t.Errorf("%s: the source deleted by %+v, want a DeleteObject of its own with If-Match (%s does not honour the ETag of DeleteObjects)", key, all[0], srv.Name)
			}
		}
	}
	wantObject(t, w.Env, w.Source, "live.txt", live, "the live file")
	if n := len(w.log.of("CopyObject", w.Trash, "live.txt")) + len(w.log.of("DeleteObject", w.Source, "live.txt")); n != 0 {
		t.Errorf("%d requests copied or deleted the live file, want none", n)
	}
	w.CheckInvariant(t)

	if sum, found := audit(t, w.Env); sum.Checked != 4 || sum.Problems != 0 || sum.Unverifiable != 0 || sum.Unchecked != 0 {
		t.Errorf("audit %+v %v: want the 4 records checked and intact (3 in the trash, 1 in its source)", sum, found)
	}
	st, err := w.Store.Status(t.Context())
	testworld.Must(t, err)
	i := slices.IndexFunc(st.States, func(c db.StateCount) bool { return c.State == reconcile.StateInTrash })
	if i < 0 || st.States[i].Count != 3 || st.States[i].Bytes != 3*700 {
		t.Errorf("status %+v: want 3 records of 700 bytes in_trash", st.States)
	}
	if j := slices.IndexFunc(st.States, func(c db.StateCount) bool { return c.State == reconcile.StateFailed }); j < 0 || st.States[j].Count != 1 {
		t.Errorf("status %+v: want 1 record failed", st.States)
	}
	if len(st.Runs) != 1 || st.Runs[0].Counts.Moved != 3 || st.Runs[0].Counts.Failed != 1 {
		t.Errorf("status runs %+v: want the one pass, 3 moved, 1 failed", st.Runs)
	}
}

func ops(reqs []wireRequest) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.op)
	}
	return out
}

// TestServersMoveRefusedWithoutIfMatch: where If-Match on DeleteObject is
// not relied on (no server here ignores it, so the operator forbids it,
// TRASHD_S3_FORBID) and the source bucket keeps no versions, nothing is
// copied out of it and nothing deleted: the record says why, the file stays.
func TestServersMoveRefusedWithoutIfMatch(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		w := newServerWorld(t, srv)
		body := testworld.Body("refused "+srv.Name, 500)
		id := w.AddFile(t, "refused.bin", body, true, 0)
		run(t, w.runner(t, noRetry(forbidding(w.Config("owner-"+srv.Name), reconcile.CondDeleteIfMatch))))
		rec := ruleRecord(t, w.Env, id)
		if rec.State != reconcile.StateFailed || !strings.Contains(rec.LastError, "TRASHD_S3_DELETE_AFTER_HEAD") {
			t.Errorf("record %s (%q), want failed, naming TRASHD_S3_DELETE_AFTER_HEAD", rec.State, rec.LastError)
		}
		if n := len(w.log.of("CopyObject", w.Trash, rec.TrashKey)); n != 0 {
			t.Errorf("%d copies into the trash: nothing is copied that could not be deleted", n)
		}
		if n := len(w.log.of("DeleteObject", w.Source, "refused.bin")) + len(w.log.of("DeleteObjects", w.Source, "refused.bin")); n != 0 {
			t.Errorf("%d deletes of the source, want none", n)
		}
		wantObject(t, w.Env, w.Source, "refused.bin", body, "the source")
		w.CheckInvariant(t)
	})
}

// TestServersSourceChangedDuringCopy: the LMS overwrites a trashed file
// between trashd's HEAD and its copy. Where x-amz-copy-source-if-match is
// honoured, the copy is refused and the move starts again from HEAD; where
// it is not (moto), the copy of the new bytes is not proven against what
// HEAD saw, the record fails and the source is never deleted. Either way
// the file the LMS wrote is intact somewhere, and nothing is deleted on a
// guess.
func TestServersSourceChangedDuringCopy(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		w := newServerWorld(t, srv)
		id := w.AddFile(t, "changing.doc", testworld.Body("before "+srv.Name, 600), true, 0)
		after := testworld.Body("after "+srv.Name, 600)
		cfg := noRetry(w.Config("owner-" + srv.Name))
		trashKey := cfg.TrashKeys.Render(id, w.Source, "changing.doc")
		first := s3test.Once(request("CopyObject", w.Trash, trashKey))
		w.setRule(func(r *http.Request) s3test.Fault {
			w.log.see(r)
			if first(r) {
				putBehind(t, w.Env, w.Source, "changing.doc", after)
			}
			return s3test.Fault{}
		})
		w.Forget(id)
		run(t, w.runner(t, cfg))
		rec := ruleRecord(t, w.Env, id)
		if srv.Honours(reconcile.CondCopySourceIfMatch) {
			if rec.State != reconcile.StateInTrash {
				t.Errorf("record %s (%q), want in_trash: the refused copy started again from HEAD", rec.State, rec.LastError)
			}
			wantObject(t, w.Env, w.Trash, rec.TrashKey, after, "the trash copy")
			wantNoObject(t, w.Env, w.Source, "changing.doc", "the source")
			return
		}
		if rec.State == reconcile.StateInTrash || rec.State == reconcile.StateCopied {
			t.Errorf("record %s (%q), want it not moved: the copy is not of the bytes HEAD saw", rec.State, rec.LastError)
		}
		wantObject(t, w.Env, w.Source, "changing.doc", after, "the file the LMS wrote")
		if n := len(w.log.of("DeleteObject", w.Source, "changing.doc")) + len(w.log.of("DeleteObjects", w.Source, "changing.doc")); n != 0 {
			t.Errorf("%d deletes of the source, want none", n)
		}
	})
}

// TestServersDeleteWithoutBatchedETag isolates the fallback for the
// per-object ETag of DeleteObjects. On moto and versitygw every move goes
// alone (their copies need a HEAD first, which the batch's one-request copy
// does not do), and a batch of one is deleted alone anyway; so here the
// fault layer refuses the probe's copy over an existing key, as a server
// honouring If-None-Match on copies would, and the moves go as a batch.
// Where the server honours the per-object ETag (SeaweedFS) the sources go
// in one DeleteObjects, each with its ETag; where it does not (moto,
// versitygw), each goes in a DeleteObject of its own, with If-Match. One
// source is overwritten by the LMS right before its delete: the server
// itself must refuse that delete, and the new file stays.
func TestServersDeleteWithoutBatchedETag(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		w := newServerWorld(t, srv)
		rewritten := testworld.Body("rewritten "+srv.Name, 400)
		rewrite := s3test.Once(s3test.Deletes(w.Source, "batch/c"))
		w.setRule(func(r *http.Request) s3test.Fault {
			w.log.see(r)
			switch {
			case s3test.IsProbe(r) && s3test.Operation(r) == "CopyObject" && r.Header.Get("If-None-Match") == "*" && !strings.Contains(r.URL.Path, "/proof/"):
				// (The probe's copy over an existing key; not the second
				// copy of a move's full proof, to a fresh key.)
				return s3test.Fault{Status: http.StatusPreconditionFailed, Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
			case rewrite(r):
				putBehind(t, w.Env, w.Source, "batch/c", rewritten)
			}
			return s3test.Fault{}
		})
		keys := []string{"batch/a", "batch/b", "batch/c"}
		ids := map[string]int64{}
		for _, k := range keys {
			ids[k] = w.AddFile(t, k, testworld.Body(srv.Name+k, 400), true, 0)
		}
		w.Forget(ids["batch/c"])
		if sum := run(t, w.runner(t, w.Config("owner-"+srv.Name))); sum.Counts.Moved != 3 {
			t.Fatalf("pass %+v: want 3 moved", sum.Counts)
		}
		for _, k := range keys {
			dels, batched := w.log.of("DeleteObject", w.Source, k), w.log.of("DeleteObjects", w.Source, k)
			if srv.Honours(reconcile.CondBatchDeleteETag) {
				if len(batched) != 1 || batched[0].ifMatch == "" || len(dels) != 0 {
					t.Errorf("%s: deletes %+v %+v, want it in a DeleteObjects with its ETag", k, batched, dels)
				}
				continue
			}
			if len(dels) != 1 || dels[0].ifMatch == "" || len(batched) != 0 {
				t.Errorf("%s: deletes %+v %+v, want one DeleteObject with If-Match, no DeleteObjects (%s ignores its ETag)", k, dels, batched, srv.Name)
			}
		}
		for _, k := range keys[:2] {
			wantNoObject(t, w.Env, w.Source, k, k+": the source")
		}
		wantObject(t, w.Env, w.Source, "batch/c", rewritten, "the file the LMS wrote after the copy")
		rec := ruleRecord(t, w.Env, ids["batch/c"])
		wantObject(t, w.Env, w.Trash, rec.TrashKey, testworld.Body(srv.Name+"batch/c", 400), "the trash copy of the file overwritten")
		if rec.State != reconcile.StateInTrash || !strings.Contains(rec.LastError, "overwritten") {
			t.Errorf("record of the overwritten file %s (%q), want in_trash with a note that the new file was left", rec.State, rec.LastError)
		}
		w.CheckInvariant(t)
	})
}
