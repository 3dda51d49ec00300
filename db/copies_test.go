package db_test

import (
	"slices"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// TestRecordCopyIdentity: a verified copy is recorded with its own size,
// ETag and checksum, apart from the source's, and read back as Record.Copy,
// so that an audit checks the copy against what the copy was.
func TestRecordCopyIdentity(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 3)
	recs := claim(t, store, "h", 3)

	src := reconcile.Object{Bucket: "src", Key: "k/0000", VersionID: "v1", Size: 5<<30 + 1, ETag: "0123abcd",
		Checksum: reconcile.Checksum{Algorithm: "CRC32", Value: "c3JjIQ=="}}
	// A copy in parts: another ETag, another checksum algorithm.
	dst := reconcile.Object{Bucket: "trash", Key: "trash/k/0000", Size: 5<<30 + 1, ETag: "4567ef01-2",
		Checksum: reconcile.Checksum{Algorithm: "CRC64NVME", Value: "Y29weSE="}, StorageClass: "STANDARD"}
	if err := store.Record(ctx, recs[0], reconcile.Step{To: reconcile.StatePending, Source: &src, TrashKey: dst.Key}); err != nil {
		t.Fatal(err)
	}
	if got := recordOf(t, store, ids[0]); got.Copy != (reconcile.Object{}) {
		t.Errorf("Copy before a copy was recorded = %+v, want zero", got.Copy)
	}
	if err := store.Record(ctx, recs[0], reconcile.Step{To: reconcile.StateCopied, Copy: &dst}); err != nil {
		t.Fatal(err)
	}
	later := readLater(t, sqlDB, recs[0].ID)
	if later.TrashSize.Int64 != dst.Size || later.TrashETag.String != dst.ETag || later.TrashChecksum.String != "CRC64NVME:Y29weSE=" {
		t.Errorf("copy columns = size %v, ETag %v, checksum %v; want the copy's own", later.TrashSize, later.TrashETag, later.TrashChecksum)
	}
	if row := readObject(t, sqlDB, recs[0].ID); row.ETag.String != src.ETag || row.Checksum.String != "CRC32:c3JjIQ==" || row.Size.Int64 != src.Size {
		t.Errorf("the source's columns changed with the copy: %+v", row)
	}
	got := recordOf(t, store, ids[0])
	if got.Copy != dst || got.Source != src {
		t.Errorf("RecordOf: Copy %+v, Source %+v\nwant Copy %+v, Source %+v", got.Copy, got.Source, dst, src)
	}
	// The audit reads records the same way.
	all, err := store.Records(ctx, 0, 10)
	if err != nil || len(all) != 3 || all[0].Copy != dst {
		t.Errorf("Records = %+v, %v; want the first with Copy %+v", all, err, dst)
	}

	// A copy without a checksum has none of its own: not the source's.
	noSum := reconcile.Object{Bucket: "trash", Key: "trash/k/0001", Size: 10, ETag: "e1"}
	src1 := reconcile.Object{Bucket: "src", Key: "k/0001", Size: 10, ETag: "e1", Checksum: reconcile.Checksum{Algorithm: "SHA256", Value: "c2hh"}}
	if err := store.Record(ctx, recs[1], reconcile.Step{To: reconcile.StateCopied, Source: &src1, TrashKey: noSum.Key, Copy: &noSum}); err != nil {
		t.Fatal(err)
	}
	if got := recordOf(t, store, ids[1]); got.Copy != noSum {
		t.Errorf("Copy without a checksum = %+v, want %+v", got.Copy, noSum)
	}

	// Recorded before the copy's own size and checksum were kept (no
	// trash_size): the copy was verified equal to the source then.
	exec(t, sqlDB, "UPDATE trash_objects SET trash_size = NULL, trash_checksum = NULL WHERE id = ?", recs[0].ID)
	want := dst
	want.Size, want.Checksum = src.Size, src.Checksum
	if got := recordOf(t, store, ids[0]); got.Copy != want {
		t.Errorf("Copy of a record without trash_size = %+v\nwant %+v (the source's size and checksum, the copy's ETag)", got.Copy, want)
	}
}

