package main

import (
	"context"
	"fmt"
	"io"

	"trashd/db"
)

// previewPass reports what a pass would do, reading only: the trashed rows it
// would discover and the records already due.
func previewPass(ctx context.Context, store *db.Store, batch int, stdout, stderr io.Writer) int {
	const show = 10
	var after int64
	discover := 0
	for {
		rows, err := store.ScanTrashed(ctx, after, batch)
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
		if len(rows) < batch {
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
	fmt.Fprintf(stdout, "dry run: would discover %d new trashed rows and move them, plus %d records already due (%s known); nothing was changed\n",
		discover, due, humanBytes(bytes))
	return exitOK
}
