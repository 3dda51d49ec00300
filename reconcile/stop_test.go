package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// holdCopies returns client options that hold every CopyObject of a move
// until release is closed; copying is closed when the first one arrives.
func holdCopies() (opt func(*s3ops.Options), copying <-chan struct{}, release chan struct{}) {
	release = make(chan struct{})
	arrived := make(chan struct{})
	var once sync.Once
	opt = func(o *s3ops.Options) {
		o.HTTPClient = s3test.NewFaultTransport(func(req *http.Request) s3test.Fault {
			// The probe's own copies pass: it runs before the moves.
			if req.Method == http.MethodPut && req.Header.Get("X-Amz-Copy-Source") != "" && !s3test.IsProbe(req) {
				once.Do(func() { close(arrived) })
				return s3test.Fault{Release: release}
			}
			return s3test.Fault{}
		}).Client()
	}
	return opt, arrived, release
}

// Asked to stop while copies are in flight, a pass lets them finish, claims
// nothing more, releases every lease and records itself interrupted; another
// runner then takes the backlog at once, without waiting for leases to lapse.
func TestPassStopsGracefully(t *testing.T) {
	t.Parallel()
	hold, copying, release := holdCopies()
	env := testworld.New(t, hold)
	const n = 40
	for i := range n {
		key := fmt.Sprintf("stop/%02d", i)
		env.AddFile(t, key, testworld.Body(key, 100), true, 0)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan reconcile.Summary)
	go func() {
		sum, err := env.Runner(t, env.Config("owner-a")).Run(ctx, reconcile.TriggerManual)
		if err != nil {
			t.Error(err)
		}
		done <- sum
	}()
	<-copying
	stop()
	close(release) // the copies in flight complete within the grace period
	sum := <-done

	if sum.Status != reconcile.RunInterrupted {
		t.Errorf("status %s, want interrupted", sum.Status)
	}
	if sum.Counts.Moved != 0 || sum.Counts.Interrupted == 0 {
		t.Errorf("counts %+v: want nothing moved after the stop and the in-flight objects interrupted", sum.Counts)
	}
	var leased, copied int
	testworld.Must(t, env.DB.QueryRow(
		"SELECT COUNT(lease_token), SUM(state = 'copied') FROM trash_objects").Scan(&leased, &copied))
	if leased != 0 {
		t.Errorf("%d leases still held after a graceful stop", leased)
	}
	if copied == 0 {
		t.Errorf("no object recorded copied: the in-flight copies were not allowed to finish their step")
	}
	var status string
	testworld.Must(t, env.DB.QueryRow("SELECT status FROM trash_runs WHERE id = ?", sum.RunID).Scan(&status))
	if status != string(reconcile.RunInterrupted) {
		t.Errorf("run recorded %q, want interrupted", status)
	}
	env.CheckInvariant(t)

	// Another host finishes the backlog now.
	next, err := env.RunnerWithoutFaults(t, env.Config("owner-b")).Run(passCtx(t), reconcile.TriggerManual)
	if err != nil || next.Counts.Moved != n {
		t.Fatalf("second runner: %+v, %v; want all %d moved", next.Counts, err, n)
	}
	env.CheckInvariant(t)
}
