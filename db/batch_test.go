package db_test

import (
	"errors"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// TestRecordBatchAsRecord: a batch of steps leaves every row as the same
// steps recorded one by one leave their twin rows, in one statement per
// shape of step; a record whose lease was taken over is left alone and
// told ErrLeaseLost.
func TestRecordBatchAsRecord(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "b", 8)
	recs := claim(t, store, "host-a", 8)
	if len(recs) != 8 {
		t.Fatalf("claimed %d", len(recs))
	}
	step := func(i int, rec reconcile.Record) reconcile.Step {
		src := reconcile.Object{Bucket: "b", Key: rec.Source.Key, ETag: "etag" + rec.Source.Key, Size: int64(100 + i),
			Checksum: reconcile.Checksum{Algorithm: "CRC32", Value: "c" + rec.Source.Key}, LastModified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		dst := src
		dst.Bucket, dst.Key = "trash", "1/"+rec.Source.Key
		if i%2 == 0 {
			return reconcile.Step{To: reconcile.StateCopied, Source: &src, TrashKey: dst.Key, Copy: &dst, Renew: time.Minute}
		}
		return reconcile.Step{To: reconcile.StateInTrash, Source: &src, Copy: &dst, Release: true}
	}
	// The first half one by one, the second half in a batch: each row of
	// the batch must end like its twin.
	var batch []reconcile.Record
	var steps []reconcile.Step
	for i, rec := range recs {
		if i < 4 {
			if err := store.Record(t.Context(), rec, step(i%4, rec)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		batch = append(batch, rec)
		steps = append(steps, step(i%4, rec))
	}
	// One lease lost to another host before the batch is written.
	exec(t, sqlDB, "UPDATE trash_objects SET lease_token = 'someone-else' WHERE id = ?", batch[1].ID)
	errs := store.RecordBatch(t.Context(), batch, steps)
	for i, err := range errs {
		switch {
		case i == 1 && !errors.Is(err, reconcile.ErrLeaseLost):
			t.Errorf("the record taken over: %v, want ErrLeaseLost", err)
		case i != 1 && err != nil:
			t.Errorf("record %d: %v", batch[i].ID, err)
		}
	}
	for i := range 4 {
		if i == 1 {
			if got := readObject(t, sqlDB, batch[1].ID); got.State != string(reconcile.StatePending) || got.LeaseToken.String != "someone-else" {
				t.Errorf("the record taken over was written: %+v", got)
			}
			continue
		}
		one, many := readObject(t, sqlDB, recs[i].ID), readObject(t, sqlDB, batch[i].ID)
		if one.State != many.State || one.Size != many.Size || one.TrashBucket != many.TrashBucket ||
			one.LeaseToken.Valid != many.LeaseToken.Valid || one.CopiedAt.Valid != many.CopiedAt.Valid ||
			one.DeletedAt.Valid != many.DeletedAt.Valid || one.LeaseExpiresAt.Valid != many.LeaseExpiresAt.Valid {
			t.Errorf("step %d: one by one %+v\nin a batch %+v", i, one, many)
		}
		if many.ETag.String != "etag"+batch[i].Source.Key || many.Checksum.String != "CRC32:c"+batch[i].Source.Key || many.TrashKey.String != "1/"+batch[i].Source.Key {
			t.Errorf("row %d has another row's values: %+v", batch[i].ID, many)
		}
	}
}

// TestRenewLeasesFenced: renewals extend the leases still held, and say
// which was lost.
func TestRenewLeasesFenced(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "b", 3)
	recs := claim(t, store, "host-a", 3)
	exec(t, sqlDB, "UPDATE trash_objects SET lease_token = 'someone-else' WHERE id = ?", recs[2].ID)
	errs := store.RenewLeases(t.Context(), recs, time.Hour)
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], reconcile.ErrLeaseLost) {
		t.Fatalf("RenewLeases: %v", errs)
	}
	if got := readObject(t, sqlDB, recs[0].ID); time.Until(got.LeaseExpiresAt.Time) < 50*time.Minute {
		t.Errorf("lease not extended: %v", got.LeaseExpiresAt)
	}
}

