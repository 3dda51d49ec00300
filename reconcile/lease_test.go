package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// A worker paused for longer than its lease between verifying a copy and
// deleting the source (its elapsed clock jumps, as through a suspend), while
// another host takes the record over, deletes nothing: a delete goes out
// only with a fresh fence, and the fence it tries finds the lease gone.
func TestPassLeaseLostBeforeDeleteDeletesNothing(t *testing.T) {
	t.Parallel()
	var env *testworld.Env
	var steal, deletes atomic.Int32
	clock := &jumpClock{}
	env = testworld.New(t, func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
			switch {
			case s3test.IsDelete(req) && strings.Contains(req.URL.Path, env.Source):
				deletes.Add(1)
				return s3test.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"}
			case req.Method == http.MethodHead && steal.Load() == 1 && strings.Contains(req.URL.Path, env.Trash):
				// This worker pauses for longer than its lease, and
				// another host takes the record over meanwhile.
				clock.jump(time.Hour)
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
	r := env.Runner(t, cfg, reconcile.WithElapsed(clock.now))

	// First pass: copied and verified, but the delete fails: the record
	// stays copied.
	if sum := run(t, r); sum.Counts.Retrying != 1 {
		t.Fatalf("first pass %+v: want the delete retried later", sum.Counts)
	}
	before := deletes.Load()
	_, err := env.DB.Exec("UPDATE trash_objects SET next_attempt_at = NOW(6)")
	testworld.Must(t, err)

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
	testworld.Must(t, env.DB.QueryRow("SELECT lease_token FROM trash_objects").Scan(&token))
	if token != "taken-over-by-another-host" {
		t.Errorf("lease token %q: the worker wrote after losing its lease", token)
	}
	env.CheckInvariant(t)
}

// jumpClock is the real elapsed clock plus jumps: a suspend, to the worker.
type jumpClock struct{ offset atomic.Int64 }

func (c *jumpClock) now() time.Duration {
	return reconcile.BootClock() + time.Duration(c.offset.Load())
}
func (c *jumpClock) jump(d time.Duration) { c.offset.Add(int64(d)) }

// A worker whose renewals stop getting through (the database hangs) gives
// its work up on a timer when its lease would lapse, not only after a
// renewal fails: the request in flight is cancelled, at seven eighths of the
// lease after the claim and not before. The lease clock is moved by hand.
func TestPassLeaseDeadlineStopsTheWorker(t *testing.T) {
	t.Parallel()
	held := make(chan *http.Request, 1)
	release := make(chan struct{})
	defer close(release)
	env := testworld.New(t, func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
			// The probe's own copies pass: it runs before the moves.
			if r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" && !s3test.IsProbe(r) {
				select {
				case held <- r:
				default:
				}
				return s3test.Fault{Release: release}
			}
			return s3test.Fault{}
		}).Client()
	})
	env.AddFile(t, "slow/copy.bin", []byte("slow"), true, 0)

	// The runner's database connection goes through a proxy that never
	// lets a lease renewal through.
	var renewals atomic.Int32
	proxy := dbtest.NewProxy(t, fmt.Sprintf("%s:%d", env.DBOptions.Host, env.DBOptions.Port))
	proxy.SetRule(func(c dbtest.Command) dbtest.Action {
		renewal := strings.HasPrefix(c.SQL, "UPDATE trash_objects SET lease_expires_at")
		if renewal {
			renewals.Add(1)
		}
		return dbtest.Action{Stall: renewal}
	})
	opts := env.DBOptions
	opts.Host, opts.Port = proxy.Host, proxy.Port
	sqlDB, err := db.Open(t.Context(), opts)
	testworld.Must(t, err)
	t.Cleanup(func() { sqlDB.Close() })
	store, err := db.NewStore(t.Context(), sqlDB, env.LMS)
	testworld.Must(t, err)
	cfg := env.Config("owner-a")
	cfg.Lease = reconcile.MinLease
	// One worker: the pass claims nothing more while the copy is held,
	// whatever the database's own clock says of the lease.
	cfg.Concurrency = 1
	clock := newHandClock()
	r, err := reconcile.NewRunner(store, env.S3, cfg, discard(), reconcile.WithLeaseClock(clock))
	testworld.Must(t, err)

	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	h, err := r.Start(ctx, reconcile.TriggerManual)
	testworld.Must(t, err)
	req := <-held
	lease := cfg.Lease
	stillCopying := func(at string) {
		t.Helper()
		if err := req.Context().Err(); err != nil {
			t.Fatalf("the worker gave its copy up %s, before seven eighths of its lease: %v", at, err)
		}
	}

	// A third of the lease: the holder renews, and the renewal hangs until
	// its own timeout; the holder then waits on the clock again.
	clock.waitForTimers(t, 1, req.Context().Done())
	clock.advance(lease / 3)
	clock.waitForTimers(t, 1, req.Context().Done())
	stillCopying("a third of the lease in")
	// Just short of the deadline: another renewal, which hangs too.
	clock.advance(lease*7/8 - lease/3 - 10*time.Millisecond)
	clock.waitForTimers(t, 1, req.Context().Done())
	stillCopying("just short of seven eighths of the lease")
	// The deadline: the copy in flight is cancelled.
	clock.advance(10 * time.Millisecond)
	select {
	case <-req.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("the worker's copy is still going 10 s after its lease clock passed seven eighths of the %s lease", lease)
	}
	if n := renewals.Load(); n < 2 {
		t.Errorf("%d lease renewals sent, want the two the holder tried before giving up", n)
	}
	stop()
	sum, _ := h.Wait()
	if sum.Counts.Interrupted < 1 || sum.Counts.Moved != 0 {
		t.Errorf("pass %+v: want the object left as interrupted", sum.Counts)
	}
	env.CheckInvariant(t)
}