// TestCopyOf: another record of the same source object whose trash copy now
// holds it is found, and whether it moved the object after the asking
// record was discovered.
func TestCopyOf(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	const key = "shared/object.pdf"
	var rows []reconcile.TrashedRow
	for _, o := range []struct{ bucket, key string }{{"src", key}, {"src", key}, {"src", "other/object.pdf"}, {"other-bucket", key}} {
		id := dbtest.InsertFile(t, sqlDB, o.bucket, o.key, true)
		rows = append(rows, reconcile.TrashedRow{LMSID: id, Bucket: o.bucket, Key: o.key})
	}
	if _, err := store.RecordTrashed(ctx, rows); err != nil {
		t.Fatal(err)
	}
	me, holder := recordOf(t, store, rows[0].LMSID), recordOf(t, store, rows[1].LMSID)
	// The asking record was discovered a day ago.
	setRecord(t, sqlDB, me.LMSID, "discovered_at = NOW(6) - INTERVAL 1 DAY")
	// The records of the other key and of the other bucket hold copies that
	// must never be taken for this object's.
	for _, r := range rows[2:] {
		setRecord(t, sqlDB, r.LMSID, "state = 'in_trash', trash_bucket = 'trash', trash_key = CONCAT('trash/', lms_id), trash_etag = 'x',"+
			" source_deleted_at = NOW(6)")
	}

	lookup := func() (reconcile.SharedCopy, bool) {
		t.Helper()
		c, ok, err := store.CopyOf(ctx, "src", key, me.ID)
		if err != nil {
			t.Fatalf("CopyOf: %v", err)
		}
		// The fast path's question for many records answers the same.
		moved, err := store.MovedSince(ctx, []reconcile.Record{me})
		if err != nil {
			t.Fatalf("MovedSince: %v", err)
		}
		if moved[me.ID] != (ok && c.MovedAfter) {
			t.Errorf("MovedSince says %v, CopyOf found %v with MovedAfter %v", moved[me.ID], ok, c.MovedAfter)
		}
		return c, ok
	}

	// Copied, the source not deleted yet: the source still holds the object.
	setRecord(t, sqlDB, holder.LMSID, "state = 'copied', trash_bucket = 'trash', trash_key = 'trash/shared', trash_etag = 'etag-1',"+
		" trash_size = 42, source_size = 42")
	if c, ok := lookup(); ok {
		t.Errorf("CopyOf found %+v before its source was deleted", c.Record)
	}
	// Source deleted, but no copy recorded.
	setRecord(t, sqlDB, holder.LMSID, "state = 'in_trash', source_deleted_at = NOW(6) - INTERVAL 1 HOUR, trash_etag = NULL")
	if c, ok := lookup(); ok {
		t.Errorf("CopyOf found %+v without a recorded copy", c.Record)
	}

	// Both: found, moved after the asking record was discovered.
	setRecord(t, sqlDB, holder.LMSID, "trash_etag = 'etag-1'")
	c, ok := lookup()
	if !ok {
		t.Fatal("CopyOf found nothing; want the in_trash record of the same object")
	}
	if c.Record.ID != holder.ID || c.Record.State != reconcile.StateInTrash || !c.MovedAfter ||
		c.Record.Copy != (reconcile.Object{Bucket: "trash", Key: "trash/shared", Size: 42, ETag: "etag-1"}) {
		t.Errorf("CopyOf = %+v, MovedAfter %v; want record %d's copy, moved after", c.Record, c.MovedAfter, holder.ID)
	}
	// Deleted exactly when the asking record was discovered: after (at or after).
	exec(t, sqlDB, "UPDATE trash_objects AS h JOIN trash_objects AS m ON m.id = ? SET h.source_deleted_at = m.discovered_at WHERE h.id = ?", me.ID, holder.ID)
	if c, ok := lookup(); !ok || !c.MovedAfter {
		t.Errorf("CopyOf with the source deleted as the record was discovered: found %v, MovedAfter %v; want true, true", ok, c.MovedAfter)
	}
	// Deleted before it was discovered: the asking row may name another
	// object that was put at the key since.
	setRecord(t, sqlDB, holder.LMSID, "source_deleted_at = NOW(6) - INTERVAL 2 DAY")
	if c, ok := lookup(); !ok || c.MovedAfter {
		t.Errorf("CopyOf with the source deleted before the record was discovered: found %v, MovedAfter %v; want true, false", ok, c.MovedAfter)
	}

	// Every state in which a record relies on its copy; none other.
	for _, state := range reconcile.States {
		setRecord(t, sqlDB, holder.LMSID, "state = ?", string(state))
		_, ok := lookup()
		if want := slices.Contains(reconcile.CopyHolderStates(), state); ok != want {
			t.Errorf("CopyOf with the other record %s: found %v, want %v", state, ok, want)
		}
	}
	setRecord(t, sqlDB, holder.LMSID, "state = 'archived'")

	// Never the asking record itself.
	if c, ok, err := store.CopyOf(ctx, "src", key, holder.ID); err != nil || ok {
		t.Errorf("CopyOf except the only holder = %+v, %v, %v; want none", c.Record, ok, err)
	}
	// Another key, another bucket: their own copies, never this one; a key
	// differing in case only is another object, with none.
	for _, o := range []struct {
		bucket, key string
		found       bool
	}{{"src", "other/object.pdf", true}, {"other-bucket", key, true}, {"src", "Shared/Object.pdf", false}, {"src", "shared/", false}} {
		c, ok, err := store.CopyOf(ctx, o.bucket, o.key, me.ID)
		switch {
		case err != nil:
			t.Fatalf("CopyOf(%s, %s): %v", o.bucket, o.key, err)
		case ok != o.found:
			t.Errorf("CopyOf(%s, %s): found %v, want %v", o.bucket, o.key, ok, o.found)
		case ok && (c.Record.Source.Bucket != o.bucket || c.Record.Source.Key != o.key):
			t.Errorf("CopyOf(%s, %s) found the copy of s3://%s/%s", o.bucket, o.key, c.Record.Source.Bucket, c.Record.Source.Key)
		}
	}
}

