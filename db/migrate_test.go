package db_test

import (
	"database/sql"
	"sync"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.NewDatabase(t)
	ctx := t.Context()

	current, latest, err := db.MigrationStatus(ctx, sqlDB)
	if err != nil {
		t.Fatalf("MigrationStatus before: %v", err)
	}
	if current != 0 || latest < 1 {
		t.Fatalf("MigrationStatus before = %d, %d; want 0 and at least 1", current, latest)
	}
	var tables int
	if err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("MigrationStatus created %d tables", tables)
	}

	// Twice, and then from two hosts at once: all harmless.
	for i := range 2 {
		if err := db.Migrate(ctx, sqlDB); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := db.Migrate(ctx, sqlDB); err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
		})
	}
	wg.Wait()

	current, latest2, err := db.MigrationStatus(ctx, sqlDB)
	if err != nil {
		t.Fatalf("MigrationStatus after: %v", err)
	}
	if current != latest || latest2 != latest {
		t.Errorf("MigrationStatus after = %d, %d; want %d, %d", current, latest2, latest, latest)
	}
	for _, table := range []string{"trash_objects", "trash_runs", "trash_schema_version"} {
		var n int
		if err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("table %s missing after Migrate", table)
		}
	}
}

func TestMigrateConcurrentFresh(t *testing.T) {
	t.Parallel()
	sqlDB, opts := dbtest.NewDatabase(t)
	other, err := db.Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var wg sync.WaitGroup
	for _, d := range []*sql.DB{sqlDB, other} {
		wg.Go(func() {
			if err := db.Migrate(t.Context(), d); err != nil {
				t.Errorf("Migrate: %v", err)
			}
		})
	}
	wg.Wait()
	current, latest, err := db.MigrationStatus(t.Context(), sqlDB)
	if err != nil || current != latest {
		t.Errorf("MigrationStatus = %d, %d, %v; want current = latest", current, latest, err)
	}
}
