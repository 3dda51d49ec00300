package main

import (
	"context"
	"flag"
	"fmt"

	"trashd/reconcile"
)

func auditCommand() command {
	return command{
		name:    "audit",
		summary: "check that every recorded object exists intact in the source or the trash bucket",
		about: "Check the invariant against S3 itself: every record's object exists intact in the source bucket\n" +
			"or at its trash key, and every restored object where the restore put it. Changes nothing.\n" +
			"Exit 3 when it found problems, 1 when it could not look (S3 or the database unreachable).",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			return runAudit
		},
	}
}

// runAudit checks the invariant against S3: every record's object exists
// intact in the source bucket or at its trash key. It changes nothing.
func runAudit(ctx context.Context, c *cli, _ []string) error {
	cfg, sqlDB, store, err := loadStore(ctx, c)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	client, err := openS3(ctx, cfg)
	if err != nil {
		return err
	}
	// Unreachable S3 is a failure to audit (1), never a list of problems (3).
	if err := client.CheckBucket(ctx, cfg.Reconcile.TrashBucket); err != nil {
		return fmt.Errorf("audit: cannot reach the trash bucket, so nothing was checked: %w", err)
	}
	sum, err := reconcile.Audit(ctx, store, client, cfg.Reconcile.TrashBucket, cfg.Reconcile.Concurrency,
		func(rec reconcile.Record, problem string) {
			fmt.Fprintf(c.stdout, "LMS row %d (record %d): %s\n", rec.LMSID, rec.ID, escapeText(problem))
		})
	fmt.Fprintf(c.stdout, "audit: %d records checked, %d problems; %d skipped (missing, expired or restored: their outcome is recorded)",
		sum.Checked, sum.Problems, sum.Skipped)
	if sum.Unchecked > 0 {
		fmt.Fprintf(c.stdout, "; %d not checked (S3 did not answer)", sum.Unchecked)
	}
	fmt.Fprintln(c.stdout)
	if err != nil {
		return fmt.Errorf("audit: %w; run it again when S3 answers", err)
	}
	if sum.Problems > 0 {
		return objectsErr("audit found %d problems (listed above)", sum.Problems)
	}
	return nil
}
