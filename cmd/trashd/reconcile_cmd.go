package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"trashd/db"
	"trashd/internal/service"
	"trashd/reconcile"
)

func reconcileCommand() command {
	return command{
		name:    "reconcile",
		args:    "[--dry-run [--json]] [--allow-mass-change] [--textfile PATH]",
		summary: "run one pass now (--dry-run: report what would move, change nothing)",
		about: "Run one pass now, with a live progress line on a terminal, and print what happened.\n" +
			"Exit 0 when every object the pass took up was moved, restored or left shared; 3 when some failed,\n" +
			"went missing or wait for a retry (see `trashd status --failed`); 1 when the pass could not run.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			dryRun := fs.Bool("dry-run", false, "report what would move, restore and orphan, check the buckets, and change nothing")
			asJSON := fs.Bool("json", false, "with --dry-run: print one JSON document instead (the shape is in docs/operations.md)")
			allowMass := fs.Bool("allow-mass-change", false, "let this pass through the mass-change brake (far more discoveries, restores or orphanings than a normal day)")
			textfile := fs.String("textfile", "", "after the pass, write its metrics in Prometheus's text format to `PATH` (a .prom file in node_exporter's textfile directory), atomically, adding to the counters already there")
			return func(ctx context.Context, c *cli, _ []string) error {
				if *asJSON && !*dryRun {
					return operandErr("reconcile: --json goes with --dry-run (a pass prints its progress and summary; `trashd status --json` reads the result)")
				}
				if *textfile != "" && *dryRun {
					return operandErr("reconcile: --textfile goes with a pass, not with --dry-run (a dry run changes nothing and has no metrics)")
				}
				return runReconcile(ctx, c, *dryRun, *allowMass, *asJSON, *textfile)
			}
		},
	}
}

func runReconcile(ctx context.Context, c *cli, dryRun, allowMass, asJSON bool, textfile string) error {
	cfg, err := loadConfig(c.stderr)
	if err != nil {
		return err
	}
	// What the pass cost, counted as it is sent: S3 API operations and SQL
	// statements (as the server's Questions counts them).
	var statements db.Statements
	var requests atomic.Int64
	cfg.DB.Statements = &statements
	var metrics *service.Textfile
	var runnerOpts []reconcile.Option
	if textfile != "" {
		metrics = service.NewTextfile(textfile, &statements)
		runnerOpts = metrics.Options()
	}
	observe := cfg.S3.Observe
	cfg.S3.Observe = func(op string, err error, d time.Duration) {
		requests.Add(1)
		if metrics != nil {
			metrics.ObserveS3(op, err, d)
		}
		if observe != nil {
			observe(op, err, d)
		}
	}
	sqlDB, store, err := openStore(ctx, cfg, c)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	log := c.logger(cfg.LogLevel, cfg.LogFormat)
	cfg.Reconcile.Mass.Override = "`trashd reconcile --allow-mass-change`"
	if allowMass {
		cfg.Reconcile.Mass.Allow = true
	}
	runner, _, err := newRunner(ctx, cfg, cfg.S3, store, log, runnerOpts...)
	if err != nil {
		return err
	}
	if dryRun {
		return previewPass(ctx, runner, store, cfg.Reconcile, c, asJSON)
	}
	if metrics != nil {
		metrics.PassStarted(reconcile.TriggerManual)
	}
	h, err := runner.Start(ctx, reconcile.TriggerManual)
	if err != nil {
		if metrics != nil {
			// A pass that could not even start is one the alerts must see.
			metrics.PassFinished(reconcile.Summary{Trigger: reconcile.TriggerManual, Status: reconcile.RunError}, err)
			writeTextfile(ctx, c, metrics, store, runner, cfg)
		}
		return err
	}
	// Said as serve says it: the pass now stops claiming, and only a second
	// SIGINT or SIGTERM ends the process at once.
	stopping := context.AfterFunc(ctx, func() {
		log.Info("stopping: no new claims; objects in flight finish their current step; a second SIGINT or SIGTERM exits at once",
			"grace", cfg.Reconcile.Grace.String(), "cause", context.Cause(ctx).Error())
	})
	defer stopping()
	newProgressDisplay(c, log, cfg.ProgressInterval).follow(h, runner.Current)
	sum, err := h.Wait()
	printSummary(c.stdout, sum)
	printSent(c.stdout, sum, requests.Load(), statements.Load())
	var written error
	if metrics != nil {
		metrics.PassFinished(sum, err)
		written = writeTextfile(ctx, c, metrics, store, runner, cfg)
	}
	if err != nil {
		return fmt.Errorf("the pass could not run: %w", err)
	}
	if st, err := store.Status(ctx); err == nil {
		fmt.Fprintln(c.stdout)
		printStatus(c.stdout, st)
	}
	if res := passResult(sum); res != nil || written == nil {
		return res
	}
	return withCode(codeFailure, written)
}

