package db_test

import (
	"errors"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// AdoptCopy records a record into another's trash copy only while that one
// holds the copy and is not being restored: a restore marked first is seen,
// and nothing is written.
func TestAdoptCopy(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	var rows []reconcile.TrashedRow
	for range 2 {
		id := dbtest.InsertFile(t, sqlDB, "src", "one/object", true)
		rows = append(rows, reconcile.TrashedRow{LMSID: id, Bucket: "src", Key: "one/object"})
	}
	if _, err := store.RecordTrashed(ctx, rows); err != nil {
		t.Fatal(err)
	}
	holder := recordOf(t, store, rows[0].LMSID)
	setRecord(t, sqlDB, holder.LMSID, "state = 'in_trash', trash_bucket = 'trash', trash_key = 'trash/one', trash_etag = 'e1',"+
		" trash_size = 7, source_size = 7, source_etag = 'e1', source_deleted_at = NOW(6)")
	holder = recordOf(t, store, rows[0].LMSID)
	adopter := claim(t, store, "host-a", 2)
	var me reconcile.Record
	for _, r := range adopter {
		if r.LMSID == rows[1].LMSID {
			me = r
		}
	}
	if me.ID == 0 {
		t.Fatalf("the adopter was not claimed: %+v", adopter)
	}
	c := holder.Copy
	step := reconcile.Step{To: reconcile.StateInTrash, Source: &holder.Source, TrashKey: c.Key, Copy: &c, Release: true}

	// The holder's restore is marked first: no adoption.
	setRecord(t, sqlDB, holder.LMSID, "restore_requested_at = NOW(6)")
	if err := store.AdoptCopy(ctx, me, holder, step); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("AdoptCopy of a copy under restore = %v, want ErrNotFound", err)
	}
	if got := recordOf(t, store, me.LMSID); got.State != reconcile.StatePending {
		t.Fatalf("the refused adopter is %s, want still pending", got.State)
	}

	// Not being restored: adopted, under the holder's trash key.
	setRecord(t, sqlDB, holder.LMSID, "restore_requested_at = NULL")
	if err := store.AdoptCopy(ctx, me, holder, step); err != nil {
		t.Fatalf("AdoptCopy: %v", err)
	}
	got := recordOf(t, store, me.LMSID)
	if got.State != reconcile.StateInTrash || got.TrashKey != "trash/one" || got.Copy.ETag != "e1" {
		t.Errorf("adopter %+v, want in_trash sharing trash/one", got)
	}
	if n, err := store.CopyHolders(ctx, "trash/one", holder.ID); err != nil || n != 1 {
		t.Errorf("CopyHolders = %d, %v; want the adopter counted", n, err)
	}

	// A lost lease writes nothing.
	me.Lease.Token = "not-mine"
	if err := store.AdoptCopy(ctx, me, holder, step); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("AdoptCopy without the lease = %v, want ErrLeaseLost", err)
	}
}

// TestAdoptCopyKeepsTheHoldersCopyTime: a record that adopts another's trash
// copy takes that copy's copied_at, not the time of the adoption: S3 counts
// the copy's age (for the rule's transition and expiration) from when the
// object was made, and there is one object.
func TestAdoptCopyKeepsTheHoldersCopyTime(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	var rows []reconcile.TrashedRow
	for range 2 {
		id := dbtest.InsertFile(t, sqlDB, "src", "one/object", true)
		rows = append(rows, reconcile.TrashedRow{LMSID: id, Bucket: "src", Key: "one/object"})
	}
	if _, err := store.RecordTrashed(ctx, rows); err != nil {
		t.Fatal(err)
	}
	setRecord(t, sqlDB, rows[0].LMSID, "state = 'in_trash', trash_bucket = 'trash', trash_key = 'trash/one', trash_etag = 'e1',"+
		" trash_size = 7, source_size = 7, source_etag = 'e1', copied_at = NOW(6) - INTERVAL 1 HOUR, source_deleted_at = NOW(6)")
	holder := recordOf(t, store, rows[0].LMSID)
	me := claim(t, store, "host-a", 1)[0]
	if me.LMSID != rows[1].LMSID {
		t.Fatalf("claimed LMS row %d, want the adopter %d", me.LMSID, rows[1].LMSID)
	}
	c := holder.Copy
	step := reconcile.Step{To: reconcile.StateInTrash, Source: &holder.Source, TrashKey: c.Key, Copy: &c, Release: true}
	if err := store.AdoptCopy(ctx, me, holder, step); err != nil {
		t.Fatalf("AdoptCopy: %v", err)
	}
	want := readObject(t, sqlDB, holder.ID).CopiedAt
	got := readObject(t, sqlDB, me.ID)
	if !want.Valid || !got.CopiedAt.Valid || !got.CopiedAt.Time.Equal(want.Time) {
		t.Errorf("adopter's copied_at = %v, want the holder's %v", got.CopiedAt, want)
	}
	if now := dbtest.Now(t, sqlDB); now.Sub(got.CopiedAt.Time) < 59*time.Minute {
		t.Errorf("adopter's copied_at %v is not an hour before the database's now %v", got.CopiedAt.Time, now)
	}
	if got.State != string(reconcile.StateInTrash) || got.TrashKey.String != "trash/one" {
		t.Errorf("adopter %+v, want in_trash sharing trash/one", got)
	}
}
