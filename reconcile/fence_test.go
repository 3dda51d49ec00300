package reconcile_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/reconcile"
)

// proxiedRunner is a runner of w whose database connection goes through a
// dbtest proxy whose rule the test sets, on a lease clock the test moves.
func proxiedRunner(t *testing.T, w *faultWorld, cfg reconcile.Config, clock reconcile.LeaseClock) (*reconcile.Runner, *dbtest.Proxy) {
	t.Helper()
	proxy := dbtest.NewProxy(t, fmt.Sprintf("%s:%d", w.DBOptions.Host, w.DBOptions.Port))
	opts := w.DBOptions
	opts.Host, opts.Port = proxy.Host, proxy.Port
	sqlDB, err := db.Open(t.Context(), opts)
	testworld.Must(t, err)
	t.Cleanup(func() { sqlDB.Close() })
	store, err := db.NewStore(t.Context(), sqlDB, w.LMS)
	testworld.Must(t, err)
	r, err := reconcile.NewRunner(store, w.S3, cfg, discard(), reconcile.WithLeaseClock(clock))
	testworld.Must(t, err)
	return r, proxy
}

// A fence is as old as the write was when it was SENT (the database counts
// the lease from when the write arrives, later), and a delete goes only
// while both its fence and the LMS's answer are younger than a quarter of
// the lease: a `copied` write that takes long, or a look at the LMS that
// takes long after a fence that was almost stale, each send a renewal
// before the delete. The lease clock moves while those statements are in
// flight, as through a pause.
func TestFenceAgeCountsFromTheSend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		duringCopied   float64 // share of the lease the `copied` write takes
		duringLMS      float64 // share of the lease the last look at the LMS takes
		wantRenewal    bool
		wantRenewalWhy string
	}{
		{"slow copied write", 0.3, 0, true, "the fence is the write as sent, 0.3 of the lease ago"},
		{"slow look at the LMS", 0.2, 0.1, true, "the fence is 0.3 of the lease old when the answer comes, though the answer is fresh"},
		{"all fresh", 0.2, 0, false, "the fence is fresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newFaultWorld(t)
			body := testworld.Body(tc.name, 400)
			id := w.AddFile(t, "fence/doc.txt", body, true, 0)
			cfg := w.Config("owner-a")
			clock := newHandClock()
			r, proxy := proxiedRunner(t, w, cfg, clock)
			var (
				mu                 sync.Mutex
				copied, asked      bool
				renewalsBeforeSend int
			)
			share := func(f float64) time.Duration { return time.Duration(f * float64(cfg.Lease)) }
			proxy.SetRule(func(c dbtest.Command) dbtest.Action {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case strings.HasPrefix(c.SQL, "UPDATE trash_objects") && strings.Contains(c.SQL, "'copied'") && !copied:
					copied = true
					clock.advance(share(tc.duringCopied))
				case copied && !asked && strings.Contains(c.SQL, "FROM `files`"):
					asked = true
					clock.advance(share(tc.duringLMS))
				case copied && strings.HasPrefix(c.SQL, "UPDATE trash_objects SET lease_expires_at") && w.deletes(w.Source, "fence/doc.txt") == 0:
					renewalsBeforeSend++
				}
				return dbtest.Action{}
			})
			sum, err := r.Run(passCtx(t), reconcile.TriggerManual)
			testworld.Must(t, err)
			mu.Lock()
			defer mu.Unlock()
			if !copied || !asked {
				t.Fatalf("the copied write (%v) or the last look at the LMS (%v) never passed the proxy", copied, asked)
			}
			if got := renewalsBeforeSend > 0; got != tc.wantRenewal {
				t.Errorf("%d renewals between the copied write and the delete; want a renewal: %v (%s)", renewalsBeforeSend, tc.wantRenewal, tc.wantRenewalWhy)
			}
			if sum.Counts.Moved != 1 {
				t.Errorf("counts %+v: want moved", sum.Counts)
			}
			if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateInTrash {
				t.Errorf("record %s (%q), want in_trash", rec.State, rec.LastError)
			}
			w.CheckInvariant(t)
		})
	}
}

// A lease found lost by the renewal that freshens the fence before a delete
// stops the delete: the renewal's answer is never taken for a fence.
func TestFenceLostAtTheRenewalBeforeTheDelete(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	id := w.AddFile(t, "fence/stolen.txt", testworld.Body("stolen", 300), true, 0)
	other := w.AddFile(t, "fence/kept.txt", testworld.Body("kept", 300), true, 0)
	cfg := w.Config("owner-a")
	clock := newHandClock()
	r, proxy := proxiedRunner(t, w, cfg, clock)
	var (
		mu             sync.Mutex
		copied, stolen bool
	)
	proxy.SetRule(func(c dbtest.Command) dbtest.Action {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(c.SQL, "UPDATE trash_objects") && strings.Contains(c.SQL, "'copied'") && !copied:
			// The copied write takes a third of the lease: the fence
			// before the delete must be renewed.
			copied = true
			clock.advance(cfg.Lease * 3 / 10)
		case copied && !stolen && strings.HasPrefix(c.SQL, "UPDATE trash_objects SET lease_expires_at"):
			// Meanwhile another host took one record over.
			stolen = true
			_, err := w.DB.Exec("UPDATE trash_objects SET lease_token = 'another-host' WHERE lms_id = ?", id)
			testworld.Must(t, err)
		}
		return dbtest.Action{}
	})
	sum, err := r.Run(passCtx(t), reconcile.TriggerManual)
	testworld.Must(t, err)
	mu.Lock()
	defer mu.Unlock()
	if !stolen {
		t.Fatal("no renewal before the delete passed the proxy")
	}
	if n := w.deletes(w.Source, "fence/stolen.txt"); n != 0 {
		t.Errorf("%d deletes of a source whose lease the renewal found lost, want none", n)
	}
	if rec := ruleRecord(t, w.Env, id); rec.Token != "another-host" || rec.State != reconcile.StateCopied {
		t.Errorf("record %s, token %q: want copied, left to the other host", rec.State, rec.Token)
	}
	if rec := ruleRecord(t, w.Env, other); rec.State != reconcile.StateInTrash {
		t.Errorf("the other record %s (%q), want in_trash", rec.State, rec.LastError)
	}
	if sum.Counts.Moved != 1 {
		t.Errorf("counts %+v: want one moved", sum.Counts)
	}
	w.CheckInvariant(t)
}
