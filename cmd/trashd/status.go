package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"trashd/db"
)

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", "status", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	sqlDB, store, code := openStore(ctx, cfg, stderr)
	if store == nil {
		return code
	}
	defer sqlDB.Close()
	st, err := store.Status(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	printStatus(stdout, st)
	return exitOK
}

func printStatus(w io.Writer, st db.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "STATE\tOBJECTS\tBYTES\t")
	for _, s := range st.States {
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", s.State, s.Count, humanBytes(s.Bytes))
	}
	tw.Flush()
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
	fmt.Fprintln(tw, "RUN\tTRIGGER\tHOST\tSTARTED\tDURATION\tSTATUS\tMOVED\tMISSING\tFAILED\tRETRYING\tERROR")
	for _, r := range st.Runs {
		dur := "running"
		if !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.Trigger, r.Host,
			r.StartedAt.Format(time.RFC3339), dur, r.Status, r.Counts.Moved, r.Counts.Missing,
			r.Counts.Failed, r.Counts.Retrying, firstLine(r.Error, 60))
	}
	tw.Flush()
}

func firstLine(s string, n int) string {
	for i, r := range s {
		if r == '\n' {
			s = s[:i]
			break
		}
	}
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