// TestCopyHolders: the records other than the asking one that rely on a
// trash copy (in a copy-holder state, naming its key) are counted; no other.
func TestCopyHolders(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	n := len(reconcile.States)
	ids := discover(t, store, sqlDB, "src", 2*n+1)
	count := func(key string, except int64) int {
		t.Helper()
		got, err := store.CopyHolders(ctx, key, except)
		if err != nil {
			t.Fatalf("CopyHolders(%s, %d): %v", key, except, err)
		}
		return got
	}
	// For each state, one record in it and one in_trash, naming one key.
	for i, state := range reconcile.States {
		key := "trash/" + string(state)
		setRecord(t, sqlDB, ids[i], "state = ?, trash_key = ?", string(state), key)
		setRecord(t, sqlDB, ids[n+i], "state = 'in_trash', trash_key = ?", key)
	}
	// A record without a trash key counts for no key.
	setRecord(t, sqlDB, ids[2*n], "state = 'in_trash'")

	for i, state := range reconcile.States {
		key := "trash/" + string(state)
		self, inTrash := recordOf(t, store, ids[i]).ID, recordOf(t, store, ids[n+i]).ID
		holds := 0
		if slices.Contains(reconcile.CopyHolderStates(), state) {
			holds = 1
		}
		if got := count(key, inTrash); got != holds {
			t.Errorf("CopyHolders of a copy also named by a %s record = %d, want %d", state, got, holds)
		}
		if got := count(key, self); got != 1 {
			t.Errorf("CopyHolders except the %s record = %d, want 1 (the in_trash one, not itself)", state, got)
		}
		if got := count(key, 0); got != 1+holds {
			t.Errorf("CopyHolders of the %s record's copy, except none = %d, want %d", state, got, 1+holds)
		}
	}
	if got := count("trash/nobody", 0); got != 0 {
		t.Errorf("CopyHolders of a key nobody names = %d", got)
	}
}