// TestLiveRowsInOneQuery: many objects asked at once get what each would
// alone: buckets NULL, empty, of spaces and named; keys that a collation
// would confuse; trashed rows; the smallest live id.
func TestLiveRowsInOneQuery(t *testing.T) {
	t.Parallel()
	for _, collation := range []string{"utf8mb4_bin", "utf8mb4_general_ci"} {
		t.Run(collation, func(t *testing.T) {
			t.Parallel()
			sqlDB, _ := dbtest.Migrated(t)
			lms := dbtest.CreateFilesWith(t, sqlDB, dbtest.FilesOptions{Kind: db.TrashFlag, KeyCollation: collation})
			lms.DefaultBucket = "default-bucket"
			store := newStore(t, sqlDB, lms)
			k1 := dbtest.InsertFile(t, sqlDB, "", "k", false)
			dbtest.InsertFile(t, sqlDB, "", "k", false)
			empty := dbtest.InsertFile(t, sqlDB, "", "e", false)
			exec(t, sqlDB, "UPDATE files SET bucket = '' WHERE id = ?", empty)
			spaces := dbtest.InsertFile(t, sqlDB, "  ", "s", false)
			other := dbtest.InsertFile(t, sqlDB, "other", "k", false)
			named := dbtest.InsertFile(t, sqlDB, lms.DefaultBucket, "n", false)
			upper := dbtest.InsertFile(t, sqlDB, "b", "Doc.pdf", false)
			padded := dbtest.InsertFile(t, sqlDB, "b", "doc.pdf ", false)
			dbtest.InsertFile(t, sqlDB, "b", "gone.pdf", true)
			want := map[reconcile.ObjectRef]int64{
				{Bucket: lms.DefaultBucket, Key: "k"}: k1, {Bucket: lms.DefaultBucket, Key: "e"}: empty,
				{Bucket: lms.DefaultBucket, Key: "n"}: named, {Bucket: "  ", Key: "s"}: spaces, {Bucket: "other", Key: "k"}: other,
				{Bucket: "b", Key: "Doc.pdf"}: upper, {Bucket: "b", Key: "doc.pdf "}: padded,
			}
			var objs []reconcile.ObjectRef
			for _, bucket := range []string{lms.DefaultBucket, "other", "  ", "b", "OTHER", "third"} {
				for _, key := range []string{"k", "e", "s", "n", "Doc.pdf", "doc.pdf", "doc.pdf ", "DOC.PDF", "gone.pdf"} {
					objs = append(objs, reconcile.ObjectRef{Bucket: bucket, Key: key})
				}
			}
			got, err := store.LiveRows(t.Context(), objs)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if g, w := got[o], want[o]; g != w {
					t.Errorf("%q/%q: LiveRows %d, want %d", o.Bucket, o.Key, g, w)
				}
				if id, _, err := liveRow(t, store, o.Bucket, o.Key); err != nil || id != want[o] {
					t.Errorf("%q/%q asked alone: %d, %v; want %d", o.Bucket, o.Key, id, err, want[o])
				}
			}
		})
	}
}

