package main

import (
	"context"
	"fmt"

	"trashd/db"
	"trashd/reconcile"
)

// previewPass reports what a pass would do, reading only: the same bucket
// and credential checks as a real pass, the trashed rows it would discover,
// the records already due, the restores it would start and the records it
// would orphan, and whether the mass-change brake, or a lifecycle rule that
// deletes trash copies, would stop it.
func previewPass(ctx context.Context, runner *reconcile.Runner, store *db.Store, cfg reconcile.Config, c *cli, asJSON bool) error {
	if err := runner.CheckBuckets(ctx); err != nil {
		return fmt.Errorf("a pass would stop here: %w", err)
	}
	show := 10
	if asJSON {
		show = 1000
	}
	doc := dryRunDoc{New: []newRowDoc{}}
	after := reconcile.BeforeFirstLMSID // LMS ids may be 0 or negative
	discover := 0
	for {
		rows, err := store.ScanTrashed(ctx, after, cfg.BatchSize)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if discover < show && asJSON {
				doc.New = append(doc.New, newRowDoc{LMSID: r.LMSID, Bucket: r.Bucket, Key: r.Key})
			} else if discover < show {
				fmt.Fprintf(c.stdout, "  new: LMS row %d s3://%s/%s\n", r.LMSID, escapeKey(r.Bucket), escapeKey(r.Key))
			}
			discover++
		}
		if len(rows) < cfg.BatchSize {
			break
		}
		after = rows[len(rows)-1].LMSID
	}
	if discover > show && !asJSON {
		fmt.Fprintf(c.stdout, "  … and %d more\n", discover-show)
	}
	// Restored rows trashed again move again, weighed with the new rows.
	again, err := store.CountRetrash(ctx)
	if err != nil {
		return err
	}
	due, bytes, err := store.Pending(ctx)
	if err != nil {
		return err
	}
	restores, err := store.RestoreCandidates(ctx)
	if err != nil {
		return err
	}
	orphans, err := store.OrphanCandidates(ctx)
	if err != nil {
		return err
	}
	brake := runner.WeighChanges(ctx, discover+again, len(restores), len(orphans))
	if brake == nil {
		// Another lifecycle rule deleting trash copies stops the moves.
		brake = runner.ForeignExpiration(ctx)
	}
	if asJSON {
		doc.Discover, doc.NewTruncated, doc.Again, doc.Due, doc.DueBytes = discover, discover > show, again, due, bytes
		doc.Restores, doc.Orphans = len(restores), len(orphans)
		if brake != nil {
			doc.Brake = brake.Error()
		}
		if err := writeJSONDoc(c.stdout, doc); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "dry run: would discover %d new trashed rows and find %d restored rows trashed again "+
			"(%d weighed together by the brake) and move them, plus %d records already due (%s known); "+
			"would restore %d files whose trash flag was cleared and orphan %d records whose LMS row is gone; nothing was changed\n",
			discover, again, discover+again, due, humanBytes(bytes), len(restores), len(orphans))
	}
	if brake != nil {
		return objectsErr("a pass would stop before changing anything: %w", brake)
	}
	return nil
}
