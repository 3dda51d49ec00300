package db_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// A migration that failed halfway (its first ALTER done, the second not, the
// version unrecorded: MySQL commits DDL by itself) finishes on the next run.
func TestMigrateFinishesAPartialMigration(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	ctx := t.Context()
	// Undo migration 2's second ALTER and forget migrations 2 and 3, as a
	// failure of that ALTER leaves them (3 never ran).
	exec(t, sqlDB, "ALTER TABLE trash_runs DROP COLUMN archived, DROP COLUMN restored, DROP COLUMN shared")
	exec(t, sqlDB, "ALTER TABLE trash_objects DROP COLUMN trash_size, DROP KEY trash_objects_source")
	exec(t, sqlDB, "DELETE FROM trash_schema_version WHERE version_id >= 2")
	if err := db.Migrate(ctx, sqlDB); err != nil {
		t.Fatalf("Migrate after a partial migration: %v", err)
	}
	current, latest, err := db.MigrationStatus(ctx, sqlDB)
	if err != nil || current != latest {
		t.Fatalf("MigrationStatus = %d, %d, %v; want current = latest", current, latest, err)
	}
	for _, col := range []string{"trash_runs.archived", "trash_runs.restored", "trash_runs.shared", "trash_objects.trash_size", "trash_objects.restored_at"} {
		table, column, _ := strings.Cut(col, ".")
		var n int
		if err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?", table, column).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("column %s missing after the migration finished", col)
		}
	}
	var keys int
	if err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'trash_objects' AND INDEX_NAME = 'trash_objects_source'").Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != 1 {
		t.Error("key trash_objects_source missing after the migration finished")
	}
}

// Tables migrated by a newer trashd are read, never written: Migrate and
// every write path refuse with both versions.
func TestNewerSchemaIsNotWritten(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	latest := db.LatestVersion()
	newer := latest + 1
	exec(t, sqlDB, "INSERT INTO trash_schema_version (version_id, is_applied) VALUES (?, TRUE)", newer)

	want := fmt.Sprintf("they are at version %d, and this trashd knows versions up to %d", newer, latest)
	for name, err := range map[string]error{
		"Migrate":        db.Migrate(ctx, sqlDB),
		"CheckWritable":  db.CheckWritable(ctx, sqlDB),
		"StartRun":       second(store.StartRun(ctx, reconcile.TriggerManual, "host")),
		"RequestRestore": second(store.RequestRestore(ctx, 1)),
	} {
		if !errors.Is(err, db.ErrSchemaNewer) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrSchemaNewer saying %q", name, err, want)
		}
	}
	if _, err := store.Status(ctx); err != nil {
		t.Errorf("Status (a read) on a newer schema: %v", err)
	}
	applied, err := db.AppliedVersions(ctx, sqlDB)
	if err != nil || applied[len(applied)-1] != newer {
		t.Errorf("AppliedVersions = %v, %v; want it to end with %d", applied, err, newer)
	}
}

func second[T any](_ T, err error) error { return err }

// A user that can read trashd's tables but not write them is told which
// privileges it lacks, before a pass starts.
func TestCheckWritableNamesMissingPrivileges(t *testing.T) {
	t.Parallel()
	sqlDB, opts := dbtest.Migrated(t)
	ro := dbtest.NewUser(t, sqlDB, opts,
		"GRANT SELECT ON `"+opts.Database+"`.* TO {user}")
	roDB, err := db.Open(t.Context(), ro)
	if err != nil {
		t.Fatal(err)
	}
	defer roDB.Close()
	err = db.CheckWritable(t.Context(), roDB)
	for _, want := range []string{"INSERT on trash_objects", "UPDATE on trash_objects", "INSERT on trash_runs", "UPDATE on trash_runs", "docs/operations.md"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckWritable as a read-only user: %v, want it to name %q", err, want)
		}
	}
	if err := db.CheckWritable(t.Context(), sqlDB); err != nil {
		t.Errorf("CheckWritable as root: %v", err)
	}
}

func TestBinlogProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format            string
		logBin, sqlLogBin bool
		refused           bool
	}{
		{"STATEMENT", true, true, true},
		{"statement", true, true, true},
		{"STATEMENT", false, true, false}, // no binary log at all
		{"STATEMENT", true, false, false}, // this session is not logged
		{"ROW", true, true, false},
		{"MIXED", true, true, false},
	} {
		err := db.BinlogProblem(tc.format, tc.logBin, tc.sqlLogBin)
		if (err != nil) != tc.refused {
			t.Errorf("binlog_format=%s log_bin=%v sql_log_bin=%v: %v, want refused %v", tc.format, tc.logBin, tc.sqlLogBin, err, tc.refused)
		}
		if err != nil && (!strings.Contains(err.Error(), "binlog_format=ROW") || !strings.Contains(err.Error(), "1665")) {
			t.Errorf("the error does not say what to set: %v", err)
		}
	}
}
