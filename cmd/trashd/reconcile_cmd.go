package main

import (
	"context"
	"fmt"
	"io"

	"trashd/reconcile"
)

func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("reconcile", "reconcile [--dry-run] [--allow-mass-change]", stderr)
	dryRun := fs.Bool("dry-run", false, "report what would move, restore and orphan, check the buckets, and change nothing")
	allowMass := fs.Bool("allow-mass-change", false, "let this pass through the mass-change brake (far more discoveries, restores or orphanings than a normal day)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	cfg, sqlDB, store, code := loadStore(ctx, stderr)
	if store == nil {
		return code
	}
	log := newLogger(stderr, cfg.LogLevel)
	defer sqlDB.Close()
	cfg.Reconcile.Mass.Override = "`trashd reconcile --allow-mass-change`"
	if *allowMass {
		cfg.Reconcile.Mass.Allow = true
	}
	runner, _, code := newRunner(ctx, cfg, cfg.S3, store, log, stderr)
	if runner == nil {
		return code
	}
	if *dryRun {
		return previewPass(ctx, runner, store, cfg.Reconcile, stdout, stderr)
	}
	h, err := runner.Start(ctx, reconcile.TriggerManual)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	newProgressDisplay(stdout, log, cfg.ProgressInterval).follow(h, runner.Current)
	sum, err := h.Wait()
	printSummary(stdout, sum)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: the pass could not run: %v\n", err)
		return exitError
	}
	if st, err := store.Status(ctx); err == nil {
		fmt.Fprintln(stdout)
		printStatus(stdout, st)
	}
	return passExitCode(sum)
}

// passExitCode is the exit code for a pass that ran.
func passExitCode(s reconcile.Summary) int {
	switch {
	case s.Status == reconcile.RunInterrupted || s.Status == reconcile.RunError:
		return exitError
	case s.Counts.Failed > 0 || s.Counts.Missing > 0:
		return exitObjects
	}
	return exitOK
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
