package s3ops_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// trashd's inventory configuration is put, read back, listed and removed
// by its id; another configuration on the bucket is left as it was.
func TestInventoryConfiguration(t *testing.T) {
	t.Parallel()
	// Long days: the layer's background sweeps (every quarter day) write no
	// report into dest while the test, and the removal of dest, run.
	b := setupGlacier(t, glacier.Config{DayLength: time.Hour})
	ctx := t.Context()
	dest := s3test.NewBucket(t, b.s3, "inventory-dest")

	_, found, err := b.client.InventoryConfiguration(ctx, b.bucket, "trashd")
	if err != nil || found {
		t.Fatalf("before any: found %t, %v; want none", found, err)
	}
	other := s3ops.InventoryConfig{ID: "finance", Enabled: true, DestinationBucket: dest, Prefix: "finance",
		Format: "CSV", Frequency: "Weekly", Versions: "Current", FilterPrefix: "invoices/", Fields: []string{"Size"}}
	want := s3ops.DesiredInventory("trashd", dest, "inventory", true)
	for _, cfg := range []s3ops.InventoryConfig{other, want} {
		if err := b.client.PutInventoryConfiguration(ctx, b.bucket, cfg); err != nil {
			t.Fatalf("put %s: %v", cfg.ID, err)
		}
	}
	got, found, err := b.client.InventoryConfiguration(ctx, b.bucket, "trashd")
	if err != nil || !found {
		t.Fatalf("read back: found %t, %v", found, err)
	}
	if d := s3ops.InventoryDrift(got, found, want); len(d) > 0 {
		t.Errorf("drift after put: %q\ngot %+v", d, got)
	}
	if got.Format != "Parquet" || got.Versions != "All" || got.Frequency != "Daily" || got.DestinationBucket != dest || !slices.Equal(got.Fields, s3ops.InventoryFields) {
		t.Errorf("read back %+v; want %+v", got, want)
	}

	// A second put of trashd's id replaces that one only.
	changed := want
	changed.Format, changed.Versions, changed.Fields, changed.Frequency = "CSV", "Current", []string{"Size"}, "Weekly"
	if err := b.client.PutInventoryConfiguration(ctx, b.bucket, changed); err != nil {
		t.Fatal(err)
	}
	all, err := b.client.InventoryConfigurations(ctx, b.bucket)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "finance" || all[0].FilterPrefix != "invoices/" || all[0].Frequency != "Weekly" || all[1].ID != "trashd" {
		t.Errorf("list: %+v; want finance as put and trashd", all)
	}
	got, found, _ = b.client.InventoryConfiguration(ctx, b.bucket, "trashd")
	d := s3ops.InventoryDrift(got, found, want)
	wantDrift := []string{`frequency "Weekly", want "Daily" (a report older than TRASHD_INVENTORY_MAX_AGE is not used)`, `versions "Current", want "All"`, "no field LastModifiedDate", "no field StorageClass", "no field ETag",
		"no field IsMultipartUploaded", "no field ChecksumAlgorithm"}
	if !slices.Equal(d, wantDrift) {
		t.Errorf("drift %q\nwant %q (CSV is no drift)", d, wantDrift)
	}

	// Refused before anything is sent: the other configurations stay.
	bad := want
	bad.Format, bad.DestinationBucket, bad.Fields = "ORC", "arn:aws:s3:::"+dest, []string{"Colour"}
	err = b.client.PutInventoryConfiguration(ctx, b.bucket, bad)
	if !errors.Is(err, reconcile.ErrPermanent) {
		t.Errorf("put a bad configuration: %v; want a permanent error", err)
	}
	for _, w := range []string{`format "ORC" must be Parquet or CSV`, "must be a bucket name (not an ARN)", `field "Colour"`, "nothing was written"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("put a bad configuration: %v; want it to say %q", err, w)
		}
	}
	if got, _, _ := b.client.InventoryConfiguration(ctx, b.bucket, "trashd"); got.Format != "CSV" {
		t.Errorf("after a refused put the configuration is %+v; want the one before", got)
	}

	if _, err := b.s3.DeleteBucketInventoryConfiguration(ctx, &s3.DeleteBucketInventoryConfigurationInput{Bucket: aws.String(b.bucket), Id: aws.String("trashd")}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := b.client.InventoryConfiguration(ctx, b.bucket, "trashd"); found || err != nil {
		t.Errorf("after delete: found %t, %v", found, err)
	}
	if d := s3ops.InventoryDrift(s3ops.InventoryConfig{}, false, want); !slices.Equal(d, []string{`no inventory configuration with id "trashd"`}) {
		t.Errorf("drift of none: %q", d)
	}
	if all, _ := b.client.InventoryConfigurations(ctx, b.bucket); len(all) != 1 || all[0].ID != "finance" {
		t.Errorf("after delete: %+v; want finance alone", all)
	}
}

// SeaweedFS has no S3 Inventory: a put is refused with what to do.
func TestInventoryConfigurationUnsupported(t *testing.T) {
	t.Parallel()
	c := s3test.NewClient(t, s3test.Options(t))
	bucket := s3test.NewBucket(t, c.S3(), "inventory-none")
	err := c.PutInventoryConfiguration(t.Context(), bucket, s3ops.DesiredInventory("trashd", bucket, "inventory", false))
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), "does not support S3 Inventory") || !strings.Contains(err.Error(), "HEAD requests") {
		t.Errorf("put on SeaweedFS: %v; want a permanent error saying it does not support S3 Inventory", err)
	}
}
