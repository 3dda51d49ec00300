// Command benchdisco measures discovery at scale on the local dev servers:
//
//   - discovery: a real `trashd reconcile` pass over an LMS table of -rows
//     rows (default 1,000,000) with -trashed of them trashed (10,000), spread
//     evenly; the time from "pass started" to "discovered trashed rows" in its
//     log (the bucket check and the scan and recording of every row), and the
//     in-process rescan of the same table once nothing is new;
//   - memory: a real `trashd reconcile` pass over a table whose -rss-rows
//     rows (1,000,000) are all trashed: it discovers and records them all
//     (1,000,000 pending records), counts them, looks for restores and
//     orphans, and moves for -move-for (3 s) before it is interrupted, its
//     objects missing from S3 so that nothing is copied (those it settles
//     become missing); its peak RSS is the process's own (getrusage
//     ru_maxrss, read when it exits);
//   - a sparse scan: a table of -sparse-rows rows (5,000,000, ids from
//     10^9) with 10 trashed; the former scan's single statement is timed,
//     then the new scan runs on a connection whose read timeout is a third
//     of that, and its longest statement is reported.
//
// Tables are built in databases trashd_benchdisco, trashd_benchdisco_rss and
// trashd_benchdisco_sparse on 127.0.0.1:3306 (root, no password; -dsn), and
// kept: a later run reuses each table that still has its shape, and only
// empties trashd's own tables. S3 settings come from dev-up's
// TRASHD_TEST_S3_* variables (source .dev/env first).
//
//	go run ./scripts/benchdisco          # a table of figures
//	go run ./scripts/benchdisco -json    # one JSON object, for scripts/bench.sh
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchdisco:", err)
		os.Exit(1)
	}
}

type options struct {
	dsn        string
	trashd     string
	rows       int
	trashed    int
	rssRows    int
	sparseRows int
	moveFor    time.Duration
	json       bool
}

