package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"trashd/db"
	"trashd/reconcile"
)

func retryCommand() command {
	return command{
		name:     "retry",
		args:     "[--dry-run] (LMS_ROW_ID... | --state failed|missing | --all)",
		summary:  "re-queue failed or missing records for the next pass (--dry-run: only list them)",
		operands: true,
		about: "Re-queue failed or missing records: those of the given LMS rows, all of one state, or all. A record\n" +
			"with a verified trash copy goes back to copied, any other to pending, due now, with its attempts and\n" +
			"failing time reset; a record without a source bucket picks up TRASHD_SOURCE_BUCKET. The next pass\n" +
			"(`trashd reconcile`, `trashd trigger` or the schedule) takes them up. Fix the cause first:\n" +
			"`trashd status --failed` lists each with its reason. Exit 3 when some could not be re-queued.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			var o retryOptions
			fs.BoolVar(&o.dryRun, "dry-run", false, "list what would be re-queued, and change nothing")
			fs.StringVar(&o.state, "state", "", "re-queue every record in this state: failed or missing")
			fs.BoolVar(&o.all, "all", false, "re-queue every failed and missing record")
			return func(ctx context.Context, c *cli, args []string) error {
				return runRetry(ctx, c, o, args)
			}
		},
	}
}

type retryOptions struct {
	dryRun bool
	state  string
	all    bool
}

func runRetry(ctx context.Context, c *cli, o retryOptions, args []string) error {
	var f db.FailureFilter
	chosen := 0
	if len(args) > 0 {
		chosen++
		for _, a := range args {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil { // 0 and negative ids are LMS ids like any other
				return operandErr("retry: %s is not an LMS row id (a whole number)", escapeKey(a))
			}
			f.LMSIDs = append(f.LMSIDs, id)
		}
	}
	if o.state != "" {
		chosen++
		st := reconcile.State(o.state)
		if st != reconcile.StateFailed && st != reconcile.StateMissing {
			return operandErr("retry: --state %s: only failed or missing records are retried", escapeKey(o.state))
		}
		f.States = []reconcile.State{st}
	}
	if o.all {
		chosen++
	}
	if chosen != 1 {
		return operandErr("retry: say which records: LMS row ids, --state failed|missing, or --all (exactly one of them)")
	}
	_, sqlDB, store, err := loadStore(ctx, c)
	if err != nil {
		return err
	}
	defer sqlDB.Close()

	var (
		after             int64
		requeued, skipped int
		to                = map[reconcile.State]int{}
		seen              = map[int64]bool{}
	)
	for {
		batch, err := store.Failures(ctx, f, after, 500)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		after = batch[len(batch)-1].ID
		done, err := store.Retry(ctx, batch, o.dryRun)
		for _, r := range done {
			seen[r.LMSID] = true
			printRetried(c.stdout, r, o.dryRun)
			if r.Skip != "" {
				skipped++
			} else {
				requeued++
				to[r.To]++
			}
		}
		if err != nil {
			return err
		}
	}
	var unknown []string
	for _, id := range f.LMSIDs {
		if !seen[id] {
			unknown = append(unknown, strconv.FormatInt(id, 10))
		}
	}
	verb := "re-queued"
	if o.dryRun {
		verb = "would re-queue"
	}
	fmt.Fprintf(c.stdout, "%s %d (%d to copied, %d to pending), skipped %d", verb, requeued, to[reconcile.StateCopied], to[reconcile.StatePending], skipped)
	switch {
	case o.dryRun:
		fmt.Fprintln(c.stdout, "; nothing was changed")
	case requeued > 0:
		fmt.Fprintln(c.stdout, "; the next pass takes them up (`trashd reconcile`, `trashd trigger`, or the schedule)")
	default:
		fmt.Fprintln(c.stdout)
	}
	if len(unknown) > 0 {
		return objectsErr("retry: no failed or missing record of LMS rows %s (`trashd status --failed` lists those there are)", strings.Join(unknown, ", "))
	}
	if skipped > 0 {
		return objectsErr("retry: %d records could not be re-queued (the reason is on each line above)", skipped)
	}
	return nil
}

func printRetried(w io.Writer, r db.Retried, dryRun bool) {
	if r.Skip != "" {
		fmt.Fprintf(w, "LMS row %d (record %d, %s): skipped: %s\n", r.LMSID, r.ID, r.State, escapeLine(r.Skip))
		return
	}
	arrow := "->"
	if dryRun {
		arrow = "would go to"
	}
	bucket := ""
	if r.Bucket != r.Failure.Bucket {
		bucket = fmt.Sprintf(" (source bucket now %s)", escapeKey(r.Bucket))
	}
	fmt.Fprintf(w, "LMS row %d (record %d): %s %s %s%s; was: %s\n", r.LMSID, r.ID, r.State, arrow, r.To, bucket,
		firstLine(escapeLine(r.Reason), 200))
}
