package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// setup is a migrated database of the test's own with a `files` table of
// the given trash kind, and a Store over both.
func setup(t *testing.T, kind string) (*db.Store, *sql.DB, db.LMSTable) {
	t.Helper()
	sqlDB, _ := dbtest.Migrated(t)
	lms := dbtest.CreateFiles(t, sqlDB, kind)
	lms.DefaultBucket = "default-bucket"
	store, err := db.NewStore(t.Context(), sqlDB, lms)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return store, sqlDB, lms
}

// discover inserts n trashed files into bucket and records them all.
func discover(t *testing.T, store *db.Store, sqlDB *sql.DB, bucket string, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	rows := make([]reconcile.TrashedRow, n)
	for i := range n {
		key := fmt.Sprintf("k/%04d", i)
		ids[i] = dbtest.InsertFile(t, sqlDB, bucket, key, true)
		rows[i] = reconcile.TrashedRow{LMSID: ids[i], Bucket: bucket, Key: key}
	}
	if _, err := store.RecordTrashed(t.Context(), rows); err != nil {
		t.Fatalf("RecordTrashed: %v", err)
	}
	return ids
}

// objectRow is a trash_objects row as the tests look at it.
type objectRow struct {
	State, Bucket, Key                      string
	Version, ETag, Checksum                 sql.NullString
	Size                                    sql.NullInt64
	TrashBucket, TrashKey, TrashETag, Class sql.NullString
	Attempts                                int
	NextAttemptAt                           time.Time
	LeaseOwner, LeaseToken                  sql.NullString
	LeaseExpiresAt                          sql.NullTime
	SeenAt, CopiedAt, DeletedAt, ArchivedAt sql.NullTime
	FinishedAt                              sql.NullTime
	UpdatedAt                               time.Time
	LastError                               sql.NullString
}

func readObject(t *testing.T, sqlDB *sql.DB, id int64) objectRow {
	t.Helper()
	var r objectRow
	err := sqlDB.QueryRowContext(context.Background(), `SELECT state, source_bucket, source_key,
		source_version, source_etag, source_checksum, source_size,
		trash_bucket, trash_key, trash_etag, storage_class, attempts, next_attempt_at,
		lease_owner, lease_token, lease_expires_at,
		source_seen_at, copied_at, source_deleted_at, archived_at, finished_at, updated_at, last_error
		FROM trash_objects WHERE id = ?`, id).Scan(&r.State, &r.Bucket, &r.Key,
		&r.Version, &r.ETag, &r.Checksum, &r.Size,
		&r.TrashBucket, &r.TrashKey, &r.TrashETag, &r.Class, &r.Attempts, &r.NextAttemptAt,
		&r.LeaseOwner, &r.LeaseToken, &r.LeaseExpiresAt,
		&r.SeenAt, &r.CopiedAt, &r.DeletedAt, &r.ArchivedAt, &r.FinishedAt, &r.UpdatedAt, &r.LastError)
	if err != nil {
		t.Fatalf("read trash_objects row %d: %v", id, err)
	}
	return r
}

// expireLeases makes every lease lapse, by the database clock.
func expireLeases(t *testing.T, sqlDB *sql.DB) {
	t.Helper()
	_, err := sqlDB.ExecContext(context.Background(),
		"UPDATE trash_objects SET lease_expires_at = NOW(6) - INTERVAL 1 SECOND WHERE lease_expires_at IS NOT NULL")
	if err != nil {
		t.Fatalf("expire leases: %v", err)
	}
}

func exec(t *testing.T, sqlDB *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := sqlDB.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func claim(t *testing.T, store *db.Store, owner string, limit int) []reconcile.Record {
	t.Helper()
	recs, err := store.ClaimBatch(t.Context(), owner, limit, time.Minute)
	if err != nil {
		t.Fatalf("ClaimBatch: %v", err)
	}
	return recs
}

// laterRow is what the later migrations added to a trash_objects row.
type laterRow struct {
	Attempts                  int
	FailingSince              sql.NullTime
	TrashSize                 sql.NullInt64
	TrashETag, TrashChecksum  sql.NullString
	SharedWith                sql.NullInt64
	UploadKey, UploadID       sql.NullString
	RestoredKey, OrphanedFrom sql.NullString
	DiscoveredAt              time.Time
}

func readLater(t *testing.T, sqlDB *sql.DB, id int64) laterRow {
	t.Helper()
	var r laterRow
	err := sqlDB.QueryRowContext(context.Background(), `SELECT attempts, failing_since, trash_size, trash_etag, trash_checksum,
		shared_with, upload_key, upload_id, restored_key, orphaned_from, discovered_at
		FROM trash_objects WHERE id = ?`, id).Scan(&r.Attempts, &r.FailingSince, &r.TrashSize, &r.TrashETag, &r.TrashChecksum,
		&r.SharedWith, &r.UploadKey, &r.UploadID, &r.RestoredKey, &r.OrphanedFrom, &r.DiscoveredAt)
	if err != nil {
		t.Fatalf("read trash_objects row %d: %v", id, err)
	}
	return r
}

// earlierMove asks EarlierMoves about the one record id of bucket/key.
func earlierMove(t *testing.T, store *db.Store, bucket, key string, id int64) (int64, bool, error) {
	t.Helper()
	waits, err := store.EarlierMoves(t.Context(), []reconcile.Record{{ID: id, Source: reconcile.Object{Bucket: bucket, Key: key}}})
	lmsID, found := waits[id]
	return lmsID, found, err
}

// renewLease renews the one lease of rec with RenewLeases.
func renewLease(t *testing.T, store *db.Store, rec reconcile.Record, d time.Duration) error {
	t.Helper()
	return store.RenewLeases(t.Context(), []reconcile.Record{rec}, d)[0]
}
