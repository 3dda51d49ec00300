package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"trashd/reconcile"
)

// runRestore brings back the file of one LMS row now, without waiting for
// the next pass: from the trash bucket, or first from the archive class.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("restore", "restore LMS_ROW_ID", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	lmsID, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: restore: %q is not an LMS row id\n", fs.Arg(0))
		return exitUsage
	}
	cfg, sqlDB, store, code := loadStore(ctx, stderr)
	if store == nil {
		return code
	}
	log := newLogger(stderr, cfg.LogLevel)
	defer sqlDB.Close()
	runner, _, code := newRunner(ctx, cfg, cfg.S3, store, log, stderr)
	if runner == nil {
		return code
	}
	rec, err := store.RequestRestore(ctx, lmsID)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	if rec.State == reconcile.StateRestored {
		fmt.Fprintf(stdout, "LMS row %d was already restored\n", lmsID)
		return exitOK
	}
	if _, err := runner.RunRestores(ctx); err != nil {
		fmt.Fprintf(stderr, "trashd: restore: %v\n", err)
		return exitError
	}
	rec, err = store.RecordOf(ctx, lmsID)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	switch rec.State {
	case reconcile.StateRestored:
		if rec.LastError != "" { // restored beside the original key
			fmt.Fprintf(stdout, "LMS row %d restored: %s\n", lmsID, rec.LastError)
		} else {
			fmt.Fprintf(stdout, "LMS row %d restored to s3://%s/%s\n", lmsID, rec.Source.Bucket, rec.Source.Key)
		}
		return exitOK
	case reconcile.StateRestoring:
		fmt.Fprintf(stdout, "LMS row %d: S3 is restoring it from the archive class (tier %s); the next pass copies it back when done\n",
			lmsID, cfg.Reconcile.Archive.RestoreTier)
		return exitOK
	default:
		fmt.Fprintf(stdout, "LMS row %d is %s: %s\n", lmsID, rec.State, rec.LastError)
		return exitObjects
	}
}
