package reconcile_test

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// A DeleteObjects that fails as a whole with a 404 (a proxy or a gateway
// without the route) says nothing of any one object: no record goes
// in_trash while its source is still there.
func TestFastWholeBatch404IsNotSourceGone(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	var keys []string
	for i := range 5 {
		key := fmt.Sprintf("whole404/%d", i)
		w.AddFile(t, key, testworld.Body(key, 400), true, 0)
		keys = append(keys, key)
	}
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); b == w.Source && s3test.Operation(r) == "DeleteObjects" {
			return s3test.Fault{Status: http.StatusNotFound, Code: "NotFound", Message: "no such route"}
		}
		return s3test.Fault{}
	})
	sum, err := w.Runner(t, w.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	t.Logf("counts %+v, err %v", sum.Counts, err)
	for _, key := range keys {
		rec := ruleRecord(t, w.Env, w.lmsID(t, key))
		if _, there := objectAt(t, w.Env, w.Source, key); there && rec.State == reconcile.StateInTrash {
			t.Errorf("%s: recorded in_trash, but its source was never deleted", key)
		}
	}
}

// One DeleteObjects answered 503 once (deletes are sent once, no SDK retry)
// is one failed request, not as many failed objects as it carried: the
// outage brake does not stop the pass, and the objects are deleted one by
// one.
func TestFastOne503DeleteObjectsTripsOutage(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	for i := range 12 {
		key := fmt.Sprintf("brake/%d", i)
		w.AddFile(t, key, testworld.Body(key, 300), true, 0)
	}
	var once atomic.Bool
	w.setRule(func(r *http.Request) s3test.Fault {
		if b, _ := s3test.BucketKey(r); b == w.Source && s3test.Operation(r) == "DeleteObjects" && once.CompareAndSwap(false, true) {
			return serviceUnavailable
		}
		return s3test.Fault{}
	})
	sum, err := w.Runner(t, w.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	t.Logf("counts %+v, err %v", sum.Counts, err)
	if errors.Is(err, reconcile.ErrOutage) {
		t.Errorf("one 503 on one request stopped the pass as an S3 outage: %v", err)
	}
}

// A server without DeleteObjects (501, as TestFastWithoutBatchConditions
// has it): versioned sources too are deleted one by one, by version, and
// moved; none is failed.
func TestFastVersionedWithoutDeleteObjects(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	s3test.EnableVersioning(t, w.SDK, w.Source)
	var keys []string
	for _, key := range []string{"v/a", "v/b", "v/c"} {
		w.AddFile(t, key, testworld.Body(key, 300), true, 0)
		keys = append(keys, key)
	}
	w.setRule(func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) == "DeleteObjects" {
			return s3test.Fault{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "no DeleteObjects here"}
		}
		return s3test.Fault{}
	})
	sum, err := w.Runner(t, w.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	t.Logf("counts %+v, err %v", sum.Counts, err)
	for _, key := range keys {
		if rec := ruleRecord(t, w.Env, w.lmsID(t, key)); rec.State == reconcile.StateFailed {
			t.Errorf("%s: failed (%q); DeleteObject by version would have moved it", key, rec.LastError)
		}
	}
}

// Every delete of a batch goes only while its fence and the LMS's answer
// are fresh, however the deletes are grouped: with the S3 workers busy
// (here with a record handed to the move of one object), one-by-one deletes
// and DeleteObjects of versioned buckets go together, each checked right
// before it is sent. An LMS row untrashed meanwhile keeps its object.
func TestFastBatchDeleteAfterWaitIsStale(t *testing.T) {
	t.Parallel()
	const attempt = 0
	w := newFaultWorld(t)
	// H is handed off at its copy and holds the only S3 worker; U is
	// unversioned (deleted one by one: the server has no batched
	// conditions); each V is in a versioned bucket of its own.
	hKey, uKey := fmt.Sprintf("h/%d", attempt), fmt.Sprintf("u/%d", attempt)
	w.AddFile(t, hKey, testworld.Body(hKey, 300), true, 0)
	w.AddFile(t, uKey, testworld.Body(uKey, 300), true, 0)
	type vfile struct {
		bucket, key string
		id          int64
	}
	var vs []vfile
	for i := range 3 {
		b := s3test.NewBucket(t, w.SDK, "ver")
		s3test.EnableVersioning(t, w.SDK, b)
		key := fmt.Sprintf("v/%d", i)
		s3test.PutObject(t, w.SDK, b, key, testworld.Body(b+key, 300))
		vs = append(vs, vfile{b, key, dbtest.InsertFile(t, w.DB, b, key, true)})
	}
	versioned := map[string]bool{}
	for _, v := range vs {
		versioned[v.bucket] = true
	}
	var (
		copiedH, headsH atomic.Int32
		mu              sync.Mutex
		untrashedAt     time.Time
		lateDeletes     []string
	)
	w.setRule(func(r *http.Request) s3test.Fault {
		b, k := s3test.BucketKey(r)
		op := s3test.Operation(r)
		switch {
		case op == "DeleteObjects" && b == w.Trash:
			// the probe: no batched conditions here
			return s3test.Fault{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "no"}
		case op == "CopyObject" && r.Header.Get("X-Amz-Copy-Source") != "" && copiedH.Load() == 0 &&
			(r.Header.Get("X-Amz-Copy-Source") == w.Source+"/"+hKey || r.Header.Get("X-Amz-Copy-Source") == "/"+w.Source+"/"+hKey):
			copiedH.Add(1)
			return s3test.Fault{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: "hand it off"}
		case op == "HeadObject" && b == w.Source && k == hKey && headsH.Add(1) == 2:
			// The move of one object's HEAD of H: hold the worker 3 s, and
			// untrash every V row after 1.5 s (the lane has asked the LMS
			// by then and waits for the worker).
			time.Sleep(1500 * time.Millisecond)
			for _, v := range vs {
				dbtest.SetTrashed(t, w.DB, v.id, false)
			}
			mu.Lock()
			untrashedAt = time.Now()
			mu.Unlock()
			time.Sleep(1500 * time.Millisecond)
		case op == "DeleteObjects" && versioned[b]:
			mu.Lock()
			if !untrashedAt.IsZero() {
				lateDeletes = append(lateDeletes, b)
			}
			mu.Unlock()
		}
		return s3test.Fault{}
	})
	cfg := w.Config("owner-a")
	cfg.Concurrency = 1
	cfg.Lease = 4 * time.Second
	_, err := w.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
	if copiedH.Load() == 0 {
		t.Fatalf("H's copy was never refused (copy source header format?); err %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// A delete of a versioned source goes before its row is untrashed or
	// not at all: none may be sent after.
	for _, late := range lateDeletes {
		t.Errorf("a DeleteObjects of s3://%s was sent after its LMS row was untrashed", late)
	}
	for _, v := range vs {
		out, lerr := w.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(v.bucket), Prefix: aws.String(v.key)})
		testworld.Must(t, lerr)
		if len(out.Versions) == 0 && len(lateDeletes) > 0 {
			t.Errorf("s3://%s/%s: its only version is gone", v.bucket, v.key)
		}
	}
}