// writeTextfile writes a one-shot pass's metrics, after the pass and even
// when it could not run: that is what the alerts are for. An interrupted
// pass (Ctrl-C, SIGTERM) still gets its bookkeeping time.
func writeTextfile(ctx context.Context, c *cli, metrics *service.Textfile, store *db.Store, runner *reconcile.Runner, cfg Config) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := metrics.Write(wctx, store, runner, cfg.Reconcile.Archive.OverdueQuery()); err != nil {
		fmt.Fprintf(c.stderr, "trashd: reconcile --textfile: %v\n", err)
		return fmt.Errorf("the metrics were not all written: %w", err)
	}
	return nil
}

// passResult is the outcome of a pass that ran, as an error for its exit
// code: nil when every object ended well.
func passResult(s reconcile.Summary) error {
	switch {
	case s.Status == reconcile.RunInterrupted:
		return withCode(codeFailure, fmt.Errorf("run %d was interrupted; the next pass resumes where it stopped", s.RunID))
	case s.Status == reconcile.RunError:
		return withCode(codeFailure, fmt.Errorf("run %d ended with an error; see the log above", s.RunID))
	case s.Counts.Failed > 0 || s.Counts.Missing > 0 || s.Counts.Retrying > 0:
		// Shared objects stay in place by design (an untrashed LMS row
		// still uses them): not a reason to exit non-zero.
		return objectsErr("run %d did not finish every object: %d failed, %d missing, %d retrying later; "+
			"`trashd status --failed` lists the failed and missing with the reason (`trashd retry` re-queues them), "+
			"the retrying ones are taken up again by a later pass", s.RunID, s.Counts.Failed, s.Counts.Missing, s.Counts.Retrying)
	}
	return nil
}

func printSummary(w io.Writer, s reconcile.Summary) {
	c := s.Counts
	rate := 0.0
	if secs := s.Duration.Seconds(); secs > 0 {
		rate = float64(c.Moved) / secs
	}
	fmt.Fprintf(w, "run %d: %s in %s (%.1f objects/s)\n", s.RunID, s.Status, s.Duration.Round(1e6), rate)
	fmt.Fprintf(w, "  discovered %d, moved %d (%s), missing %d, failed %d, retrying later %d, interrupted %d, archived %d, restored %d, shared %d\n",
		c.Discovered, c.Moved, humanBytes(c.Bytes), c.Missing, c.Failed, c.Retrying, c.Interrupted, c.Archived, c.Restored, c.Shared)
}

// printSent writes what the pass sent: S3 requests and SQL statements, in
// all and per object moved.
func printSent(w io.Writer, s reconcile.Summary, requests, statements int64) {
	per := func(n int64) string {
		if s.Counts.Moved == 0 {
			return ""
		}
		return fmt.Sprintf(" (%.2f per object moved)", float64(n)/float64(s.Counts.Moved))
	}
	fmt.Fprintf(w, "  sent %d S3 requests%s and %d SQL statements%s\n", requests, per(requests), statements, per(statements))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
