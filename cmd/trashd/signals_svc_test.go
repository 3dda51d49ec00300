package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// heldWorld is a world of n trashed files behind a proxy that holds every
// copy of a move until released: a pass is held at a known point.
type heldWorld struct {
	env     *testworld.Env
	vars    []string // through the proxy
	held    <-chan *s3test.Held
	holding atomic.Bool
}

func newHeldWorld(t *testing.T, n int, extra ...string) *heldWorld {
	t.Helper()
	w := &heldWorld{env: testworld.New(t)}
	proxy := s3test.NewProxy(t, s3test.Endpoint())
	w.holding.Store(true)
	w.held = proxy.Hold(func(req *http.Request) bool {
		return w.holding.Load() && req.Method == http.MethodPut && req.Header.Get("X-Amz-Copy-Source") != "" && !s3test.IsProbe(req)
	})
	for i := range n {
		key := fmt.Sprintf("held/%03d.bin", i)
		w.env.AddFile(t, key, testworld.Body(key, 256), true, 0)
	}
	addLiveRows(t, w.env, 10*n) // a normal day's share of the LMS, under the brake
	w.vars = with(w.env.Vars(), append([]string{"TRASHD_S3_ENDPOINT=" + proxy.URL, "TRASHD_CONCURRENCY=2", "TRASHD_LOG_FORMAT=text"}, extra...)...)
	if r := trashd(t, w.vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	return w
}

// awaitCopies waits until k copies are held, and returns a func that
// releases them and lets every later copy through.
func (w *heldWorld) awaitCopies(t *testing.T, k int, out func() string) func() {
	t.Helper()
	var inFlight []*s3test.Held
	for len(inFlight) < k {
		select {
		case h := <-w.held:
			inFlight = append(inFlight, h)
		case <-time.After(time.Minute):
			t.Fatalf("only %d copies reached the proxy\n%s", len(inFlight), out())
		}
	}
	return func() {
		w.holding.Store(false)
		for _, h := range inFlight {
			h.Release()
		}
	}
}

// checkStoppedGracefully: the last run is recorded ended as interrupted
// (not left running), no lease is held, and work is left for a next pass.
func (w *heldWorld) checkStoppedGracefully(t *testing.T, n int) {
	t.Helper()
	var leased, inTrash int
	var status string
	var finished bool
	testworld.Must(t, w.env.DB.QueryRow("SELECT COUNT(lease_token), COALESCE(SUM(state = 'in_trash'), 0) FROM trash_objects").Scan(&leased, &inTrash))
	testworld.Must(t, w.env.DB.QueryRow("SELECT status, finished_at IS NOT NULL FROM trash_runs ORDER BY id DESC LIMIT 1").Scan(&status, &finished))
	if leased != 0 {
		t.Errorf("%d leases still held after a graceful stop", leased)
	}
	if status != string(reconcile.RunInterrupted) || !finished || inTrash == n {
		t.Errorf("run %s (ended %v) with %d of %d moved; want an interrupted, ended run with work left", status, finished, inTrash, n)
	}
	w.env.CheckInvariant(t)
}

// SIGHUP (a dropped SSH session) stops `trashd reconcile` mid-pass as
// SIGTERM does: the run is recorded interrupted, its leases released, and
// the exit code is the same.
func TestReconcileSIGHUPLikeSIGTERM(t *testing.T) {
	t.Parallel()
	codes := map[string]int{}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			const n = 20
			w := newHeldWorld(t, n)
			v := newVictim()
			v.start(t, w.vars, "reconcile")
			release := w.awaitCopies(t, 2, v.out.String)
			testworld.Must(t, v.cmd.Process.Signal(sig))
			release()
			v.wait(t, time.Minute)
			codes[sig.String()] = v.exitCode()
			if v.exitCode() != 1 || !strings.Contains(v.out.String(), "was interrupted") {
				t.Errorf("reconcile after %s: exit %d, want 1 and \"was interrupted\"\n%s", sig, v.exitCode(), v.out.String())
			}
			w.checkStoppedGracefully(t, n)
		})
	}
	if codes["hangup"] != codes["terminated"] {
		t.Errorf("exit codes %v: SIGHUP and SIGTERM differ", codes)
	}
}

