package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"trashd/db"
	"trashd/reconcile"
)

func doctorCommand() command {
	return command{
		name:    "doctor",
		args:    "[--bucket NAME]... [--json]",
		summary: "probe what the S3 server honours on each bucket, and say what trashd does there",
		about: "Probe, now, each condition a rule of trashd relies on (If-None-Match on copies and on the completion\n" +
			"of a copy in parts, x-amz-copy-source-if-match, If-Match on DeleteObject, the per-object ETag of\n" +
			"DeleteObjects) on the trash bucket, the default source bucket and every --bucket, with objects of\n" +
			"trashd's own under .trashd-probe/ (removed afterwards), and show which path trashd takes because of\n" +
			"each answer. TRASHD_S3_FORBID marks conditions never to rely on. Then check the LMS table as\n" +
			"reconcile and serve do at start. Exit 3 when a source bucket would have its moves refused, 2 when\n" +
			"the LMS table cannot be used as configured.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			var buckets bucketList
			fs.Var(&buckets, "bucket", "another source bucket to probe (repeatable)")
			asJSON := fs.Bool("json", false, "print one JSON document instead")
			return func(ctx context.Context, c *cli, _ []string) error {
				return runDoctor(ctx, c, buckets, *asJSON)
			}
		},
	}
}

// bucketList is a repeatable --bucket.
type bucketList []string

func (b *bucketList) String() string { return strings.Join(*b, ",") }
func (b *bucketList) Set(v string) error {
	if err := reconcile.CheckBucketName(v); err != nil {
		return err
	}
	*b = append(*b, v)
	return nil
}

// doctorBucket is one bucket's report.
type doctorBucket struct {
	Bucket     string                         `json:"bucket"`
	Role       string                         `json:"role"` // trash or source
	ProbedAt   time.Time                      `json:"probed_at"`
	Versioned  bool                           `json:"versioned"`
	Conditions map[reconcile.Condition]string `json:"conditions"`
	Why        map[reconcile.Condition]string `json:"why"`
	Paths      map[string]string              `json:"paths"`
	Error      string                         `json:"error,omitempty"`
}

func runDoctor(ctx context.Context, c *cli, extra []string, asJSON bool) error {
	cfg, err := loadConfig(c.stderr)
	if err != nil {
		return err
	}
	client, err := openS3(ctx, cfg)
	if err != nil {
		return err
	}
	rc := cfg.Reconcile
	type target struct{ bucket, role string }
	targets := []target{{rc.TrashBucket, "trash"}}
	for _, b := range append([]string{rc.SourceBucket}, extra...) {
		if b != "" && !slices.ContainsFunc(targets, func(t target) bool { return t.bucket == b }) {
			targets = append(targets, target{b, "source"})
		}
	}
	var reports []doctorBucket
	refused := 0
	for _, t := range targets {
		rep := doctorBucket{Bucket: t.bucket, Role: t.role}
		caps, err := client.ProbeConditions(ctx, t.bucket)
		if err != nil {
			rep.Error = err.Error()
			refused++
			reports = append(reports, rep)
			continue
		}
		caps = caps.Forbidding(rc.Forbid)
		rep.ProbedAt, rep.Versioned, rep.Why = caps.ProbedAt, caps.Versioned, caps.Why
		rep.Conditions = map[reconcile.Condition]string{}
		for cond, a := range caps.Answers {
			rep.Conditions[cond] = string(a)
		}
		rep.Paths = caps.Paths(rc, t.role == "trash")
		if t.role == "source" && strings.HasPrefix(rep.Paths["delete"], "refused") {
			refused++
		}
		reports = append(reports, rep)
	}
	lms := doctorLMS(ctx, cfg, c.stderr)
	if asJSON {
		if err := writeJSONDoc(c.stdout, map[string]any{"buckets": reports, "lms_table": lms}); err != nil {
			return err
		}
	} else {
		printDoctor(c.stdout, reports)
	}
	lms.printWarnings(c.stderr, false)
	if err := lms.refusal(); err != nil {
		if refused > 0 {
			err = fmt.Errorf("%w; and %d bucket(s) could not be probed or would have their moves refused (see above)", err, refused)
		}
		return configErr(err)
	}
	if refused > 0 {
		return objectsErr("%d bucket(s) could not be probed or would have their moves refused (see above)", refused)
	}
	return nil
}

// doctorLMS checks the LMS table as reconcile and serve would at start. A
// database that cannot be reached is said, not an error: the probes of the
// buckets stand without it.
func doctorLMS(ctx context.Context, cfg Config, stderr io.Writer) lmsVerdict {
	sqlDB, err := db.Open(ctx, cfg.DB)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: warning: the LMS table was not checked: %s\n", escapeText(mysqlHint(err).Error()))
		return lmsVerdict{Table: cfg.LMS.Table}
	}
	defer sqlDB.Close()
	return checkLMSTable(ctx, cfg, sqlDB)
}

func printDoctor(w io.Writer, reports []doctorBucket) {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "s3://%s (%s bucket)\n", r.Bucket, r.Role)
		if r.Error != "" {
			fmt.Fprintf(w, "  probe failed: %s\n", r.Error)
			continue
		}
		fmt.Fprintf(w, "  probed %s; versioned: %v\n", r.ProbedAt.UTC().Format(time.RFC3339), r.Versioned)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, cond := range reconcile.Conditions() {
			why := ""
			if r.Conditions[cond] != string(reconcile.Honoured) {
				why = r.Why[cond]
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", cond, r.Conditions[cond], why)
		}
		tw.Flush()
		for _, k := range []string{"copy_into", "copy_from", "delete", "move"} {
			if p, ok := r.Paths[k]; ok {
				fmt.Fprintf(w, "  %s: %s\n", strings.ReplaceAll(k, "_", " "), p)
			}
		}
	}
}
