package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"trashd/reconcile"
)

// The control API, served by `trashd serve` on a unix socket and called by
// `trashd trigger`:
//
//	POST /run        start a pass now, or report the one already running
//	GET  /status     the schedule, the running pass and the last one
//	GET  /runs/{id}  one pass of this process: progress, then its summary

// passJSON is a pass on the wire.
type passJSON struct {
	ID        int64      `json:"id"`
	Trigger   string     `json:"trigger"`
	Running   bool       `json:"running"`
	Phase     string     `json:"phase"`
	Started   time.Time  `json:"started"`
	Total     int        `json:"total"`
	Done      int        `json:"done"`
	Counts    countsJSON `json:"counts"`
	Status    string     `json:"status,omitempty"` // once ended: ok, failed, interrupted, error
	DurationS float64    `json:"duration_s,omitempty"`
	Error     string     `json:"error,omitempty"`
}

type countsJSON struct {
	Discovered  int   `json:"discovered"`
	Moved       int   `json:"moved"`
	Missing     int   `json:"missing"`
	Failed      int   `json:"failed"`
	Retrying    int   `json:"retrying"`
	Interrupted int   `json:"interrupted"`
	Bytes       int64 `json:"bytes"`
	Archived    int   `json:"archived"`
	Restored    int   `json:"restored"`
	Shared      int   `json:"shared"`
}

type triggerJSON struct {
	Started bool     `json:"started"` // false: a pass was already running, and Pass is that one
	Pass    passJSON `json:"pass"`
}

type statusJSON struct {
	Schedule string    `json:"schedule"`
	Next     time.Time `json:"next"`
	Running  *passJSON `json:"running,omitempty"`
	Last     *passJSON `json:"last,omitempty"`
}

func toPassJSON(p reconcile.PassStatus) passJSON {
	out := passJSON{
		ID: p.ID, Trigger: string(p.Trigger), Running: p.Running, Phase: string(p.Progress.Phase),
		Started: p.Progress.Started, Total: p.Progress.Total, Done: p.Progress.Done(),
		Counts: countsJSON(p.Progress.Counts), Error: p.Err,
	}
	if !p.Running {
		out.Started = p.Summary.Started
		out.Counts = countsJSON(p.Summary.Counts)
		out.Status = string(p.Summary.Status)
		out.DurationS = p.Summary.Duration.Seconds()
	}
	return out
}

// progress turns a pass on the wire back into the runner's progress, for the
// same display `trashd reconcile` shows.
func (p passJSON) progress() reconcile.Progress {
	return reconcile.Progress{RunID: p.ID, Trigger: reconcile.Trigger(p.Trigger), Phase: reconcile.Phase(p.Phase),
		Started: p.Started, Total: p.Total, Counts: reconcile.Counts(p.Counts)}
}

func (p passJSON) summary() reconcile.Summary {
	return reconcile.Summary{RunID: p.ID, Trigger: reconcile.Trigger(p.Trigger), Status: reconcile.RunStatus(p.Status),
		Counts: reconcile.Counts(p.Counts), Started: p.Started, Duration: time.Duration(p.DurationS * float64(time.Second))}
}

// newControlHandler serves the control API over svc.
func newControlHandler(svc *reconcile.Service) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		p, started, err := svc.Trigger(reconcile.TriggerManual)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		code := http.StatusAccepted
		if !started {
			code = http.StatusOK
		}
		writeJSON(w, code, triggerJSON{Started: started, Pass: toPassJSON(p)})
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st := svc.Status()
		out := statusJSON{Schedule: st.Schedule, Next: st.Next}
		if st.Running != nil {
			p := toPassJSON(*st.Running)
			out.Running = &p
		}
		if st.Last != nil {
			p := toPassJSON(*st.Last)
			out.Last = &p
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.Error(w, "the run id must be a number", http.StatusBadRequest)
			return
		}
		p, ok := svc.Pass(id)
		if !ok {
			http.Error(w, fmt.Sprintf("run %d is not one this service ran recently; see `trashd status`", id), http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, toPassJSON(p))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// listenControl listens on the control socket, mode 0660 so that operators
// in the service's group can trigger passes. A stale socket left by a crash
// is replaced; a live one means another trashd serve, which is an error.
func listenControl(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another trashd serve is listening on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket %s: remove the stale socket: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w (set TRASHD_CONTROL_SOCKET, or run under systemd with RuntimeDirectory=trashd)", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return l, nil
}

// controlClient calls the control API of the service listening on path.
type controlClient struct {
	path string
	http *http.Client
}

func newControlClient(path string) *controlClient {
	return &controlClient{path: path, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
}

func (c *controlClient) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://trashd"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach trashd serve at %s: %w (is the service running? is TRASHD_CONTROL_SOCKET right?)", c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("trashd serve answered %s: %s", resp.Status, body)
	}
	return json.Unmarshal(body, out)
}

func (c *controlClient) trigger(ctx context.Context) (triggerJSON, error) {
	var out triggerJSON
	return out, c.do(ctx, http.MethodPost, "/run", &out)
}

func (c *controlClient) pass(ctx context.Context, id int64) (passJSON, error) {
	var out passJSON
	return out, c.do(ctx, http.MethodGet, "/runs/"+strconv.FormatInt(id, 10), &out)
}

func (c *controlClient) status(ctx context.Context) (statusJSON, error) {
	var out statusJSON
	return out, c.do(ctx, http.MethodGet, "/status", &out)
}
