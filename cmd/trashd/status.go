package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"cmp"

	"trashd/db"
	"trashd/internal/service"
	"trashd/reconcile"
)

func statusCommand() command {
	return command{
		name:    "status",
		args:    "[--failed] [--overdue] [--cost] [--json]",
		summary: "counts per state, oldest pending object, last runs (--failed, --overdue, --cost)",
		about: "Show counts and bytes per state, the oldest pending object, the last runs, and overdue and\n" +
			"ineligible transitions. Reads the database only; works without the service.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			var o statusOptions
			fs.BoolVar(&o.failed, "failed", false, "list the failed and missing records with their reasons (`trashd retry` re-queues them)")
			fs.BoolVar(&o.overdue, "overdue", false, "list the copies whose transition to the archive class is overdue")
			fs.BoolVar(&o.cost, "cost", false, "estimate the trash bucket's monthly cost by storage class")
			fs.BoolVar(&o.json, "json", false, "print one JSON document instead (the shape is in docs/operations.md)")
			return func(ctx context.Context, c *cli, _ []string) error {
				return runStatus(ctx, c, o)
			}
		},
	}
}

type statusOptions struct {
	failed, overdue, cost, json bool
}

func runStatus(ctx context.Context, c *cli, o statusOptions) error {
	cfg, sqlDB, store, err := loadStore(ctx, c)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	st, err := store.Status(ctx)
	if err != nil {
		return err
	}
	q := cfg.Reconcile.Archive.OverdueQuery()
	arch, err := store.Archive(ctx, q)
	if err != nil {
		return err
	}
	it, err := store.IntelligentTiering(ctx)
	if err != nil {
		return err
	}
	var failures []db.Failure
	if o.failed {
		limit := maxListed + 1
		if o.json {
			limit = 1 << 30 // every one, for scripts
		}
		if failures, err = allFailures(ctx, store, limit); err != nil {
			return err
		}
	}
	var overdue []reconcile.OverdueRecord
	if o.overdue {
		if overdue, err = store.Overdue(ctx, q, 100); err != nil {
			return err
		}
	}
	next := nextPass(ctx, cfg, st.Now)
	if o.json {
		doc := toStatusDoc(st, cfg, arch)
		doc.Schedule = next
		doc.Archive.IntelligentTiering = intelligentTieringDoc{Archived: it.Archived, ArchivedBytes: it.ArchivedBytes, Restoring: it.Restoring}
		if o.failed {
			doc.Failed = []failureDoc{}
			for _, f := range failures {
				doc.Failed = append(doc.Failed, toFailureDoc(f))
			}
		}
		if o.overdue {
			doc.Overdue = []overdueDoc{}
			for _, r := range overdue {
				doc.Overdue = append(doc.Overdue, toOverdueDoc(r))
			}
		}
		if o.cost {
			doc.Cost = toCostDoc(reconcile.EstimateCost(arch.Classes, cfg.Prices))
		}
		doc.Inventory = inventoryStatus(ctx, cfg)
		return writeJSONDoc(c.stdout, doc)
	}
	printStatus(c.stdout, st)
	printNextPass(c.stdout, next, st.Now)
	printArchive(c.stdout, cfg, arch)
	printIntelligentTiering(c.stdout, it)
	printInventoryStatus(c.stdout, inventoryStatus(ctx, cfg))
	if o.failed {
		printFailures(c.stdout, failures)
	}
	if o.overdue {
		printOverdue(c.stdout, overdue, arch.Overdue)
	}
	if o.cost {
		printCost(c.stdout, reconcile.EstimateCost(arch.Classes, cfg.Prices))
	}
	return nil
}

// allFailures reads up to limit failed and missing records, oldest first.
func allFailures(ctx context.Context, store *db.Store, limit int) ([]db.Failure, error) {
	var (
		out   []db.Failure
		after int64
	)
	for len(out) < limit {
		batch, err := store.Failures(ctx, db.FailureFilter{}, after, min(500, limit-len(out)))
		if err != nil || len(batch) == 0 {
			return out, err
		}
		out = append(out, batch...)
		after = batch[len(batch)-1].ID
	}
	return out, nil
}

// maxListed bounds the records a status listing prints.
const maxListed = 100

