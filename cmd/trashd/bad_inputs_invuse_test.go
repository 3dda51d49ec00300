package main_test

import (
	"testing"
	"time"

	"trashd/inventory"
	"trashd/s3ops/s3test"
)

// Bad inventory settings and audits that cannot run: each is refused with
// a message that names the setting or the report and what to do, and
// changes nothing in MySQL or either bucket.
func TestBadInputsInventory(t *testing.T) {
	w := newBadWorld(t)
	reports := s3test.NewClient(t, s3test.Options(t))
	dest := s3test.NewBucket(t, w.env.SDK, "inv")
	var trash string
	for _, v := range w.vars {
		if len(v) > len("TRASHD_TRASH_BUCKET=") && v[:len("TRASHD_TRASH_BUCKET=")] == "TRASHD_TRASH_BUCKET=" {
			trash = v[len("TRASHD_TRASH_BUCKET="):]
		}
	}
	// A report of the trash bucket three days old.
	old := time.Now().Add(-72 * time.Hour)
	_, err := inventory.Write(t.Context(), reports.InventoryStore(),
		inventory.Location{Bucket: dest, Prefix: "stale", SourceBucket: trash, ConfigID: "trashd-inventory"},
		old, inventory.FormatCSV, inventory.DefaultSchema(false), func(func(inventory.Row) bool) {})
	if err != nil {
		t.Fatal(err)
	}
	inv := []string{"TRASHD_INVENTORY_BUCKET=" + dest, "TRASHD_INVENTORY_PREFIX=none-here"}
	for _, c := range []struct {
		name  string
		vars  []string
		args  []string
		code  int
		wants []string
	}{
		{"inventory bucket not a bucket name", []string{"TRASHD_INVENTORY_BUCKET=Reports_Bucket"}, []string{"status"}, 2,
			[]string{"TRASHD_INVENTORY_BUCKET", "Reports_Bucket"}},
		{"inventory prefix with slashes", []string{"TRASHD_INVENTORY_BUCKET=" + dest, "TRASHD_INVENTORY_PREFIX=/reports/"}, []string{"status"}, 2,
			[]string{"TRASHD_INVENTORY_PREFIX", "without slashes"}},
		{"inventory id with a space", []string{"TRASHD_INVENTORY_BUCKET=" + dest, "TRASHD_INVENTORY_ID=my inventory"}, []string{"audit", "--inventory"}, 2,
			[]string{"TRASHD_INVENTORY_ID", "inventory configuration id"}},
		{"source inventory id with a slash", []string{"TRASHD_SOURCE_INVENTORY_BUCKET=" + dest, "TRASHD_SOURCE_INVENTORY_ID=a/b"}, []string{"audit", "--lms"}, 2,
			[]string{"TRASHD_SOURCE_INVENTORY_ID"}},
		{"inventory max age zero", []string{"TRASHD_INVENTORY_MAX_AGE=0s"}, []string{"reconcile"}, 2,
			[]string{"TRASHD_INVENTORY_MAX_AGE", "positive duration"}},
		{"audit --inventory without an inventory", nil, []string{"audit", "--inventory"}, 2,
			[]string{"TRASHD_INVENTORY_BUCKET is not set", "audit without --inventory", "nothing was checked"}},
		{"audit --lms without a source inventory", nil, []string{"audit", "--lms"}, 2,
			[]string{"TRASHD_SOURCE_INVENTORY_BUCKET is not set", "nothing was checked"}},
		{"audit --inventory and --lms at once", inv, []string{"audit", "--inventory", "--lms"}, 2,
			[]string{"--inventory and --lms", "one at a time"}},
		{"audit --inventory with no report delivered", inv, []string{"audit", "--inventory"}, 1,
			[]string{"inventory", dest, "none-here", "nothing was checked"}},
		{"audit --inventory with a stale report", []string{"TRASHD_INVENTORY_BUCKET=" + dest, "TRASHD_INVENTORY_PREFIX=stale"}, []string{"audit", "--inventory"}, 1,
			[]string{"TRASHD_INVENTORY_MAX_AGE", "audit without --inventory", "nothing was checked"}},
		{"audit --inventory --json with a stale report", []string{"TRASHD_INVENTORY_BUCKET=" + dest, "TRASHD_INVENTORY_PREFIX=stale"}, []string{"audit", "--inventory", "--json"}, 1,
			[]string{`"error"`, "TRASHD_INVENTORY_MAX_AGE"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cliCase(t, w, c.vars, c.args, c.code, c.wants, nil)
		})
	}
}
