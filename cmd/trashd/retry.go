package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"trashd/db"
	"trashd/reconcile"
)

func retryCommand() command {
	return command{
		name:     "retry",
		args:     "[--dry-run] (LMS_ROW_ID... | --state failed|missing ... | --all)",
		summary:  "re-queue failed or missing records for the next pass (--dry-run: only list them)",
		operands: true,
		about: "Re-queue failed or missing records: those of the given LMS rows, all of the states given\n" +
			"(--state failed, --state missing, or both: --state failed,missing), or all. A record with a verified\n" +
			"trash copy goes back to copied, any other to pending, due now, with its attempts and failing time\n" +
			"reset; a record without a source bucket picks up TRASHD_SOURCE_BUCKET. A record a pass is working on\n" +
			"(its lease held) is left to it. The next pass (`trashd reconcile`, `trashd trigger` or the schedule)\n" +
			"takes them up. Fix the cause first: `trashd status --failed` lists each with its reason. Exit 3 when\n" +
			"some could not be re-queued.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			var o retryOptions
			fs.BoolVar(&o.dryRun, "dry-run", false, "list what would be re-queued, and change nothing")
			fs.Var(&o.states, "state", "re-queue every record in `STATE`: failed or missing (repeat it, or separate with commas, for both)")
			fs.BoolVar(&o.all, "all", false, "re-queue every failed and missing record")
			return func(ctx context.Context, c *cli, args []string) error {
				return runRetry(ctx, c, o, args)
			}
		},
	}
}

type retryOptions struct {
	dryRun bool
	states retryStates
	all    bool
}

// retryStates is --state: given once or more, each a state or a
// comma-separated list, in any case ("FAILED" is failed).
type retryStates []reconcile.State

func (s *retryStates) String() string {
	if s == nil {
		return ""
	}
	return joinRetryStates(*s)
}

func (s *retryStates) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		st := reconcile.State(strings.ToLower(strings.TrimSpace(part)))
		if !slices.Contains(db.RetryStates, st) {
			return fmt.Errorf("%s: only %s records are retried", escapeKey(part), joinRetryStates(db.RetryStates))
		}
		if !slices.Contains(*s, st) {
			*s = append(*s, st)
		}
	}
	return nil
}

func joinRetryStates(states []reconcile.State) string {
	out := make([]string, len(states))
	for i, st := range states {
		out[i] = string(st)
	}
	return strings.Join(out, " or ")
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
	if len(o.states) > 0 {
		chosen++
		f.States = o.states
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
			r = withLease(ctx, store, r, o.dryRun)
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
			unknown = append(unknown, notRetried(ctx, store, id))
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
		return objectsErr("retry: %s (`trashd status --failed` lists the records there are to retry)", strings.Join(unknown, "; "))
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

// notRetried says why LMS row lmsID named on the command line had nothing to
// re-queue: trashd has no record of it, or its record is in another state.
func notRetried(ctx context.Context, store *db.Store, lmsID int64) string {
	rec, err := store.RecordOf(ctx, lmsID)
	switch {
	case errors.Is(err, reconcile.ErrNotFound):
		return fmt.Sprintf("no record for LMS row %d: trashd records a row once a pass finds it trashed", lmsID)
	case err != nil:
		return fmt.Sprintf("LMS row %d: %v", lmsID, err)
	}
	msg := fmt.Sprintf("the record of LMS row %d is %s, not failed or missing: nothing to retry", lmsID, rec.State)
	if note := leaseNote(ctx, store, lmsID); note != "" {
		msg += "; " + note
	}
	return msg
}

// withLease says so when a pass holds r's record: re-queueing leaves a
// leased record to its pass, so a dry run would not re-queue it either, and
// the store's "changed meanwhile" is the lease, named here with its holder.
func withLease(ctx context.Context, store *db.Store, r db.Retried, dryRun bool) db.Retried {
	if r.Skip == "" && !dryRun {
		return r // re-queued: no pass held it
	}
	note := leaseNote(ctx, store, r.LMSID)
	switch {
	case note == "":
	case r.Skip == "" || strings.HasPrefix(r.Skip, "the record changed meanwhile"):
		r.To, r.Skip = "", note
	default:
		r.Skip += "; " + note
	}
	return r
}
