package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"trashd/db"
	"trashd/reconcile"
)

func restoreCommand() command {
	return command{
		name:     "restore",
		args:     "LMS_ROW_ID",
		summary:  "bring back one LMS row's file now",
		operands: true,
		about: "Bring back the file of LMS row LMS_ROW_ID now, without waiting for the next pass: from the trash\n" +
			"bucket, or first from the archive class (run it again, or let the passes finish, while S3 restores).\n" +
			"Clear the row's trash flag in the LMS first: trashd never writes the LMS table.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			return runRestore
		},
	}
}

// runRestore brings back the file of one LMS row now, without waiting for
// the next pass: from the trash bucket, or first from the archive class.
func runRestore(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return operandErr("restore takes one LMS row id, but was given %d arguments", len(args))
	}
	lmsID, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return operandErr("restore: %s is not an LMS row id (a whole number)", escapeKey(args[0]))
	}
	cfg, sqlDB, store, err := loadStore(ctx, c)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	log := c.logger(cfg.LogLevel, cfg.LogFormat)
	runner, _, err := newRunner(ctx, cfg, cfg.S3, store, log)
	if err != nil {
		return err
	}
	rec, err := store.RequestRestore(ctx, lmsID)
	if err != nil {
		return err
	}
	if rec.State == reconcile.StateRestored {
		fmt.Fprintf(c.stdout, "LMS row %d was already restored\n", lmsID)
		return nil
	}
	if _, err := runner.RunRestores(ctx); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	rec, err = store.RecordOf(ctx, lmsID)
	if err != nil {
		return err
	}
	switch rec.State {
	case reconcile.StateRestored:
		if rec.LastError != "" { // restored beside the original key
			fmt.Fprintf(c.stdout, "LMS row %d restored: %s\n", lmsID, escapeLine(rec.LastError))
		} else {
			fmt.Fprintf(c.stdout, "LMS row %d restored to s3://%s/%s\n", lmsID, escapeKey(rec.Source.Bucket), escapeKey(rec.Source.Key))
		}
		return nil
	case reconcile.StateRestoring:
		fmt.Fprintf(c.stdout, "LMS row %d: S3 is restoring it from the archive class (tier %s); the next pass copies it back when done\n",
			lmsID, cfg.Reconcile.Archive.RestoreTier)
		return nil
	default:
		return objectsErr("LMS row %d is %s: %s", lmsID, rec.State, notRestoredReason(ctx, store, lmsID, rec))
	}
}

// notRestoredReason says why the restore left rec as it was: its recorded
// error, a pass that holds its lease, or, when neither, what to do.
func notRestoredReason(ctx context.Context, store *db.Store, lmsID int64, rec reconcile.Record) string {
	reason := escapeLine(rec.LastError)
	if note := leaseNote(ctx, store, lmsID); note != "" {
		return strings.TrimPrefix(reason+"; "+note, "; ")
	}
	if reason == "" {
		reason = fmt.Sprintf("the restore did not take it up: run `trashd restore %d` again, or let the next pass restore it", lmsID)
	}
	return reason
}
