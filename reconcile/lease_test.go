package reconcile_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trashd/reconcile/reconciletest"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// A worker whose lease was taken over between verifying a copy and deleting
// the source deletes nothing: the delete is preceded by a fenced write.
func TestPassLeaseLostBeforeDeleteDeletesNothing(t *testing.T) {
	t.Parallel()
	var env *reconciletest.Env
	var steal, deletes atomic.Int32
	env = reconciletest.New(t, func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
			switch {
			case req.Method == http.MethodDelete:
				deletes.Add(1)
				return s3test.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"}
			case req.Method == http.MethodHead && steal.Load() == 1 && strings.Contains(req.URL.Path, env.Trash):
				// Another host takes the record over while this one
				// verifies the copy.
				if _, err := env.DB.Exec("UPDATE trash_objects SET lease_token = 'taken-over-by-another-host'"); err != nil {
					t.Error(err)
				}
			}
			return s3test.Fault{}
		}).Client()
	})
	env.AddFile(t, "contested.pdf", []byte("contested"), true, 0)
	cfg := env.Config("owner-a")
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	r := env.Runner(t, cfg)

	// First pass: copied and verified, but the delete fails: the record
	// stays copied.
	if sum := run(t, r); sum.Counts.Retrying != 1 {
		t.Fatalf("first pass %+v: want the delete retried later", sum.Counts)
	}
	before := deletes.Load()
	_, err := env.DB.Exec("UPDATE trash_objects SET next_attempt_at = NOW(6)")
	reconciletest.Must(t, err)

	// Second pass resumes from copied: it verifies the existing copy, and
	// meanwhile loses its lease.
	steal.Store(1)
	sum := run(t, r)
	if sum.Counts.Interrupted != 1 || sum.Counts.Moved != 0 {
		t.Errorf("second pass %+v: want the object left to the new lease holder", sum.Counts)
	}
	if n := deletes.Load() - before; n != 0 {
		t.Errorf("%d deletes sent after the lease was lost, want none", n)
	}
	var token string
	reconciletest.Must(t, env.DB.QueryRow("SELECT lease_token FROM trash_objects").Scan(&token))
	if token != "taken-over-by-another-host" {
		t.Errorf("lease token %q: the worker wrote after losing its lease", token)
	}
	env.CheckInvariant(t)
}