// TestEarlierMovesAsEarlierMove: the same answers as EarlierMove, record by
// record.
func TestEarlierMovesAsEarlierMove(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	var rows []reconcile.TrashedRow
	for _, key := range []string{"a", "a", "b", "A", "a", "c"} {
		rows = append(rows, reconcile.TrashedRow{LMSID: dbtest.InsertFile(t, sqlDB, "bk", key, true), Bucket: "bk", Key: key})
	}
	if _, err := store.RecordTrashed(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	recs := claim(t, store, "host", 10)
	// One of the "a" records already moved: it is no earlier move.
	if err := store.Record(t.Context(), recs[0], reconcile.Step{To: reconcile.StateInTrash, Release: true}); err != nil {
		t.Fatal(err)
	}
	got, err := store.EarlierMoves(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, r := range recs {
		lms, found, err := earlierMove(t, store, r.Source.Bucket, r.Source.Key, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := got[r.ID]; ok != found || g != lms {
			t.Errorf("record %d (%q): EarlierMoves %d, %v; EarlierMove %d, %v", r.ID, r.Source.Key, g, ok, lms, found)
		}
		if found {
			hits++
		}
	}
	if hits != 1 {
		t.Errorf("%d records wait for an earlier move, want 1 (the third \"a\")", hits)
	}
}

// TestLiveRowsNullFlag: a row whose trash column is NULL is not trashed (the
// scan does not take it), so it is live: LiveRows finds it,
// and the object it names stays.
func TestLiveRowsNullFlag(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{db.TrashFlag, db.TrashTimestamp} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			store, sqlDB, _ := setup(t, kind)
			dbtest.InsertFile(t, sqlDB, "b", "k", true)
			null := dbtest.InsertFile(t, sqlDB, "b", "k", false)
			flagToNull(t, sqlDB, kind, null)
			dbtest.InsertFile(t, sqlDB, "b", "gone", true)
			objs := []reconcile.ObjectRef{{Bucket: "b", Key: "k"}, {Bucket: "b", Key: "gone"}}
			got, err := store.LiveRows(t.Context(), objs)
			if err != nil {
				t.Fatal(err)
			}
			if id, ok := got[objs[0]]; !ok || id != null || len(got) != 1 {
				t.Errorf("LiveRows = %v; want only row %d, whose trash column is NULL, for b/k", got, null)
			}
			wantLive(t, store, "b", "k", null)
			wantLive(t, store, "b", "gone", 0)
		})
	}
}

// TestRecordBatchReleasedByAnother: a record whose lease another host took
// over and then gave up, in another state, is no write of ours though it has
// no lease token now: the batch that also wrote the records it still held
// tells it ErrLeaseLost and leaves it as the other host left it.
func TestRecordBatchReleasedByAnother(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	discover(t, store, sqlDB, "b", 3)
	recs := claim(t, store, "host-a", 3)
	if len(recs) != 3 {
		t.Fatalf("claimed %d", len(recs))
	}
	lost := recs[1]
	exec(t, sqlDB, "UPDATE trash_objects SET lease_expires_at = NOW(6) - INTERVAL 1 SECOND WHERE id = ?", lost.ID)
	taken := claim(t, store, "host-b", 3)
	if len(taken) != 1 || taken[0].ID != lost.ID {
		t.Fatalf("host-b claimed %+v, want record %d alone", taken, lost.ID)
	}
	if err := store.Record(ctx, taken[0], reconcile.Step{To: reconcile.StateFailed, Error: "host-b's verdict", Failed: true}); err != nil {
		t.Fatal(err)
	}
	steps := make([]reconcile.Step, len(recs))
	for i, rec := range recs {
		c := reconcile.Object{Bucket: "trash", Key: "t/" + rec.Source.Key, ETag: "e", Size: 1}
		steps[i] = reconcile.Step{To: reconcile.StateInTrash, Copy: &c, Release: true}
	}
	errs := store.RecordBatch(ctx, recs, steps)
	for i, err := range errs {
		switch {
		case i == 1 && !errors.Is(err, reconcile.ErrLeaseLost):
			t.Errorf("the record host-b released: %v, want ErrLeaseLost", err)
		case i != 1 && err != nil:
			t.Errorf("record %d, still held: %v", recs[i].ID, err)
		}
	}
	if got := readObject(t, sqlDB, lost.ID); got.State != string(reconcile.StateFailed) || got.DeletedAt.Valid || got.TrashKey.Valid || got.LastError.String != "host-b's verdict" {
		t.Errorf("the record host-b released was written: %+v", got)
	}
	for _, rec := range []reconcile.Record{recs[0], recs[2]} {
		if got := readObject(t, sqlDB, rec.ID); got.State != string(reconcile.StateInTrash) || !got.DeletedAt.Valid || got.LeaseToken.Valid {
			t.Errorf("record %d, still held, was not written: %+v", rec.ID, got)
		}
	}
}
