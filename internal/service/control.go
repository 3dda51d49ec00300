package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"trashd/reconcile"
)

// The control API, served by Run on the control listener (a unix socket)
// and called by `trashd trigger`:
//
//	POST /run        start a pass now, or report the one already running
//	GET  /status     the schedule, the running pass and the last one
//	GET  /runs/{id}  one pass of this process: progress, then its summary;
//	                 ?wait=DURATION answers once the pass has ended, or after
//	                 DURATION (at most a minute) with its progress

// Pass is a pass on the wire.
type Pass struct {
	ID        int64     `json:"id"`
	Trigger   string    `json:"trigger"`
	Running   bool      `json:"running"`
	Phase     string    `json:"phase"`
	Started   time.Time `json:"started"`
	Total     int       `json:"total"`
	Done      int       `json:"done"`
	Counts    Counts    `json:"counts"`
	Status    string    `json:"status,omitempty"` // once ended: ok, failed, interrupted, error
	DurationS float64   `json:"duration_s,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// Counts are a pass's counts on the wire.
type Counts struct {
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

// TriggerReply answers POST /run.
type TriggerReply struct {
	Started bool `json:"started"` // false: a pass was already running, and Pass is that one
	Pass    Pass `json:"pass"`
}

// StatusReply answers GET /status.
type StatusReply struct {
	Schedule string    `json:"schedule"`
	Next     time.Time `json:"next"`
	Running  *Pass     `json:"running,omitempty"`
	Last     *Pass     `json:"last,omitempty"`
}

func toPass(p PassStatus) Pass {
	out := Pass{
		ID: p.ID, Trigger: string(p.Trigger), Running: p.Running, Phase: string(p.Progress.Phase),
		Started: p.Progress.Started, Total: p.Progress.Total, Done: p.Progress.Done(),
		Counts: Counts(p.Progress.Counts), Error: p.Err,
	}
	if !p.Running {
		out.Started = p.Summary.Started
		out.Counts = Counts(p.Summary.Counts)
		out.Status = string(p.Summary.Status)
		out.DurationS = p.Summary.Duration.Seconds()
	}
	return out
}

// Progress turns a pass on the wire back into the runner's progress, for the
// same display `trashd reconcile` shows.
func (p Pass) Progress() reconcile.Progress {
	return reconcile.Progress{RunID: p.ID, Trigger: reconcile.Trigger(p.Trigger), Phase: reconcile.Phase(p.Phase),
		Started: p.Started, Total: p.Total, Counts: reconcile.Counts(p.Counts)}
}

// Summary turns an ended pass on the wire back into the runner's summary.
func (p Pass) Summary() reconcile.Summary {
	return reconcile.Summary{RunID: p.ID, Trigger: reconcile.Trigger(p.Trigger), Status: reconcile.RunStatus(p.Status),
		Counts: reconcile.Counts(p.Counts), Started: p.Started, Duration: time.Duration(p.DurationS * float64(time.Second))}
}

// newControlHandler serves the control API over svc.
func newControlHandler(svc *Scheduler) http.Handler {
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
		writeJSON(w, code, TriggerReply{Started: started, Pass: toPass(p)})
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st := svc.Status()
		out := StatusReply{Schedule: st.Schedule, Next: st.Next}
		if st.Running != nil {
			p := toPass(*st.Running)
			out.Running = &p
		}
		if st.Last != nil {
			p := toPass(*st.Last)
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
		var wait time.Duration
		if q := r.URL.Query().Get("wait"); q != "" {
			if wait, err = time.ParseDuration(q); err != nil || wait < 0 {
				http.Error(w, "wait must be a duration such as 500ms", http.StatusBadRequest)
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), min(wait, time.Minute))
		defer cancel()
		p, ok := svc.AwaitPass(ctx, id)
		if !ok {
			http.Error(w, fmt.Sprintf("run %d is not one this service ran recently; see `trashd status`", id), http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, toPass(p))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
