package reconcile_test

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

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