// result holds the figures; its JSON names are read by scripts/bench.sh.
type result struct {
	LMSRows          int     `json:"lms_rows"`
	TrashedRows      int     `json:"trashed_rows"`
	Discovered       int     `json:"discovered"`
	DiscoverySeconds float64 `json:"discovery_seconds"`
	RescanSeconds    float64 `json:"rescan_seconds"`

	RSSLMSRows          int     `json:"rss_lms_rows"`
	RSSDiscovered       int     `json:"rss_discovered"`
	RSSDiscoverySeconds float64 `json:"rss_discovery_seconds"`
	Pending             int     `json:"pending"`
	Settled             int     `json:"settled"`
	PeakRSSMB           float64 `json:"peak_rss_mb"`

	SparseRows             int     `json:"sparse_rows,omitempty"`
	SparseTrashed          int     `json:"sparse_trashed,omitempty"`
	SparseOldSeconds       float64 `json:"sparse_old_statement_seconds,omitempty"`
	SparseReadTimeoutMS    int64   `json:"sparse_read_timeout_ms,omitempty"`
	SparseOldFailed        bool    `json:"sparse_old_statement_failed"`
	SparseFound            int     `json:"sparse_found"`
	SparseScanSeconds      float64 `json:"sparse_scan_seconds,omitempty"`
	SparseStatements       int64   `json:"sparse_statements,omitempty"`
	SparseLongestStatement float64 `json:"sparse_longest_statement_ms,omitempty"`
	SparseOK               bool    `json:"sparse_ok"`

	TotalSeconds float64 `json:"total_seconds"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchdisco", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.dsn, "dsn", "root@tcp(127.0.0.1:3306)/", "MySQL server (go-sql-driver DSN without a database)")
	fs.StringVar(&o.trashd, "trashd", "", "the trashd binary to run; empty: build ./cmd/trashd")
	fs.IntVar(&o.rows, "rows", 1_000_000, "rows of the discovery table")
	fs.IntVar(&o.trashed, "trashed", 10_000, "trashed rows of the discovery table")
	fs.IntVar(&o.rssRows, "rss-rows", 1_000_000, "rows, all trashed, of the memory table (0: skip)")
	fs.IntVar(&o.sparseRows, "sparse-rows", 5_000_000, "rows of the sparse table (0: skip)")
	fs.DurationVar(&o.moveFor, "move-for", 3*time.Second, "how long the memory pass moves before it is interrupted")
	fs.BoolVar(&o.json, "json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.trashed < 1 || o.trashed > o.rows {
		return fmt.Errorf("-trashed %d is not from 1 to -rows %d", o.trashed, o.rows)
	}
	progress := stderr
	if !o.json {
		progress = stdout
	}
	say := func(format string, a ...any) { fmt.Fprintf(progress, "benchdisco: "+format+"\n", a...) }

	started := time.Now()
	s3env, err := s3Env()
	if err != nil {
		return err
	}
	if err := ensureBuckets(ctx, s3env, srcBucket, trashBucket); err != nil {
		return err
	}
	if o.trashd == "" {
		dir, err := os.MkdirTemp("", "benchdisco")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.trashd = filepath.Join(dir, "trashd")
		say("building trashd")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.trashd, "./cmd/trashd")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build trashd (run benchdisco from the repository's root): %w", err)
		}
	}

	var res result
	res.LMSRows, res.TrashedRows = o.rows, o.trashed
	if err := benchDiscovery(ctx, o, s3env, &res, say); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if o.rssRows > 0 {
		if err := benchMemory(ctx, o, s3env, &res, say); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	if o.sparseRows > 0 {
		if err := benchSparse(ctx, o, &res, say); err != nil {
			return fmt.Errorf("sparse scan: %w", err)
		}
	}
	res.TotalSeconds = round(time.Since(started).Seconds())
	if o.json {
		enc := json.NewEncoder(stdout)
		return enc.Encode(res)
	}
	printTable(stdout, o, res)
	if o.sparseRows > 0 && !res.SparseOK {
		return errors.New("the sparse scan did not stay within the read timeout")
	}
	return nil
}

func printTable(w io.Writer, o options, r result) {
	fmt.Fprintf(w, "\n%-52s %s\n", "measure", "value")
	row := func(name, format string, a ...any) {
		fmt.Fprintf(w, "%-52s "+format+"\n", append([]any{name}, a...)...)
	}
	row(fmt.Sprintf("discovery of %d trashed rows in %d (pass)", r.TrashedRows, r.LMSRows), "%.3f s, %d discovered", r.DiscoverySeconds, r.Discovered)
	row("rescan of the same table, nothing new (in-process)", "%.3f s", r.RescanSeconds)
	if o.rssRows > 0 {
		row(fmt.Sprintf("discovery of %d trashed rows (pass)", r.RSSLMSRows), "%.3f s, %d discovered", r.RSSDiscoverySeconds, r.RSSDiscovered)
		row(fmt.Sprintf("peak RSS of that pass (moving for %s)", o.moveFor), "%.1f MB, %d records still pending, %d settled", r.PeakRSSMB, r.Pending, r.Settled)
	}
	if o.sparseRows > 0 {
		row(fmt.Sprintf("former scan, one statement, %d rows, %d trashed", r.SparseRows, r.SparseTrashed), "%.3f s", r.SparseOldSeconds)
		row(fmt.Sprintf("former scan with a %d ms read timeout", r.SparseReadTimeoutMS), "%s", map[bool]string{true: "failed", false: "did not fail"}[r.SparseOldFailed])
		row("bounded scan with that read timeout", "%.3f s, %d found, %d statements, longest %.1f ms",
			r.SparseScanSeconds, r.SparseFound, r.SparseStatements, r.SparseLongestStatement)
	}
	row("total", "%.1f s", r.TotalSeconds)
}

func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
