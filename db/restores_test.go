package db_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// TestRecordRestoreKeepsLease: a restore works on records whose state a
// move no longer works on (in_trash, archived, restoring, failed) and
// records its copy back in parts under that state. Those steps keep its
// lease: the restore gives it up when it retries, releases or ends.
func TestRecordRestoreKeepsLease(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	states := []reconcile.State{reconcile.StateInTrash, reconcile.StateArchived, reconcile.StateRestoring, reconcile.StateFailed, reconcile.StateCopied}
	ids := discover(t, store, sqlDB, "src", len(states))
	for i, s := range states {
		putCopy(t, sqlDB, ids[i], s, 10, 1)
		setRecord(t, sqlDB, ids[i], "restore_requested_at = NOW(6)")
	}
	recs, err := store.ClaimRestores(ctx, "restorer", 10, time.Minute)
	if err != nil || len(recs) != len(states) {
		t.Fatalf("ClaimRestores = %d records, %v; want %d", len(recs), err, len(states))
	}
	for _, rec := range recs {
		up := reconcile.Upload{Key: rec.Source.Key, ID: "up-" + rec.Source.Key}
		steps := []reconcile.Step{
			{To: rec.State, Upload: &up},
			{To: rec.State, ClearUpload: true},
		}
		for _, step := range steps {
			if err := store.Record(ctx, rec, step); err != nil {
				t.Errorf("%s record being restored: Record(%+v) = %v; want the lease kept", rec.State, step, err)
			}
			if row := readObject(t, sqlDB, rec.ID); row.LeaseToken.String != rec.Lease.Token {
				t.Errorf("%s record being restored: lease token %v after a step under way, want %s", rec.State, row.LeaseToken, rec.Lease.Token)
			}
		}
	}
	expireLeases(t, sqlDB) // not taken over: still held
	for _, rec := range recs {
		if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StateRestored, RestoredKey: rec.Source.Key, Release: true}); err != nil {
			t.Errorf("%s record: Record restored = %v", rec.State, err)
		}
		if row := readObject(t, sqlDB, rec.ID); row.State != "restored" || row.LeaseToken.Valid || !row.FinishedAt.Valid {
			t.Errorf("after restored: %+v; want restored, finished, no lease", row)
		}
		if err := store.Record(ctx, rec, reconcile.Step{To: reconcile.StateRestored}); !errors.Is(err, reconcile.ErrLeaseLost) {
			t.Errorf("Record after the restore released its lease = %v, want ErrLeaseLost", err)
		}
	}
}

// putRestored puts the record of LMS row lmsID in state restored, as a
// restore that put the object at restoredKey ("": before restored_key was
// kept) leaves it, with every trace of its earlier life set.
func putRestored(t *testing.T, sqlDB *sql.DB, lmsID int64, restoredKey string) {
	t.Helper()
	putCopy(t, sqlDB, lmsID, reconcile.StateRestored, 10, 40)
	setRecord(t, sqlDB, lmsID, "restored_key = NULLIF(?, ''), restored_at = NOW(6), finished_at = NOW(6), restore_requested_at = NOW(6),"+
		" source_version = 'v1', source_etag = 'e', source_checksum = 'CRC32:AAAAAA==', source_seen_at = NOW(6),"+
		" trash_etag = 'te', trash_size = 10, trash_checksum = 'CRC32:AAAAAA==', storage_class = 'GLACIER',"+
		" source_deleted_at = NOW(6), archived_at = NOW(6), transition_checked_at = NOW(6), attempts = 3,"+
		" failing_since = NOW(6), shared_with = 99, last_error = 'restored beside', discovered_at = NOW(6) - INTERVAL 10 DAY", restoredKey)
}

// retrashedRow is what Retrash resets, read from a trash_objects row.
type retrashedRow struct {
	State, Bucket, Key     string
	Traces                 int // non-NULL columns of the earlier life
	Attempts               int
	Due, Fresh             bool // next_attempt_at <= NOW(6); discovered_at within a minute
	Finished               bool
	RestoredKey, LastError sql.NullString
}

func readRetrashed(t *testing.T, sqlDB *sql.DB, lmsID int64) retrashedRow {
	t.Helper()
	var r retrashedRow
	err := sqlDB.QueryRowContext(t.Context(), `SELECT state, source_bucket, source_key,
		(source_version IS NOT NULL) + (source_size IS NOT NULL) + (source_etag IS NOT NULL) + (source_checksum IS NOT NULL)
		+ (trash_bucket IS NOT NULL) + (trash_key IS NOT NULL) + (trash_etag IS NOT NULL) + (trash_size IS NOT NULL)
		+ (trash_checksum IS NOT NULL) + (storage_class IS NOT NULL) + (failing_since IS NOT NULL) + (source_seen_at IS NOT NULL)
		+ (copied_at IS NOT NULL) + (source_deleted_at IS NOT NULL) + (archived_at IS NOT NULL) + (restore_requested_at IS NOT NULL)
		+ (restored_at IS NOT NULL) + (transition_checked_at IS NOT NULL) + (shared_with IS NOT NULL),
		attempts, next_attempt_at <= NOW(6), discovered_at > NOW(6) - INTERVAL 1 MINUTE, finished_at IS NOT NULL,
		restored_key, last_error
		FROM trash_objects WHERE lms_id = ?`, lmsID).Scan(&r.State, &r.Bucket, &r.Key, &r.Traces,
		&r.Attempts, &r.Due, &r.Fresh, &r.Finished, &r.RestoredKey, &r.LastError)
	if err != nil {
		t.Fatalf("read the record of LMS row %d: %v", lmsID, err)
	}
	return r
}

// TestRetrash: a restored row that the LMS trashed again starts over as
// pending, from where the restore put the object.
func TestRetrash(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 5)
	atKey, beside, legacy, untrashed, inTrash := ids[0], ids[1], ids[2], ids[3], ids[4]
	besideKey := fmt.Sprintf("k/0001 (restored %d)", beside)
	putRestored(t, sqlDB, atKey, "k/0000")
	putRestored(t, sqlDB, beside, besideKey)
	putRestored(t, sqlDB, legacy, "")
	putRestored(t, sqlDB, untrashed, "k/0003")
	putCopy(t, sqlDB, inTrash, reconcile.StateInTrash, 10, 1)
	dbtest.SetTrashed(t, sqlDB, untrashed, false) // restored, and still in use
	before := readRetrashed(t, sqlDB, untrashed)
	beforeInTrash := readRetrashed(t, sqlDB, inTrash)

	n, err := store.Retrash(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Retrash = %d, %v; want 3", n, err)
	}
	for _, c := range []struct {
		lmsID    int64
		key      string
		restored string // "": NULL
	}{
		{atKey, "k/0000", "k/0000"},
		{beside, besideKey, besideKey}, // where the bytes are; where they were, kept
		{legacy, "k/0002", ""},
	} {
		row := readRetrashed(t, sqlDB, c.lmsID)
		want := retrashedRow{State: "pending", Bucket: "src", Key: c.key, Due: true, Fresh: true,
			RestoredKey: sql.NullString{String: c.restored, Valid: c.restored != ""}}
		if row != want {
			t.Errorf("LMS row %d retrashed: %+v\nwant %+v", c.lmsID, row, want)
		}
	}
	if after := readRetrashed(t, sqlDB, untrashed); after != before {
		t.Errorf("Retrash changed a restored record whose row is not trashed:\n%+v\n%+v", before, after)
	}
	if after := readRetrashed(t, sqlDB, inTrash); after != beforeInTrash {
		t.Errorf("Retrash changed an in_trash record:\n%+v\n%+v", beforeInTrash, after)
	}

	// Moved again from where the object is.
	recs := claim(t, store, "h", 10)
	keys := map[int64]string{}
	for _, r := range recs {
		keys[r.LMSID] = r.Source.Key
		if r.Attempts != 0 || r.FailingFor != 0 || r.Copy != (reconcile.Object{}) || r.SharedWith != 0 || r.RestoreRequested || r.TrashKey != "" {
			t.Errorf("claimed retrashed record %+v; want a fresh start", r)
		}
	}
	if want := map[int64]string{atKey: "k/0000", beside: besideKey, legacy: "k/0002"}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("claimed after Retrash: %v, want %v", keys, want)
	}
	if n, err := store.Retrash(ctx); err != nil || n != 0 {
		t.Errorf("second Retrash = %d, %v; want 0", n, err)
	}
}

// TestRetrashKeyNotStorable: a row whose key cannot be stored is recorded
// failed, alone, with the reason; the others start over; no error.
func TestRetrashKeyNotStorable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, alter string // alter: how the LMS table comes to hold such a key
		key         string
		reason      string
	}{
		{"too long", "", strings.Repeat("é", 600), "the key is 1200 bytes, over S3's limit of 1024"},
		{"invalid UTF-8", "ALTER TABLE files MODIFY s3_key VARBINARY(1024) NOT NULL", "bad\xffkey", "the key is not valid UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store, sqlDB, _ := setup(t, db.TrashFlag)
			ids := discover(t, store, sqlDB, "src", 3)
			for _, id := range ids {
				putRestored(t, sqlDB, id, "")
			}
			if c.alter != "" {
				exec(t, sqlDB, c.alter)
			}
			exec(t, sqlDB, "UPDATE files SET s3_key = ? WHERE id = ?", c.key, ids[1])

			n, err := store.Retrash(t.Context())
			if err != nil || n != 3 {
				t.Fatalf("Retrash = %d, %v; want 3 and no error", n, err)
			}
			bad := readRetrashed(t, sqlDB, ids[1])
			if bad.State != "failed" || !bad.Finished || !strings.Contains(bad.LastError.String, c.reason) {
				t.Errorf("the row with the key that cannot be stored: %+v; want failed, finished, %q", bad, c.reason)
			}
			for _, id := range []int64{ids[0], ids[2]} {
				if row := readRetrashed(t, sqlDB, id); row.State != "pending" || row.Finished || row.LastError.Valid {
					t.Errorf("LMS row %d: %+v; want pending again", id, row)
				}
			}
			if recs := claim(t, store, "h", 10); len(recs) != 2 {
				t.Errorf("claimed %d records after Retrash, want the 2 pending", len(recs))
			}
		})
	}
}

