package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"trashd/internal/inventories"
	"trashd/reconcile"
	"trashd/s3ops"
)

// inventoryReports finds the newest reports of the trash and source buckets
// where the settings say they land.
func inventoryReports(cfg Config, client *s3ops.Client) inventories.Reports {
	return inventories.Reports{Store: client.InventoryStore(), Trash: cfg.Reconcile.TrashBucket, Config: cfg.Inventory}
}

// runAuditInventory is runAudit with the newest inventory reports standing
// in for a HEAD per record: only what a report does not show intact is
// looked at with HEAD before it is reported.
func runAuditInventory(ctx context.Context, c *cli, asJSON bool) error {
	cfg, sqlDB, store, err := loadStore(ctx, c)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if !cfg.Inventory.Trash.Set() {
		return configErr(errors.New("audit --inventory: TRASHD_INVENTORY_BUCKET is not set: name the bucket the trash bucket's S3 Inventory reports " +
			"land in (with TRASHD_INVENTORY_PREFIX and TRASHD_INVENTORY_ID), or audit without --inventory; nothing was checked"))
	}
	client, err := openS3(ctx, cfg)
	if err != nil {
		return err
	}
	if err := client.CheckBucket(ctx, cfg.Reconcile.TrashBucket); err != nil {
		return fmt.Errorf("audit: cannot reach the trash bucket, so nothing was checked: %w", err)
	}
	doc := auditDoc{Findings: []auditFinding{}}
	audit := reconcile.InventoryAudit{
		Records: store, Reports: inventoryReports(cfg, client), Objects: client,
		TrashBucket: cfg.Reconcile.TrashBucket, ArchiveClass: cfg.Reconcile.Archive.Rule.StorageClass,
		Concurrency: cfg.Reconcile.Concurrency, MaxAge: cfg.Inventory.MaxAge,
		Options: []reconcile.AuditOption{reconcile.RecordGone(store,
			time.Duration(cfg.Reconcile.Archive.Rule.ExpirationDays)*cfg.Reconcile.Archive.DayLength)},
	}
	sum, err := audit.Run(ctx, func(rec reconcile.Record, result reconcile.AuditResult, detail string) {
		if asJSON {
			doc.Findings = append(doc.Findings, auditFinding{LMSID: rec.LMSID, RecordID: rec.ID, State: string(rec.State),
				Result: string(result), Problem: detail})
			return
		}
		if result == reconcile.AuditUnverifiable {
			detail = "unverifiable: " + detail
		}
		fmt.Fprintf(c.stdout, "LMS row %d (record %d): %s\n", rec.LMSID, rec.ID, escapeLine(detail))
	})
	if asJSON {
		doc.Checked, doc.Problems, doc.Skipped, doc.Unchecked = sum.Checked, sum.Problems, sum.Skipped, sum.Unchecked
		doc.Unverifiable = sum.Unverifiable
		doc.Inventory = &auditInventoryDoc{FromReports: sum.FromReports, Headed: sum.Headed, Reports: nonNil(sum.Reports), Notes: nonNil(sum.Notes)}
		if err != nil {
			doc.Error = err.Error()
		}
		if werr := writeJSONDoc(c.stdout, doc); werr != nil {
			return werr
		}
	} else if looked := sum.FromReports + sum.Headed + sum.Skipped; err == nil || looked > 0 {
		for _, n := range sum.Notes {
			fmt.Fprintf(c.stdout, "note: %s\n", escapeLine(n))
		}
		printAuditSummary(c.stdout, sum.AuditSummary)
		fmt.Fprintf(c.stdout, "inventory: %d records shown intact by the reports (no request), %d looked at with HEAD; reports: %s\n",
			sum.FromReports, sum.Headed, escapeLine(joinOr(sum.Reports, "none")))
	}
	if err != nil {
		if sum.FromReports+sum.Headed+sum.Skipped == 0 {
			return fmt.Errorf("audit --inventory: %w; nothing was checked", err)
		}
		return fmt.Errorf("audit --inventory: %w", err)
	}
	if sum.Problems > 0 {
		return objectsErr("audit found %d problems (listed above)", sum.Problems)
	}
	return nil
}

// auditInventoryDoc is what the reports did in `audit --inventory --json`.
type auditInventoryDoc struct {
	FromReports int      `json:"from_reports"`
	Headed      int      `json:"headed"`
	Reports     []string `json:"reports"`
	Notes       []string `json:"notes"`
}

// lmsOldest is how many of each bucket's oldest stray objects are listed.
const lmsOldest = 10