// A reader that closes the pipe early (`trashd reconcile 2>&1 | head -3`)
// does not end the pass: it moves everything and records the run.
func TestReconcileClosedPipe(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	const n = 12
	for i := range n {
		key := fmt.Sprintf("pipe/%02d.txt", i)
		env.AddFile(t, key, testworld.Body(key, 300), true, 0)
	}
	addLiveRows(t, env, 10*n) // a normal day's share of the LMS, under the brake
	vars := with(env.Vars(), "TRASHD_LOG_LEVEL=debug", "TRASHD_PROGRESS_INTERVAL=1ms")
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r, pw, err := os.Pipe()
	testworld.Must(t, err)
	r.Close() // the reader is gone before the first line
	cmd := command(t.Context(), vars, "reconcile")
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Run()
	pw.Close()
	if err != nil {
		t.Errorf("reconcile with its output closed: %v (want exit 0: SIGPIPE must not end the pass)", err)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != n {
		t.Errorf("states %v, want all %d in_trash", got, n)
	}
	var status string
	var moved int
	testworld.Must(t, env.DB.QueryRow("SELECT status, moved FROM trash_runs ORDER BY id DESC LIMIT 1").Scan(&status, &moved))
	if status != string(reconcile.RunOK) || moved != n {
		t.Errorf("run recorded %s with %d moved, want ok with %d", status, moved, n)
	}
	env.CheckInvariant(t)
}

// SIGHUP to `trashd serve` stops it as SIGTERM does, and the log names the
// signal; a `trigger --wait` following the pass says it was interrupted.
func TestServeSIGHUPInterruptsTriggerWait(t *testing.T) {
	t.Parallel()
	const n = 20
	w := newHeldWorld(t, n)
	notify := newNotifySocket(t)
	vars := serveVars(t, w.env, append(w.vars[len(w.env.Vars()):], "NOTIFY_SOCKET="+notify.path)...)
	srv := startServe(t, vars)
	notify.expect(t, "READY=1")

	follower := newVictim()
	follower.start(t, vars, "trigger", "--wait")
	release := w.awaitCopies(t, 2, srv.output)
	testworld.Must(t, srv.cmd.Process.Signal(syscall.SIGHUP))
	notify.expect(t, "STOPPING=1")
	release()
	if code := srv.wait(t, time.Minute); code != 0 {
		t.Errorf("serve exited %d after SIGHUP, want 0\n%s", code, srv.output())
	}
	if out := srv.output(); !strings.Contains(out, "received SIGHUP") || !strings.Contains(out, "next pass at") {
		t.Errorf("serve's log does not name SIGHUP or the next pass:\n%s", out)
	}
	follower.wait(t, time.Minute)
	if follower.exitCode() != 1 || !strings.Contains(follower.out.String(), "was interrupted") {
		t.Errorf("trigger --wait: exit %d, want 1 saying the run was interrupted\n%s", follower.exitCode(), follower.out.String())
	}
	w.checkStoppedGracefully(t, n)
}

// statusJSON is the part of `status --json` these tests read.
type statusJSON struct {
	Runs []struct {
		ID        int64   `json:"id"`
		Status    string  `json:"status"`
		Stale     bool    `json:"stale"`
		StaleForS float64 `json:"stale_for_s"`
	} `json:"runs"`
	Schedule struct {
		Spec     string     `json:"spec"`
		NextPass *time.Time `json:"next_pass"`
		From     string     `json:"from"`
	} `json:"schedule"`
	Failed *[]json.RawMessage `json:"failed"`
}

// A run whose process died shows as running but stale in status (text and
// JSON) until the next pass records it abandoned; status shows the next
// scheduled pass; --failed --json lists no failures as [].
func TestStatusStaleRunAndNextPass(t *testing.T) {
	t.Parallel()
	const n = 6
	w := newHeldWorld(t, n, "TRASHD_SCHEDULE=*/15 * * * *")
	v := newVictim()
	v.start(t, w.vars, "reconcile")
	release := w.awaitCopies(t, 1, v.out.String)
	testworld.Must(t, v.cmd.Process.Kill()) // no chance to record anything
	v.wait(t, time.Minute)
	release()
	// Its heartbeat as it is seven minutes after the kill.
	_, err := w.env.DB.Exec("UPDATE trash_runs SET started_at = NOW(6) - INTERVAL 8 MINUTE, heartbeat_at = NOW(6) - INTERVAL 7 MINUTE WHERE status = 'running'")
	testworld.Must(t, err)

	st := trashd(t, w.vars, "status")
	if st.code != 0 || !strings.Contains(st.stdout, "running (stale: no heartbeat for 7m, its process probably died; the next pass records it abandoned)") {
		t.Errorf("status: exit %d, want the run shown running and stale\n%s%s", st.code, st.stdout, st.stderr)
	}
	if !strings.Contains(st.stdout, "next scheduled pass: ") || !strings.Contains(st.stdout, `schedule "*/15 * * * *"`) {
		t.Errorf("status does not show the next scheduled pass:\n%s", st.stdout)
	}
	js := trashd(t, w.vars, "status", "--failed", "--json")
	var doc statusJSON
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil || js.code != 0 {
		t.Fatalf("status --json: exit %d, %v\n%s%s", js.code, err, js.stdout, js.stderr)
	}
	if len(doc.Runs) == 0 || !doc.Runs[0].Stale || doc.Runs[0].Status != "running" || doc.Runs[0].StaleForS < 6*60 {
		t.Errorf("status --json runs %+v, want the last running and stale for about 7 minutes", doc.Runs)
	}
	if doc.Failed == nil || len(*doc.Failed) != 0 || !strings.Contains(js.stdout, `"failed": []`) {
		t.Errorf("status --failed --json with nothing failed: failed %v, want []\n%s", doc.Failed, js.stdout)
	}
	if doc.Schedule.From != "configuration" || doc.Schedule.NextPass == nil || doc.Schedule.NextPass.Minute()%15 != 0 {
		t.Errorf("status --json schedule %+v, want the next quarter hour from the configuration", doc.Schedule)
	}

	// The next pass records it abandoned; status no longer calls it stale.
	expireLeases(t, w.env.DB) // the killed process's, as they are once they lapse
	if r := trashd(t, w.vars, "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	js = trashd(t, w.vars, "status", "--json")
	doc = statusJSON{}
	testworld.Must(t, json.Unmarshal([]byte(js.stdout), &doc))
	for _, r := range doc.Runs {
		if r.Stale || (r.Status != "abandoned" && r.Status != "ok") {
			t.Errorf("after the next pass, run %+v: want abandoned or ok, none stale", r)
		}
	}
	if got := w.env.States(t); got[reconcile.StateInTrash] != n {
		t.Errorf("states %v, want all %d in_trash", got, n)
	}
	w.env.CheckInvariant(t)
}
