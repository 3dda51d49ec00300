package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// inventoryStatusDoc is the trash bucket's newest inventory report in
// `trashd status --json`.
type inventoryStatusDoc struct {
	Bucket     string     `json:"bucket"`
	Report     string     `json:"report,omitempty"`
	Created    *time.Time `json:"created,omitempty"`
	AgeSeconds float64    `json:"age_seconds,omitempty"`
	MaxAge     string     `json:"max_age"`
	Used       bool       `json:"used"` // fresh enough for passes to confirm from it
	Error      string     `json:"error,omitempty"`
}

// inventoryStatus reads the trash bucket's newest inventory report (its
// manifest only), or nil when no inventory is configured.
func inventoryStatus(ctx context.Context, cfg Config) *inventoryStatusDoc {
	if !cfg.Inventory.Trash.Set() {
		return nil
	}
	bucket := cfg.Reconcile.TrashBucket
	d := &inventoryStatusDoc{Bucket: bucket, MaxAge: formatDuration(cfg.Inventory.MaxAge)}
	client, err := openS3(ctx, cfg)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	snap, err := inventoryReports(cfg, client).Newest(ctx, bucket)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	created := snap.Created.UTC()
	age := max(time.Since(created), 0)
	d.Report, d.Created, d.AgeSeconds = snap.Where, &created, age.Seconds()
	d.Used = age <= cfg.Inventory.MaxAge
	return d
}

func printInventoryStatus(w io.Writer, d *inventoryStatusDoc) {
	if d == nil {
		return
	}
	if d.Error != "" {
		fmt.Fprintf(w, "\ninventory of %s: no usable report, transitions are confirmed with HEAD: %s\n", d.Bucket, escapeLine(d.Error))
		return
	}
	age := time.Duration(d.AgeSeconds * float64(time.Second)).Round(time.Minute)
	use := "passes confirm transitions from it"
	if !d.Used {
		use = fmt.Sprintf("older than TRASHD_INVENTORY_MAX_AGE (%s): passes confirm with HEAD until a newer one arrives", d.MaxAge)
	}
	fmt.Fprintf(w, "\ninventory of %s: newest report taken %s (%s ago), %s; %s\n", d.Bucket, d.Created.Format(time.RFC3339),
		age, escapeLine(d.Report), use)
}
