package main_test

import (
	"strings"
	"testing"
)

// Inventory reports delivered to the trash bucket itself are refused before
// anything runs, naming both settings; nothing in MySQL or either bucket
// changes.
func TestBadInputsFixconfirmInventoryInTheTrashBucket(t *testing.T) {
	w := newBadWorld(t)
	var trash string
	for _, v := range w.vars {
		if b, ok := strings.CutPrefix(v, "TRASHD_TRASH_BUCKET="); ok {
			trash = b
		}
	}
	if trash == "" {
		t.Fatal("the world sets no TRASHD_TRASH_BUCKET")
	}
	for _, c := range []struct {
		name  string
		vars  []string
		args  []string
		wants []string
	}{
		{"trash bucket's reports into the trash bucket", []string{"TRASHD_INVENTORY_BUCKET=" + trash}, []string{"reconcile"},
			[]string{"TRASHD_INVENTORY_BUCKET", "TRASHD_TRASH_BUCKET", trash, "lifecycle rule", "bucket of their own"}},
		{"source reports into the trash bucket", []string{"TRASHD_SOURCE_INVENTORY_BUCKET=" + trash}, []string{"audit", "--lms"},
			[]string{"TRASHD_SOURCE_INVENTORY_BUCKET", "TRASHD_TRASH_BUCKET", trash, "bucket of their own"}},
		{"both, with lifecycle --apply", []string{"TRASHD_INVENTORY_BUCKET=" + trash, "TRASHD_SOURCE_INVENTORY_BUCKET=" + trash}, []string{"lifecycle", "--apply"},
			[]string{"TRASHD_INVENTORY_BUCKET", "TRASHD_SOURCE_INVENTORY_BUCKET", "TRASHD_TRASH_BUCKET"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cliCase(t, w, c.vars, c.args, 2, c.wants, nil)
		})
	}
}
