package db_test

import (
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// Migration 5 turns the records an earlier version recorded missing because
// their verified trash copy was gone into removed, and leaves every other
// missing record as it was.
func TestMigrationRecordsGoneCopiesRemoved(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.NewDatabase(t)
	ctx := t.Context()
	if err := db.MigrateTo(ctx, sqlDB, 4); err != nil {
		t.Fatalf("migrate to 4: %v", err)
	}
	insert := func(lmsID int64, deleted bool, etag, reason string) {
		t.Helper()
		_, err := sqlDB.ExecContext(ctx, "INSERT INTO trash_objects (lms_id, state, source_bucket, source_key, trash_etag, last_error,"+
			" next_attempt_at, discovered_at, updated_at, source_deleted_at)"+
			" VALUES (?, 'missing', 'src', 'k', NULLIF(?, ''), ?, NOW(6), NOW(6), NOW(6), IF(?, NOW(6), NULL))", lmsID, etag, reason, deleted)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(1, true, "abc", "the trash copy s3://trash/1/k is gone, and the lifecycle rule does not expire copies this young")
	insert(2, false, "", "the source s3://src/k is gone and no copy of it exists at any trash key of the record")
	insert(3, true, "abc", "a reason of another kind")
	if err := db.Migrate(ctx, sqlDB); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	for lmsID, want := range map[int64]reconcile.State{1: reconcile.StateRemoved, 2: reconcile.StateMissing, 3: reconcile.StateMissing} {
		var got string
		if err := sqlDB.QueryRowContext(ctx, "SELECT state FROM trash_objects WHERE lms_id = ?", lmsID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if reconcile.State(got) != want {
			t.Errorf("LMS row %d: state %s after the migration, want %s", lmsID, got, want)
		}
	}
	if current, latest, err := db.MigrationStatus(ctx, sqlDB); err != nil || current != latest || latest < 5 {
		t.Errorf("MigrationStatus = %d, %d, %v; want at 5 or later", current, latest, err)
	}
}
