package service

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"trashd/db"
	"trashd/reconcile"
)

// defaultReadyTimeout bounds each dependency check when readiness.timeout
// is zero. The SDK retries a failing HEAD with backoff; a probe must answer
// long before a load balancer or a systemd watchdog gives up on it.
const defaultReadyTimeout = 5 * time.Second

// readiness checks the dependencies trashd needs to do a pass, for /readyz.
type readiness struct {
	db      *sql.DB
	buckets reconcile.BucketChecker
	trash   string        // the trash bucket, always checked
	source  string        // the default source bucket; "" skips the check (rows name their bucket)
	timeout time.Duration // per check; 0 means defaultReadyTimeout
}

// check runs every dependency check at once, each under its own timeout, and
// returns each one's error (nil when it is fine) under the names "database",
// "trash_bucket" and "source_bucket" (only when a source bucket is set).
func (r readiness) check(ctx context.Context) map[string]error {
	checks := map[string]func(context.Context) error{
		"database":     r.checkDatabase,
		"trash_bucket": func(ctx context.Context) error { return r.buckets.CheckBucket(ctx, r.trash) },
	}
	if r.source != "" {
		checks["source_bucket"] = func(ctx context.Context) error { return r.buckets.CheckBucket(ctx, r.source) }
	}
	timeout := cmp.Or(r.timeout, defaultReadyTimeout)
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		results = make(map[string]error, len(checks))
	)
	for name, fn := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := fn(cctx)
			if err != nil && cctx.Err() != nil && ctx.Err() == nil {
				// Say it timed out: the error of a dial cut short by
				// the deadline does not always.
				err = fmt.Errorf("no answer within %s: %w", timeout, err)
			}
			mu.Lock()
			results[name] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

// checkDatabase is ready when the database answers and a pass could write
// to it: a user that can only read would otherwise look ready while no pass
// ever starts. db.CheckWritable names each missing privilege, a schema newer
// than this binary and statement-based binary logging.
func (r readiness) checkDatabase(ctx context.Context) error {
	if err := r.db.PingContext(ctx); err != nil {
		return err
	}
	return db.CheckWritable(ctx, r.db)
}

// newHTTPHandler serves trashd's HTTP endpoints:
//
//   - GET /metrics: everything gatherer gathers, in the Prometheus text
//     format. The caller's registry decides what that is; NewRegistry adds
//     the Go runtime and process collectors to trashd's own.
//   - GET /healthz: liveness. 200 "ok" while alive() returns nil; 503 with
//     its error otherwise, which the service uses to say its loop has not
//     made progress within its deadline. Restarting the process is the cure
//     for a 503 here, so it must not depend on the database or S3.
//   - GET /readyz: readiness. 200 when every dependency ready() reports is
//     nil, 503 when any is not; the body has a line per dependency, "[+]name
//     ok" or "[-]name failed: reason", so an operator sees which one is down.
//
// A nil alive or ready always succeeds.
func newHTTPHandler(gatherer prometheus.Gatherer, alive func() error, ready func(ctx context.Context) map[string]error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
		// A collector that fails must not hide every other metric: the
		// scrape gets what could be gathered.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if alive != nil {
			if err := alive(); err != nil {
				http.Error(w, "not alive: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		var results map[string]error
		if ready != nil {
			results = ready(r.Context())
		}
		body, ok := readyReport(results)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprint(w, body)
	})
	return mux
}

// readyReport writes one line per dependency, in name order, and a verdict;
// ok is true when every dependency is fine.
func readyReport(results map[string]error) (body string, ok bool) {
	var b strings.Builder
	ok = true
	for _, name := range slices.Sorted(maps.Keys(results)) {
		var w warning
		if err := results[name]; errors.As(err, &w) {
			// Reported, but trashd still does its job: not a failure.
			fmt.Fprintf(&b, "[!]%s warning: %s\n", name, strings.ReplaceAll(w.Error(), "\n", " "))
		} else if err != nil {
			ok = false
			// One line per dependency: a wrapped driver error may span
			// several.
			fmt.Fprintf(&b, "[-]%s failed: %s\n", name, strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", name)
		}
	}
	if ok {
		b.WriteString("readyz check passed\n")
	} else {
		b.WriteString("readyz check failed\n")
	}
	return b.String(), ok
}

// warning is a readiness finding that is reported without failing the
// check: a lifecycle rule out of place does not stop the moves.
type warning struct{ error }

// noStore keeps proxies and browsers from caching a probe's answer.
func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }
