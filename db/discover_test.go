package db_test

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

func TestScanTrashedPages(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{db.TrashFlag, db.TrashTimestamp} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			store, sqlDB, _ := setup(t, kind)
			var want []reconcile.TrashedRow
			for i := range 25 {
				bucket := "lms-bucket"
				if i%5 == 0 {
					bucket = "" // NULL: the default bucket
				}
				key := fmt.Sprintf("course/%d/Ünïcode File %d.pdf", i, i)
				trashed := i%3 != 0
				id := dbtest.InsertFile(t, sqlDB, bucket, key, trashed)
				if trashed {
					want = append(want, reconcile.TrashedRow{LMSID: id, Bucket: cmp.Or(bucket, "default-bucket"), Key: key})
				}
			}

			got := scanAll(t, store, 4)
			if !slices.Equal(got, want) {
				t.Errorf("scan = %v\nwant %v", got, want)
			}
		})
	}
}

func TestScanTrashedSkipsRecorded(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	var rows []reconcile.TrashedRow
	for i := range 6 {
		id := dbtest.InsertFile(t, sqlDB, "b", fmt.Sprintf("k%d", i), true)
		rows = append(rows, reconcile.TrashedRow{LMSID: id, Bucket: "b", Key: fmt.Sprintf("k%d", i)})
	}
	if n, err := store.RecordTrashed(t.Context(), rows[1:4]); err != nil || n != 3 {
		t.Fatalf("RecordTrashed = %d, %v; want 3", n, err)
	}
	got := scanAll(t, store, 2)
	want := []reconcile.TrashedRow{rows[0], rows[4], rows[5]}
	if !slices.Equal(got, want) {
		t.Errorf("scan = %v, want %v", got, want)
	}
}

