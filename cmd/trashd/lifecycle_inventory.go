package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"trashd/s3ops"
)

// inventoryConfigDoc is the trash bucket's inventory configuration in
// `trashd lifecycle --json`.
type inventoryConfigDoc struct {
	ID          string   `json:"id"`
	Destination string   `json:"destination"` // s3://bucket/prefix
	InPlace     bool     `json:"in_place"`
	Applied     bool     `json:"applied"`
	Drift       []string `json:"drift"`
}

// lifecycleInventory reports whether the trash bucket has the inventory
// configuration that TRASHD_INVENTORY_* describe, and with apply puts it:
// under its own id, which replaces only the configuration with that id, so
// the bucket's other inventory configurations stay as they are. Nothing
// when no inventory is configured.
func lifecycleInventory(ctx context.Context, out io.Writer, cfg Config, client *s3ops.Client, apply bool, doc **inventoryConfigDoc) error {
	place := cfg.Inventory.Trash
	if !place.Set() {
		return nil
	}
	bucket := cfg.Reconcile.TrashBucket
	want := s3ops.DesiredInventory(place.ID, place.Bucket, place.Prefix, false)
	dest := "s3://" + strings.TrimSuffix(place.Bucket+"/"+place.Prefix, "/")
	got, found, err := client.InventoryConfiguration(ctx, bucket, place.ID)
	if err != nil {
		return fmt.Errorf("read the trash bucket's inventory configuration: %w", err)
	}
	drift := s3ops.InventoryDrift(got, found, want)
	d := &inventoryConfigDoc{ID: place.ID, Destination: dest, InPlace: len(drift) == 0, Drift: nonNil(drift)}
	*doc = d
	printInventoryConfig(out, bucket, place.ID, dest, want, drift)
	switch {
	case len(drift) == 0:
		return nil
	case !apply:
		return objectsErr("the inventory configuration %q is not in place on %s; run `trashd lifecycle --apply` to put it (other inventory configurations are kept)", place.ID, bucket)
	}
	if err := client.PutInventoryConfiguration(ctx, bucket, want); err != nil {
		return fmt.Errorf("lifecycle --apply: %w", err)
	}
	d.Applied = true
	got, found, err = client.InventoryConfiguration(ctx, bucket, place.ID)
	if err != nil {
		return fmt.Errorf("read the trash bucket's inventory configuration back: %w", err)
	}
	drift = s3ops.InventoryDrift(got, found, want)
	d.InPlace, d.Drift = len(drift) == 0, nonNil(drift)
	fmt.Fprintln(out, "\napplied; the bucket now reads:")
	printInventoryConfig(out, bucket, place.ID, dest, want, drift)
	fmt.Fprintf(out, "S3 delivers the first report within 48 hours, once %s's bucket policy lets the service principal s3.amazonaws.com put objects "+
		"(aws:SourceArn arn:aws:s3:::%s; docs/operations.md has the policy)\n", place.Bucket, bucket)
	if len(drift) > 0 {
		return objectsErr("the inventory configuration was written but the bucket still differs from it (see the drift above)")
	}
	return nil
}

func printInventoryConfig(w io.Writer, bucket, id, dest string, want s3ops.InventoryConfig, drift []string) {
	fmt.Fprintf(w, "\nbucket %s inventory configuration %q: %s, %s, to %s, fields %s\n", bucket, id, want.Frequency, want.Format,
		escapeLine(dest), strings.Join(want.Fields, ", "))
	if len(drift) == 0 {
		fmt.Fprintln(w, "inventory drift: none")
		return
	}
	fmt.Fprintln(w, "inventory drift:")
	for _, d := range drift {
		fmt.Fprintf(w, "  - %s\n", escapeText(d))
	}
}
