package service_test

import (
	"context"
	"encoding/json"
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
	deadline := time.Now().Add(time.Minute)
	for {
		var st service.StatusReply
		getJSON(t, client, "http://trashd/status", &st)
		if st.Last != nil && st.Running == nil {
			if st.Last.Status != string(reconcile.RunOK) || st.Last.Counts.Moved != 3 {
				t.Fatalf("the pass at start: %+v, want ok with 3 moved", *st.Last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pass at start did not end within a minute")
		}
		time.Sleep(50 * time.Millisecond)
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
