package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"trashd/reconcile"
)

func auditCommand() command {
	return command{
		name:    "audit",
		summary: "check that every recorded object exists intact in the source or the trash bucket",
		about: "Check the invariant against S3 itself: every record's object exists intact (its recorded size and ETag\n" +
			"or checksum; on a versioned source, its recorded version) in the source bucket or at its trash key,\n" +
			"and every restored object is still the file the restore put back. A record whose object exists but\n" +
			"has nothing recorded to compare it with is listed as unverifiable. Changes nothing but the record of a\n" +
			"trash copy found gone for good: expired when trashd's rule expired it, else removed (the file is lost).\n" +
			"With --inventory, the newest S3 Inventory reports stand in for most HEADs; with --lms, the LMS table is\n" +
			"audited against its buckets' reports both ways (objects no row names, rows without an object): it only reports.\n" +
			"Exit 3 when it found problems, 1 when it could not look (S3 or the database unreachable).",
		args: "[--inventory | --lms] [--json]",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			asJSON := fs.Bool("json", false, "print one JSON document instead (the shape is in docs/operations.md)")
			inv := fs.Bool("inventory", false, "check every record against the newest S3 Inventory reports, with HEAD only where a report disagrees (TRASHD_INVENTORY_BUCKET)")
			lms := fs.Bool("lms", false, "audit the LMS table against its buckets' inventory reports: objects no row names, rows whose object is in neither bucket (TRASHD_SOURCE_INVENTORY_BUCKET)")
			return func(ctx context.Context, c *cli, _ []string) error {
				switch {
				case *inv && *lms:
					return usageErr("audit: --inventory and --lms are two audits; run one at a time")
				case *inv:
					return runAuditInventory(ctx, c, *asJSON)
				case *lms:
					return runAuditLMS(ctx, c, *asJSON)
				}
				return runAudit(ctx, c, *asJSON)
			}
		},
	}
}

// runAudit checks the invariant against S3: every record's object exists
// intact in the source bucket or at its trash key. It changes nothing but
// the record of a trash copy found gone for good (expired or removed). An
// unverifiable record is listed, not counted a problem: nothing says its
// object is wrong, only that nothing can say it is right.
func runAudit(ctx context.Context, c *cli, asJSON bool) error {
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
	doc := auditDoc{Findings: []auditFinding{}}
	sum, err := reconcile.Audit(ctx, store, client, cfg.Reconcile.TrashBucket, cfg.Reconcile.Concurrency,
		func(rec reconcile.Record, result reconcile.AuditResult, detail string) {
			if asJSON {
				doc.Findings = append(doc.Findings, auditFinding{LMSID: rec.LMSID, RecordID: rec.ID, State: string(rec.State),
					Result: string(result), Problem: detail})
				return
			}
			if result == reconcile.AuditUnverifiable {
				detail = "unverifiable: " + detail
			}
			fmt.Fprintf(c.stdout, "LMS row %d (record %d): %s\n", rec.LMSID, rec.ID, escapeLine(detail))
		},
		// A trash copy gone for good must not stay recorded in the trash.
		reconcile.RecordGone(store, time.Duration(cfg.Reconcile.Archive.Rule.ExpirationDays)*cfg.Reconcile.Archive.DayLength))
	if asJSON {
		doc.Checked, doc.Problems, doc.Skipped, doc.Unchecked = sum.Checked, sum.Problems, sum.Skipped, sum.Unchecked
		doc.Unverifiable = sum.Unverifiable
		if err != nil {
			doc.Error = err.Error()
		}
		if werr := writeJSONDoc(c.stdout, doc); werr != nil {
			return werr
		}
	} else {
		printAuditSummary(c.stdout, sum)
	}
	if err != nil {
		return fmt.Errorf("audit: %w; run it again when S3 answers", err)
	}
	if sum.Problems > 0 {
		return objectsErr("audit found %d problems (listed above)", sum.Problems)
	}
	return nil
}

func printAuditSummary(w io.Writer, sum reconcile.AuditSummary) {
	fmt.Fprintf(w, "audit: %d records checked, %d problems, %d unverifiable (an object with nothing recorded to compare it with); "+
		"%d skipped (missing or expired: their outcome is recorded)",
		sum.Checked, sum.Problems, sum.Unverifiable, sum.Skipped)
	if sum.Unchecked > 0 {
		fmt.Fprintf(w, "; %d not checked (S3 did not answer)", sum.Unchecked)
	}
	fmt.Fprintln(w)
}
