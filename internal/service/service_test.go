package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trashd/db"
	"trashd/internal/service"
	"trashd/internal/testworld"
	"trashd/reconcile"
)

// The whole service in-process: it starts on a temporary socket and
// 127.0.0.1:0, says READY, moves the trash at start, answers the control
// API and the health endpoints, and stops cleanly when its context ends.
func TestRunInProcess(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 3 {
		env.AddFile(t, "in-process/"+string(rune('a'+i)), []byte("bytes"), true, 0)
	}
	sock := filepath.Join(t.TempDir(), "control.sock")
	control, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The service's own pool, counting its statements, as serve opens it.
	var statements db.Statements
	dbOpts := env.DBOptions
	dbOpts.Statements = &statements
	sqlDB, err := db.Open(t.Context(), dbOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	store, err := db.NewStore(t.Context(), sqlDB, env.LMS)
	if err != nil {
		t.Fatal(err)
	}
	notes := make(chan string, 16)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- service.Run(ctx, service.Options{
			DB: sqlDB, Store: store, Statements: &statements, S3: env.S3Options, Reconcile: env.Config("in-process"),
			Schedule: "@every 1h", RunAtStart: true,
			Control: control, Metrics: metrics,
			Notify:  func(s string) error { notes <- s; return nil },
			Version: "test",
		})
	}()
	waitNote(t, notes, "READY=1")

	// The pass at start, followed through the control API.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	// The pass at start began before READY: the status names it, running
	// or ended, and the long poll answers once it has ended.
	var st service.StatusReply
	getJSON(t, client, "http://trashd/status", &st)
	var id int64
	switch {
	case st.Running != nil:
		id = st.Running.ID
	case st.Last != nil:
		id = st.Last.ID
	default:
		t.Fatalf("status %+v after READY: no pass at start", st)
	}
	if st.Schedule != "@every 1h" || st.Next.IsZero() {
		t.Errorf("status %+v: want the schedule and the next pass", st)
	}
	var last service.Pass
	getJSON(t, client, fmt.Sprintf("http://trashd/runs/%d?wait=1m", id), &last)
	if last.Running || last.Status != string(reconcile.RunOK) || last.Counts.Moved != 3 {
		t.Fatalf("the pass at start: %+v, want ended ok with 3 moved", last)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 3 {
		t.Errorf("states %v, want 3 in_trash", got)
	}

	resp, err := http.Get("http://" + metrics.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `trashd_passes_total{status="ok"} 1`) {
		t.Errorf("/metrics lacks the pass:\n%s", body)
	}
	if n := statements.Load(); n == 0 || !strings.Contains(string(body), "trashd_db_statements_total ") {
		t.Errorf("/metrics lacks the statements sent (%d counted):\n%s", n, body)
	}

	cancel()
	waitNote(t, notes, "STOPPING=1")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after a graceful stop: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of its context ending")
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("the control socket still answers after Run returned")
	}
	env.CheckInvariant(t)
}

func waitNote(t *testing.T, notes <-chan string, want string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case n := <-notes:
			if n == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %s from Run within a minute", want)
		}
	}
}

func getJSON(t *testing.T, c *http.Client, url string, out any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
