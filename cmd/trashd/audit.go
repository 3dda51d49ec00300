package main

import (
	"context"
	"fmt"
	"io"

	"trashd/reconcile"
)

// runAudit checks the invariant against S3: every record's object exists
// intact in the source bucket or at its trash key. It changes nothing.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("audit", "audit", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	cfg, sqlDB, store, code := loadStore(ctx, stderr)
	if store == nil {
		return code
	}
	defer sqlDB.Close()
	client, err := openS3(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitUsage
	}
	sum, err := reconcile.Audit(ctx, store, client, cfg.Reconcile.TrashBucket, cfg.Reconcile.Concurrency,
		func(rec reconcile.Record, problem string) {
			fmt.Fprintf(stdout, "LMS row %d (record %d): %s\n", rec.LMSID, rec.ID, problem)
		})
	fmt.Fprintf(stdout, "audit: %d records checked, %d problems; %d skipped (missing, expired or restored: their outcome is recorded)\n",
		sum.Checked, sum.Problems, sum.Skipped)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: audit: %v\n", err)
		return exitError
	}
	if sum.Problems > 0 {
		return exitObjects
	}
	return exitOK
}
