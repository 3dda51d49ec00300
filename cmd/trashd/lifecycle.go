package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"trashd/reconcile"
)

func lifecycleCommand() command {
	return command{
		name:    "lifecycle",
		args:    "[--apply] [--json]",
		summary: "the trash bucket's lifecycle rules and drift (--apply: merge the rule in)",
		about: "Show the trash bucket's lifecycle rules and how they differ from the desired rule (TRASHD_LIFECYCLE_*,\n" +
			"TRASHD_TRANSITION_*, TRASHD_STORAGE_CLASS). Exit 3 while the rule is not in place.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			apply := fs.Bool("apply", false, "merge the desired rule into the bucket's configuration and write it (every other rule is kept)")
			asJSON := fs.Bool("json", false, "print one JSON document instead (the shape is in docs/operations.md)")
			return func(ctx context.Context, c *cli, _ []string) error {
				return runLifecycle(ctx, c, *apply, *asJSON)
			}
		},
	}
}

// runLifecycle shows the trash bucket's lifecycle rules and how they differ
// from the desired rule; with apply it merges the rule in (keeping every
// other rule) and writes it.
func runLifecycle(ctx context.Context, c *cli, apply, asJSON bool) error {
	cfg, err := loadConfig(c.stderr)
	if err != nil {
		return err
	}
	client, err := openS3(ctx, cfg)
	if err != nil {
		return err
	}
	bucket, want := cfg.Reconcile.TrashBucket, cfg.Reconcile.Archive.Rule
	rep, err := client.CheckLifecycle(ctx, bucket, want)
	if err != nil {
		return err
	}
	out := c.stdout
	var inv *inventoryConfigDoc
	if asJSON {
		// One document: the bucket as it ends up.
		out = io.Discard
		shown := &rep
		defer func() {
			doc := toLifecycleDoc(want, *shown)
			doc.Inventory = inv
			_ = writeJSONDoc(c.stdout, doc)
		}()
	}
	ruleErr := func() error {
		printLifecycle(out, want, rep)
		if !apply {
			if rep.InPlace() {
				return nil
			}
			return objectsErr("the lifecycle rule is not in place; run `trashd lifecycle --apply` to merge it in (other rules are kept)")
		}
		if rep.InPlace() {
			fmt.Fprintln(out, "\nnothing to apply: the rule is in place")
			return nil
		}
		applied, err := client.ApplyLifecycle(ctx, bucket, want)
		if err != nil {
			return fmt.Errorf("lifecycle --apply: %w", err)
		}
		rep = applied
		fmt.Fprintln(out, "\napplied; the bucket now reads:")
		printLifecycle(out, want, rep)
		if !rep.InPlace() {
			return objectsErr("the rule was written but the bucket still differs from it (see the drift above)")
		}
		return nil
	}()
	invErr := lifecycleInventory(ctx, out, cfg, client, apply, &inv)
	if ruleErr != nil {
		return ruleErr
	}
	return invErr
}

func printLifecycle(w io.Writer, want reconcile.LifecycleRule, rep reconcile.LifecycleReport) {
	fmt.Fprintf(w, "bucket %s lifecycle configuration:\n", rep.Bucket)
	if len(rep.Rules) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, r := range rep.Rules {
		fmt.Fprintf(w, "  %s\n", escapeText(r))
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
			fmt.Fprintf(w, "  - %s\n", escapeText(d))
		}
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintf(w, "conflict: %s\n", escapeText(c))
	}
}
