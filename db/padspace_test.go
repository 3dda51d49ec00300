package db_test

import (
	"testing"

	"trashd/db/dbtest"
	"trashd/reconcile"
)

// S3 keys are bytes: "pad/a.pdf" and "pad/a.pdf " are two objects, though
// utf8mb4_bin pads with spaces. MovedSince (as CopyOf) never takes the move
// of the one for a move of the other, so that no row adopts another file's
// trash copy.
func TestMovedSinceTrailingSpace(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, "flag")
	a := dbtest.InsertFile(t, sqlDB, "b", "pad/a.pdf", true)
	b := dbtest.InsertFile(t, sqlDB, "b", "pad/a.pdf ", true)
	if _, err := store.RecordTrashed(t.Context(), []reconcile.TrashedRow{{LMSID: a, Bucket: "b", Key: "pad/a.pdf"}, {LMSID: b, Bucket: "b", Key: "pad/a.pdf "}}); err != nil {
		t.Fatal(err)
	}
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'in_trash', trash_key = 'x', trash_etag = 'e', source_deleted_at = NOW(6) + INTERVAL 1 SECOND WHERE lms_id = ?", b)
	var idA int64
	if err := sqlDB.QueryRow("SELECT id FROM trash_objects WHERE lms_id = ?", a).Scan(&idA); err != nil {
		t.Fatal(err)
	}
	moved, err := store.MovedSince(t.Context(), []reconcile.Record{{ID: idA}})
	if err != nil {
		t.Fatal(err)
	}
	if moved[idA] {
		t.Errorf("the move of s3://b/%q counts as a move of s3://b/%q", "pad/a.pdf ", "pad/a.pdf")
	}
	other, ok, err := store.CopyOf(t.Context(), "b", "pad/a.pdf", idA)
	if err == nil && ok {
		t.Errorf("CopyOf(%q) returns the record of %q", "pad/a.pdf", other.Source.Key)
	}
}