func printFailures(w io.Writer, list []db.Failure) {
	fmt.Fprintln(w, "\nfailed and missing records (oldest first):")
	if len(list) == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	more := len(list) > maxListed
	list = list[:min(len(list), maxListed)]
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LMS ROW\tRECORD\tSTATE\tATTEMPTS\tSINCE\tOBJECT\tREASON")
	for _, f := range list {
		since := "-"
		if !f.FinishedAt.IsZero() {
			since = f.FinishedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%s\t%s\t%s\n", f.LMSID, f.ID, f.State, f.Attempts, since,
			escapeKey("s3://"+f.Bucket+"/"+f.Key), firstLine(escapeLine(f.Reason), 300))
	}
	tw.Flush()
	if more {
		fmt.Fprintf(w, "… and more: `trashd status --failed --json` lists them all\n")
	}
	fmt.Fprintln(w, "fix the cause, then `trashd retry LMS_ROW_ID...` (or `--state failed|missing`, `--all`) re-queues them")
}

func printArchive(w io.Writer, cfg Config, a reconcile.ArchiveStatus) {
	rule := cfg.Reconcile.Archive.Rule
	fmt.Fprintf(w, "\narchive (%s mode, %s after %d days): overdue %d (%s), not transitioned by S3 (under %s) %d (%s, %.4f USD/month in STANDARD)\n",
		cfg.Reconcile.Archive.Mode, rule.StorageClass, rule.TransitionDays, a.Overdue, humanBytes(a.OverdueBytes),
		humanBytes(rule.MinTransitionSize()), a.Ineligible, humanBytes(a.IneligibleBytes),
		float64(a.IneligibleBytes)/1e9*cfg.Prices["STANDARD"])
}

// printIntelligentTiering reports trash copies in Intelligent-Tiering's
// archive access tiers, if there are any: another lifecycle rule put them
// there, and each restore of one takes hours.
func printIntelligentTiering(w io.Writer, it reconcile.IntelligentTieringStatus) {
	if it.Archived == 0 && it.Restoring == 0 {
		return
	}
	fmt.Fprintf(w, "intelligent-tiering archive tiers (ARCHIVE_ACCESS, DEEP_ARCHIVE_ACCESS): %d copies (%s) as last checked, %d being restored; "+
		"a restore takes no days and returns the copy to the Frequent Access tier (Standard: 3-5 h, 12 h from Deep Archive Access)\n",
		it.Archived, humanBytes(it.ArchivedBytes), it.Restoring)
}

func printOverdue(w io.Writer, list []reconcile.OverdueRecord, total int) {
	fmt.Fprintf(w, "\noverdue transitions (%d in all, oldest first):\n", total)
	if len(list) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LMS ROW\tTRASH KEY\tSIZE\tMOVED\tCLASS SEEN\tLAST CHECKED")
	for _, o := range list {
		checked := "never"
		if !o.CheckedAt.IsZero() {
			checked = o.CheckedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", o.LMSID, escapeKey(o.TrashKey), humanBytes(o.Size), o.CopiedAt.Format(time.RFC3339),
			cmp.Or(o.StorageClass, "-"), checked)
	}
	tw.Flush()
}

func printCost(w io.Writer, r reconcile.CostReport) {
	fmt.Fprintf(w, "\nestimated monthly cost (prices from TRASHD_PRICE_*; defaults are %s list prices):\n", reconcile.DefaultPricesDate)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CLASS\tOBJECTS\tBYTES\tARCHIVE OVERHEAD\tUSD/MONTH\tIN STANDARD\tYOUNGER THAN MIN.\tEARLY-DELETION USD\t")
	for _, l := range r.Lines {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.4f\t%.4f\t%d\t%.4f\t\n", l.Class, l.Objects, humanBytes(l.Bytes), humanBytes(l.Overhead),
			l.Monthly, l.AsStandard, l.Young, l.EarlyDeletion)
	}
	tw.Flush()
	fmt.Fprintf(w, "total %.4f USD/month; in STANDARD it would be %.4f; saving %.4f\n", r.Monthly, r.AsStandard, r.Savings)
	fmt.Fprintln(w, "archive classes add 8 KB (billed as STANDARD) + 32 KB per object; GLACIER and GLACIER_IR bill at least 90 days, DEEP_ARCHIVE 180")
}