func TestScanTrashedFlagValues(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	// A flag column that allows NULL and other non-zero values.
	exec(t, sqlDB, "CREATE TABLE uploads (upload_id INT UNSIGNED PRIMARY KEY, object_key VARCHAR(255), deleted INT NULL, INDEX (object_key))")
	exec(t, sqlDB, `INSERT INTO uploads VALUES (1, 'a', NULL), (2, 'b', 0), (3, 'c', 1), (4, 'd', -1), (5, 'e', 2), (6, NULL, 1), (7, '', 1)`)
	store, err := db.NewStore(t.Context(), sqlDB, db.LMSTable{
		Table: "uploads", IDColumn: "upload_id", KeyColumn: "object_key", TrashColumn: "deleted",
		TrashKind: db.TrashFlag, DefaultBucket: "only-bucket",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, store, 100)
	want := []reconcile.TrashedRow{
		{LMSID: 3, Bucket: "only-bucket", Key: "c"},
		{LMSID: 4, Bucket: "only-bucket", Key: "d"},
		{LMSID: 5, Bucket: "only-bucket", Key: "e"},
		{LMSID: 6, Bucket: "only-bucket", Key: ""}, // empty keys are returned: the runner fails them with the reason
		{LMSID: 7, Bucket: "only-bucket", Key: ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("scan = %v, want %v", got, want)
	}
}

func TestScanTrashedTimestampNull(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashTimestamp)
	kept := dbtest.InsertFile(t, sqlDB, "b", "kept", false)
	gone := dbtest.InsertFile(t, sqlDB, "b", "gone", true)
	restored := dbtest.InsertFile(t, sqlDB, "b", "restored", true)
	dbtest.SetTrashed(t, sqlDB, restored, false)
	got := scanAll(t, store, 10)
	want := []reconcile.TrashedRow{{LMSID: gone, Bucket: "b", Key: "gone"}}
	if !slices.Equal(got, want) {
		t.Errorf("scan = %v, want %v (not %d or %d)", got, want, kept, restored)
	}
}

// scanAll pages through every trashed row without a record.
func scanAll(t *testing.T, store *db.Store, limit int) []reconcile.TrashedRow {
	t.Helper()
	var all []reconcile.TrashedRow
	after := int64(0)
	for {
		page, err := store.ScanTrashed(t.Context(), after, limit)
		if err != nil {
			t.Fatalf("ScanTrashed(%d, %d): %v", after, limit, err)
		}
		if len(page) > limit {
			t.Fatalf("ScanTrashed(%d, %d) returned %d rows", after, limit, len(page))
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		after = page[len(page)-1].LMSID
	}
}

func TestRecordTrashed(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	id := dbtest.InsertFile(t, sqlDB, "b", "Key/Case.txt", true)
	id2 := dbtest.InsertFile(t, sqlDB, "b", "key/case.txt", true)
	rows := []reconcile.TrashedRow{{LMSID: id, Bucket: "b", Key: "Key/Case.txt"}, {LMSID: id2, Bucket: "b", Key: "key/case.txt"}}

	n, err := store.RecordTrashed(ctx, rows)
	if err != nil || n != 2 {
		t.Fatalf("RecordTrashed = %d, %v; want 2", n, err)
	}
	n, err = store.RecordTrashed(ctx, append(rows, rows...))
	if err != nil || n != 0 {
		t.Fatalf("RecordTrashed again = %d, %v; want 0", n, err)
	}
	if n, err := store.RecordTrashed(ctx, nil); err != nil || n != 0 {
		t.Fatalf("RecordTrashed(nil) = %d, %v", n, err)
	}

	var (
		state, key  string
		attempts    int
		due, leased bool
	)
	err = sqlDB.QueryRowContext(ctx, `SELECT state, source_key, attempts, next_attempt_at <= NOW(6),
		lease_token IS NOT NULL FROM trash_objects WHERE lms_id = ?`, id2).Scan(&state, &key, &attempts, &due, &leased)
	if err != nil {
		t.Fatal(err)
	}
	if state != "pending" || key != "key/case.txt" || attempts != 0 || !due || leased {
		t.Errorf("record = %s %q attempts %d due %v leased %v; want pending, the exact key, 0, due, unleased",
			state, key, attempts, due, leased)
	}
}

func TestRecordTrashedConcurrent(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	var rows []reconcile.TrashedRow
	for i := range 1200 { // more than one INSERT's worth
		rows = append(rows, reconcile.TrashedRow{LMSID: int64(i + 1), Bucket: "b", Key: fmt.Sprintf("k%d", i)})
	}
	reversed := slices.Clone(rows)
	slices.Reverse(reversed)

	var (
		wg    sync.WaitGroup
		total [2]int
	)
	for i, batch := range [][]reconcile.TrashedRow{rows, reversed} {
		wg.Go(func() {
			n, err := store.RecordTrashed(t.Context(), batch)
			if err != nil {
				t.Errorf("RecordTrashed: %v", err)
			}
			total[i] = n
		})
	}
	wg.Wait()
	if total[0]+total[1] != len(rows) {
		t.Errorf("inserted %d + %d, want %d in all", total[0], total[1], len(rows))
	}
	var count, distinct int
	if err := sqlDB.QueryRowContext(t.Context(), "SELECT COUNT(*), COUNT(DISTINCT lms_id) FROM trash_objects").Scan(&count, &distinct); err != nil {
		t.Fatal(err)
	}
	if count != len(rows) || distinct != len(rows) {
		t.Errorf("trash_objects has %d rows (%d distinct), want %d", count, distinct, len(rows))
	}
}

func TestRecordTrashedUnstorable(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	rows := []reconcile.TrashedRow{
		{LMSID: 1, Bucket: "b", Key: "bad\xffutf8"},
		{LMSID: 2, Bucket: "b", Key: strings.Repeat("x", 1025)},
		{LMSID: 3, Bucket: strings.Repeat("b", 64), Key: "k"},
		{LMSID: 4, Bucket: "b", Key: strings.Repeat("é", 512)}, // 1024 bytes: fits
	}
	n, err := store.RecordTrashed(t.Context(), rows)
	if err != nil || n != 4 {
		t.Fatalf("RecordTrashed = %d, %v; want 4", n, err)
	}
	for _, c := range []struct {
		id    int64
		state string
		err   string
	}{
		{1, "failed", "not valid UTF-8"},
		{2, "failed", "1025 bytes"},
		{3, "failed", "63 characters"},
		{4, "pending", ""},
	} {
		var state string
		var lastErr, key sql.NullString
		var finished bool
		err := sqlDB.QueryRowContext(t.Context(), "SELECT state, last_error, source_key, finished_at IS NOT NULL FROM trash_objects WHERE lms_id = ?", c.id).
			Scan(&state, &lastErr, &key, &finished)
		if err != nil {
			t.Fatal(err)
		}
		if state != c.state || !strings.Contains(lastErr.String, c.err) || finished != (c.state == "failed") {
			t.Errorf("lms_id %d: %s, %q, finished %v; want %s, mentioning %q", c.id, state, lastErr.String, finished, c.state, c.err)
		}
		if c.id == 4 && key.String != rows[3].Key {
			t.Errorf("lms_id 4: key not stored exactly")
		}
	}
}
