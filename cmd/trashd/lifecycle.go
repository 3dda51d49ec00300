package main

import (
	"context"
	"fmt"
	"io"

	"trashd/reconcile"
)

// runLifecycle shows the trash bucket's lifecycle rules and how they differ
// from the desired rule; with --apply it merges the rule in (keeping every
// other rule) and writes it.
func runLifecycle(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("lifecycle", "lifecycle [--apply]", stderr)
	apply := fs.Bool("apply", false, "merge the desired rule into the bucket's configuration and write it")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	client, err := openS3(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitUsage
	}
	bucket, want := cfg.Reconcile.TrashBucket, cfg.Reconcile.Archive.Rule
	rep, err := client.CheckLifecycle(ctx, bucket, want)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	printLifecycle(stdout, want, rep)
	if !*apply {
		if rep.InPlace() {
			return exitOK
		}
		fmt.Fprintln(stdout, "\nrun `trashd lifecycle --apply` to merge the desired rule in (other rules are kept)")
		return exitObjects
	}
	if rep.InPlace() {
		fmt.Fprintln(stdout, "\nnothing to apply: the rule is in place")
		return exitOK
	}
	rep, err = client.ApplyLifecycle(ctx, bucket, want)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: lifecycle --apply: %v\n", err)
		return exitError
	}
	fmt.Fprintln(stdout, "\napplied; the bucket now reads:")
	printLifecycle(stdout, want, rep)
	if !rep.InPlace() {
		return exitObjects
	}
	return exitOK
}

func printLifecycle(w io.Writer, want reconcile.LifecycleRule, rep reconcile.LifecycleReport) {
	fmt.Fprintf(w, "bucket %s lifecycle configuration:\n", rep.Bucket)
	if len(rep.Rules) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, r := range rep.Rules {
		fmt.Fprintf(w, "  %s\n", r)
	}
	exp := "never expires"
	if want.ExpirationDays > 0 {
		exp = fmt.Sprintf("expires after %d days", want.ExpirationDays)
	}
	fmt.Fprintf(w, "desired rule %q: prefix %q, to %s after %d days, %s, transitions objects of at least %s\n",
		want.ID, want.Prefix, want.StorageClass, want.TransitionDays, exp, humanBytes(want.MinTransitionSize()))
	if rep.InPlace() {
		fmt.Fprintln(w, "drift: none")
	} else {
		fmt.Fprintln(w, "drift:")
		for _, d := range rep.Drift {
			fmt.Fprintf(w, "  - %s\n", d)
		}
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintf(w, "conflict: %s\n", c)
	}
}