func printStatus(w io.Writer, st db.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "STATE\tOBJECTS\tBYTES\t")
	removed := 0
	for _, s := range st.States {
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", s.State, s.Count, humanBytes(s.Bytes))
		if s.State == reconcile.StateRemoved {
			removed = s.Count
		}
	}
	tw.Flush()
	if removed > 0 {
		fmt.Fprintf(w, "removed: %d trash copies were removed by something that is not trashd's lifecycle rule (another rule on the trash bucket, "+
			"someone's delete); their files cannot be restored. What removed each: "+
			"SELECT lms_id, last_error FROM trash_objects WHERE state = 'removed'\n", removed)
	}
	if age := st.OldestPendingAge(); age > 0 {
		fmt.Fprintf(w, "oldest pending: %s ago (since %s)\n", age.Round(time.Second), st.OldestPending.Format(time.RFC3339))
	} else {
		fmt.Fprintln(w, "oldest pending: none")
	}
	fmt.Fprintf(w, "due now: %d, backing off: %d, leased: %d\n", st.Due, st.AwaitingRetry, st.Leased)
	if len(st.Runs) == 0 {
		fmt.Fprintln(w, "no runs yet")
		return
	}
	fmt.Fprintln(w, "\nlast runs:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tTRIGGER\tHOST\tSTARTED\tDURATION\tSTATUS\tMOVED\tMISSING\tFAILED\tRETRYING\tARCHIVED\tRESTORED\tERROR")
	for _, r := range st.Runs {
		dur := "running"
		if r.Status == reconcile.RunAbandoned {
			dur = "-"
		}
		if !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		status := string(r.Status)
		if staleRun(r) {
			status = fmt.Sprintf("running (stale: no heartbeat for %s, its process probably died; the next pass records it abandoned)",
				roughAge(st.Now.Sub(r.Heartbeat)))
			r.Error, dur = "", "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.Trigger, r.Host,
			r.StartedAt.Format(time.RFC3339), dur, status, r.Counts.Moved, r.Counts.Missing,
			r.Counts.Failed, r.Counts.Retrying, r.Counts.Archived, r.Counts.Restored, firstLine(escapeLine(r.Error), 60))
	}
	tw.Flush()
}

// staleRun is a run recorded running whose heartbeat lapsed: the store
// reads it as abandoned, though no pass has recorded that yet (it has no
// end), so its process probably died.
func staleRun(r db.Run) bool {
	return r.Status == reconcile.RunAbandoned && r.FinishedAt.IsZero()
}

// roughAge is d to the minute, or to the second under a minute: "7m".
func roughAge(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// nextPass asks the running service, briefly, when its next scheduled pass
// is; without an answer it reckons it from TRASHD_SCHEDULE.
func nextPass(ctx context.Context, cfg Config, now time.Time) scheduleDoc {
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := newControlClient(cfg.ControlSocket).status(actx)
	if err == nil {
		d := scheduleDoc{Spec: st.Schedule, NextPass: optTime(st.Next), From: "service"}
		if st.Running != nil {
			d.Running = &st.Running.ID
		}
		return d
	}
	d := scheduleDoc{Spec: cfg.Schedule, From: "configuration",
		Error: fmt.Sprintf("the service does not answer on %s", cfg.ControlSocket)}
	if sched, _, err := service.ParseSchedule(cfg.Schedule, now); err == nil {
		d.NextPass = optTime(sched.Next(now))
	}
	return d
}

func printNextPass(w io.Writer, d scheduleDoc, now time.Time) {
	if d.NextPass == nil {
		fmt.Fprintf(w, "next scheduled pass: none (schedule %q)\n", d.Spec)
		return
	}
	at := fmt.Sprintf("%s (in %s, schedule %q)", d.NextPass.Format(time.RFC3339), roughAge(d.NextPass.Sub(now)), d.Spec)
	switch {
	case d.From == "service" && d.Running != nil:
		fmt.Fprintf(w, "next scheduled pass: %s; the service is running pass %d now\n", at, *d.Running)
	case d.From == "service":
		fmt.Fprintf(w, "next scheduled pass: %s\n", at)
	default:
		fmt.Fprintf(w, "next scheduled pass: %s by TRASHD_SCHEDULE, if the service runs (%s)\n", at, d.Error)
	}
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}