// runAuditLMS audits the LMS table against its buckets' inventory reports
// both ways. It only reports: a stray object may be an upload in progress
// or another application's, and nothing trashd did not move is ever deleted.
func runAuditLMS(ctx context.Context, c *cli, asJSON bool) error {
	cfg, sqlDB, store, err := loadStore(ctx, c)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if !cfg.Inventory.Sources.Set() {
		return configErr(errors.New("audit --lms: TRASHD_SOURCE_INVENTORY_BUCKET is not set: name the bucket the source buckets' S3 Inventory reports " +
			"land in (with TRASHD_SOURCE_INVENTORY_PREFIX and TRASHD_SOURCE_INVENTORY_ID); nothing was checked"))
	}
	client, err := openS3(ctx, cfg)
	if err != nil {
		return err
	}
	if err := client.CheckBucket(ctx, cfg.Reconcile.TrashBucket); err != nil {
		return fmt.Errorf("audit: cannot reach the trash bucket, so nothing was checked: %w", err)
	}
	audit := reconcile.LMSAudit{
		Rows: store, Reports: inventoryReports(cfg, client), Objects: client,
		TrashBucket: cfg.Reconcile.TrashBucket, Prices: cfg.Prices, Oldest: lmsOldest,
		Concurrency: cfg.Reconcile.Concurrency, MaxAge: cfg.Inventory.MaxAge,
	}
	if cfg.Reconcile.SourceBucket != "" {
		audit.Buckets = []string{cfg.Reconcile.SourceBucket}
	}
	doc := lmsAuditDoc{WithoutObject: []lmsRowDoc{}}
	sum, err := audit.Run(ctx, func(row reconcile.LMSObject, detail string) {
		if asJSON {
			doc.WithoutObject = append(doc.WithoutObject, lmsRowDoc{LMSID: row.LMSID, Bucket: row.Bucket, Key: row.Key,
				Trashed: row.Trashed, State: string(row.State), Problem: detail})
			return
		}
		fmt.Fprintf(c.stdout, "LMS row %d: %s\n", row.LMSID, escapeLine(detail))
	})
	strays := int64(0)
	for _, b := range sum.Buckets {
		strays += b.Strays
	}
	if asJSON {
		doc.Rows, doc.Recorded, doc.Unchecked, doc.Headed = sum.Rows, sum.Recorded, sum.Unchecked, sum.Headed
		doc.Buckets, doc.Notes = []lmsBucketDoc{}, nonNil(sum.Notes)
		for _, b := range sum.Buckets {
			doc.Buckets = append(doc.Buckets, toLMSBucketDoc(b))
		}
		if err != nil {
			doc.Error = err.Error()
		}
		if werr := writeJSONDoc(c.stdout, doc); werr != nil {
			return werr
		}
	} else {
		printLMSAudit(c.stdout, sum)
	}
	if err != nil {
		return fmt.Errorf("audit --lms: %w", err)
	}
	if sum.WithoutObject > 0 || strays > 0 {
		return objectsErr("audit --lms found %d LMS rows whose object is in neither bucket and %d objects no LMS row names (listed above); "+
			"it deleted nothing", sum.WithoutObject, strays)
	}
	return nil
}

func printLMSAudit(w io.Writer, sum reconcile.LMSAuditSummary) {
	for _, b := range sum.Buckets {
		fmt.Fprintf(w, "bucket %s (report %s, taken %s): %d objects, %d named by no LMS row (%s, %.4f USD/month at TRASHD_PRICE_*)\n",
			escapeLine(b.Bucket), escapeLine(b.Report), b.Created.UTC().Format(time.RFC3339), b.Objects, b.Strays, formatBytes(b.StrayBytes), b.StrayCost)
		for _, o := range b.Oldest {
			fmt.Fprintf(w, "  stray since %s: %s (%s, %s)\n", o.LastModified.UTC().Format(time.RFC3339),
				escapeKey("s3://"+o.Bucket+"/"+o.Key), formatBytes(o.Size), o.StorageClass)
		}
	}
	for _, n := range sum.Notes {
		fmt.Fprintf(w, "note: %s\n", escapeLine(n))
	}
	fmt.Fprintf(w, "audit --lms: %d LMS rows read, %d whose object is in neither bucket, %d whose record already says it is gone (missing, expired, removed), "+
		"%d not checked, %d HEAD requests\n", sum.Rows, sum.WithoutObject, sum.Recorded, sum.Unchecked, sum.Headed)
}

// lmsAuditDoc is `trashd audit --lms --json`.
type lmsAuditDoc struct {
	Rows          int            `json:"rows"`
	Buckets       []lmsBucketDoc `json:"buckets"`
	WithoutObject []lmsRowDoc    `json:"without_object"`
	Recorded      int            `json:"recorded_gone"`
	Unchecked     int            `json:"unchecked"`
	Headed        int            `json:"head_requests"`
	Notes         []string       `json:"notes"`
	Error         string         `json:"error,omitempty"`
}

type lmsBucketDoc struct {
	Bucket      string           `json:"bucket"`
	Report      string           `json:"report"`
	Created     time.Time        `json:"report_created"`
	Objects     int64            `json:"objects"`
	Strays      int64            `json:"strays"`
	StrayBytes  int64            `json:"stray_bytes"`
	StrayCost   float64          `json:"stray_monthly_usd"`
	OldestStray []strayObjectDoc `json:"oldest_strays"`
}

type strayObjectDoc struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	StorageClass string    `json:"storage_class"`
	LastModified time.Time `json:"last_modified"`
}

type lmsRowDoc struct {
	LMSID   int64  `json:"lms_id"`
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Trashed bool   `json:"trashed"`
	State   string `json:"state"` // "" without a record
	Problem string `json:"problem"`
}

func toLMSBucketDoc(b reconcile.LMSBucketAudit) lmsBucketDoc {
	d := lmsBucketDoc{Bucket: b.Bucket, Report: b.Report, Created: b.Created.UTC(), Objects: b.Objects, Strays: b.Strays,
		StrayBytes: b.StrayBytes, StrayCost: b.StrayCost, OldestStray: []strayObjectDoc{}}
	for _, o := range b.Oldest {
		d.OldestStray = append(d.OldestStray, strayObjectDoc{Key: o.Key, Size: o.Size, StorageClass: o.StorageClass, LastModified: o.LastModified.UTC()})
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func joinOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	out := s[0]
	for _, x := range s[1:] {
		out += ", " + x
	}
	return out
}
