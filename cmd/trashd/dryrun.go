package main

import (
	"context"
	"fmt"
	"io"

	"trashd/db"
	"trashd/reconcile"
)

// previewPass reports what a pass would do, reading only: the same bucket
// and credential checks as a real pass, the trashed rows it would discover,
// the records already due, the restores it would start and the records it
// would orphan, and whether the mass-change brake would stop it.
func previewPass(ctx context.Context, runner *reconcile.Runner, store *db.Store, cfg reconcile.Config, stdout, stderr io.Writer) int {
	if err := runner.CheckBuckets(ctx); err != nil {
		fmt.Fprintf(stderr, "trashd: a pass would stop here: %v\n", err)
		return exitError
	}
	const show = 10
	var after int64
	discover := 0
	for {
		rows, err := store.ScanTrashed(ctx, after, cfg.BatchSize)
		if err != nil {
			fmt.Fprintf(stderr, "trashd: %v\n", err)
			return exitError
		}
		for _, r := range rows {
			if discover < show {
				fmt.Fprintf(stdout, "  new: LMS row %d s3://%s/%s\n", r.LMSID, r.Bucket, r.Key)
			}
			discover++
		}
		if len(rows) < cfg.BatchSize {
			break
		}
		after = rows[len(rows)-1].LMSID
	}
	if discover > show {
		fmt.Fprintf(stdout, "  … and %d more\n", discover-show)
	}
	due, bytes, err := store.Pending(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	restores, err := store.RestoreCandidates(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	orphans, err := store.OrphanCandidates(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "dry run: would discover %d new trashed rows and move them, plus %d records already due (%s known); "+
		"would restore %d files whose trash flag was cleared and orphan %d records whose LMS row is gone; nothing was changed\n",
		discover, due, humanBytes(bytes), len(restores), len(orphans))
	if err := runner.WeighChanges(ctx, discover, len(restores), len(orphans)); err != nil {
		fmt.Fprintf(stdout, "a pass would stop before changing anything: %v\n", err)
		return exitObjects
	}
	return exitOK
}