func TestLMSRowTrashed(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{db.TrashFlag, db.TrashTimestamp} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			store, sqlDB, _ := setup(t, kind)
			trashed := dbtest.InsertFile(t, sqlDB, "src", "a", true)
			live := dbtest.InsertFile(t, sqlDB, "src", "b", false)
			null := dbtest.InsertFile(t, sqlDB, "src", "c", false)
			flagToNull(t, sqlDB, kind, null)
			for _, c := range []struct {
				id              int64
				trashed, exists bool
			}{{trashed, true, true}, {live, false, true}, {null, false, true}, {null + 100, false, false}} {
				gotTrashed, gotExists, err := store.LMSRowTrashed(t.Context(), c.id)
				if err != nil || gotTrashed != c.trashed || gotExists != c.exists {
					t.Errorf("LMSRowTrashed(%d) = %v, %v, %v; want %v, %v", c.id, gotTrashed, gotExists, err, c.trashed, c.exists)
				}
			}
			dbtest.SetTrashed(t, sqlDB, live, true)
			if got, _, _ := store.LMSRowTrashed(t.Context(), live); !got {
				t.Error("LMSRowTrashed after the row was trashed = false")
			}
		})
	}
}

// TestRestoreCandidates: the candidates are listed without a change, then
// MarkRestores marks those given that are still restorable and unmarked.
func TestRestoreCandidates(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	const n = 520 // more than one UPDATE's worth of ids
	ids := discover(t, store, sqlDB, "src", n)
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'in_trash', attempts = 4, next_attempt_at = NOW(6) + INTERVAL 1 HOUR")
	exec(t, sqlDB, "UPDATE files SET trashed = 0 WHERE id <> ?", ids[n-1])

	got, err := store.RestoreCandidates(ctx)
	if err != nil {
		t.Fatalf("RestoreCandidates: %v", err)
	}
	if len(got) != n-1 {
		t.Fatalf("RestoreCandidates = %d ids, want %d", len(got), n-1)
	}
	if row := readGlacier(t, sqlDB, ids[0]); row.RestoreRequestedAt.Valid || row.Attempts != 4 || row.Due {
		t.Errorf("RestoreCandidates changed a record: %+v", row)
	}

	// Between the two, one record left for good and one was marked already.
	gone, marked := got[0], got[1]
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'expired' WHERE id = ?", gone)
	exec(t, sqlDB, "UPDATE trash_objects SET restore_requested_at = NOW(6) - INTERVAL 1 DAY WHERE id = ?", marked)
	k, err := store.MarkRestores(ctx, got)
	if err != nil || k != n-3 {
		t.Fatalf("MarkRestores = %d, %v; want %d", k, err, n-3)
	}
	var requested, due, counted int
	err = sqlDB.QueryRowContext(ctx, `SELECT COALESCE(SUM(restore_requested_at > NOW(6) - INTERVAL 1 MINUTE), 0),
		COALESCE(SUM(next_attempt_at <= NOW(6)), 0), COALESCE(SUM(attempts <> 0), 0) FROM trash_objects`).Scan(&requested, &due, &counted)
	if err != nil {
		t.Fatal(err)
	}
	if requested != n-3 || due != n-3 || counted != 3 {
		t.Errorf("after MarkRestores: %d requested now, %d due, %d with attempts; want %d, %d, 3", requested, due, counted, n-3, n-3)
	}
	if row := readGlacier(t, sqlDB, ids[n-1]); row.RestoreRequestedAt.Valid {
		t.Errorf("MarkRestores marked a record not given: %+v", row)
	}
	if k, err := store.MarkRestores(ctx, got); err != nil || k != 0 {
		t.Errorf("MarkRestores again = %d, %v; want 0", k, err)
	}
	if k, err := store.MarkRestores(ctx, nil); err != nil || k != 0 {
		t.Errorf("MarkRestores(nil) = %d, %v; want 0", k, err)
	}
	if left, err := store.RestoreCandidates(ctx); err != nil || len(left) != 0 {
		t.Errorf("RestoreCandidates after MarkRestores = %v, %v; want none", left, err)
	}
}
