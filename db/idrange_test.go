package db_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// insertAt inserts a row of `files` with the given id, which may be 0 (an
// AUTO_INCREMENT column takes an inserted 0 for "the next id", an UPDATE
// does not).
func insertAt(t *testing.T, sqlDB *sql.DB, id any, key string, trashed bool) {
	t.Helper()
	flag := 0
	if trashed {
		flag = 1
	}
	if id == int64(0) {
		res, err := sqlDB.ExecContext(t.Context(), "INSERT INTO files (s3_key, trashed) VALUES (?, ?)", key, flag)
		if err != nil {
			t.Fatalf("insert %s: %v", key, err)
		}
		n, _ := res.LastInsertId()
		exec(t, sqlDB, "UPDATE files SET id = 0 WHERE id = ?", n)
		return
	}
	exec(t, sqlDB, "INSERT INTO files (id, s3_key, trashed) VALUES (?, ?, ?)", id, key, flag)
}

// scanFromStart reads every trashed row without a record, as discovery
// does: from reconcile.BeforeFirstLMSID, limit rows at a time.
func scanFromStart(t *testing.T, store *db.Store, limit int) []int64 {
	t.Helper()
	var ids []int64
	for after := reconcile.BeforeFirstLMSID; ; {
		page, err := store.ScanTrashed(t.Context(), after, limit)
		if err != nil {
			t.Fatalf("ScanTrashed(%d, %d): %v", after, limit, err)
		}
		for _, r := range page {
			ids = append(ids, r.LMSID)
		}
		if len(page) < limit {
			return ids
		}
		after = page[len(page)-1].LMSID
	}
}

// Rows with id 0 and negative ids are discovered, counted and recorded like
// any other, in id order; a scan after id 0 still means after it.
func TestScanTrashedZeroAndNegativeIDs(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	for _, r := range []struct {
		id      int64
		trashed bool
	}{{-9223372036854775807, true}, {-40, true}, {-3, false}, {0, true}, {5, true}, {6, false}} {
		insertAt(t, sqlDB, r.id, fmt.Sprintf("row %d", r.id), r.trashed)
	}
	want := []int64{-9223372036854775807, -40, 0, 5}
	for _, limit := range []int{1, 2, 100} {
		if got := scanFromStart(t, store, limit); !slices.Equal(got, want) {
			t.Errorf("limit %d: scan = %v, want %v", limit, got, want)
		}
	}
	if n, err := store.CountUndiscovered(t.Context()); err != nil || n != len(want) {
		t.Errorf("CountUndiscovered = %d, %v; want %d", n, err, len(want))
	}
	rows, err := store.ScanTrashed(t.Context(), 0, 100)
	if err != nil || len(rows) != 1 || rows[0].LMSID != 5 {
		t.Errorf("ScanTrashed(after 0) = %v, %v; want row 5 alone", rows, err)
	}

	all, err := store.ScanTrashed(t.Context(), reconcile.BeforeFirstLMSID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.RecordTrashed(t.Context(), all); err != nil || n != len(want) {
		t.Fatalf("RecordTrashed = %d, %v; want %d", n, err, len(want))
	}
	var recorded []int64
	rs, err := sqlDB.QueryContext(t.Context(), "SELECT lms_id FROM trash_objects WHERE state = 'pending' ORDER BY lms_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		recorded = append(recorded, id)
	}
	if !slices.Equal(recorded, want) {
		t.Errorf("pending records of LMS ids %v, want %v", recorded, want)
	}
	if got := scanFromStart(t, store, 100); len(got) != 0 {
		t.Errorf("after recording, the scan finds %v, want nothing", got)
	}
}

// createUnsigned makes `files` with a BIGINT UNSIGNED id, as some LMSs
// have, and returns its LMSTable.
func createUnsigned(t *testing.T, sqlDB *sql.DB) db.LMSTable {
	t.Helper()
	exec(t, sqlDB, `CREATE TABLE files (
		id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
		s3_key  VARCHAR(1024) COLLATE utf8mb4_bin NOT NULL,
		trashed TINYINT NOT NULL DEFAULT 0,
		INDEX files_key (s3_key(255))
	) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`)
	return db.LMSTable{Table: "files", IDColumn: "id", KeyColumn: "s3_key", TrashColumn: "trashed",
		TrashKind: db.TrashFlag, DefaultBucket: "lms"}
}

// A BIGINT UNSIGNED id column works while its ids are below 2^63. A row at
// or above 2^63 refuses the table with a message that names the table, the
// column, its type and what to do: at start (NewStore, CheckLMSTable), at
// the start of a pass (StartRun, which records no run), and where a scan or
// LiveRows meets one inserted since; never the driver's conversion error.
func TestUnsignedIDAtOrAbove2To63(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	lms := createUnsigned(t, sqlDB)
	exec(t, sqlDB, "INSERT INTO files (id, s3_key, trashed) VALUES (1, 'a', 1), (2, 'b', 1), (9223372036854775807, 'max', 1)")
	store, err := db.NewStore(t.Context(), sqlDB, lms)
	if err != nil {
		t.Fatalf("NewStore over an UNSIGNED id with every id below 2^63: %v", err)
	}
	if got := scanFromStart(t, store, 2); !slices.Equal(got, []int64{1, 2, 9223372036854775807}) {
		t.Errorf("scan = %v, want 1, 2 and 2^63-1", got)
	}
	// Records (a signed lms_id) join the UNSIGNED ids: recorded rows are
	// not found again.
	all, err := store.ScanTrashed(t.Context(), reconcile.BeforeFirstLMSID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.RecordTrashed(t.Context(), all); err != nil || n != 3 {
		t.Fatalf("RecordTrashed = %d, %v; want 3", n, err)
	}
	if got := scanFromStart(t, store, 2); len(got) != 0 {
		t.Errorf("after recording, the scan finds %v", got)
	}
	if _, err := store.StartRun(t.Context(), reconcile.TriggerManual, "test"); err != nil {
		t.Fatalf("StartRun: %v", err)
	}

	// The LMS inserts a row above 2^63 and a live row naming b.
	exec(t, sqlDB, "INSERT INTO files (id, s3_key, trashed) VALUES (9223372036854775813, 'high', 1), (18446744073709551615, 'b', 0)")
	wants := []string{`IDColumn: column "id" of table "files"`, "BIGINT", "UNSIGNED", "18446744073709551615", "2^63", "renumber", "TRASHD_LMS_ID_COLUMN"}

	_, err = db.NewStore(t.Context(), sqlDB, lms)
	wantError(t, err, wants...)
	_, err = db.CheckLMSTable(t.Context(), sqlDB, lms)
	wantError(t, err, wants...)

	var runs int
	if err := sqlDB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM trash_runs").Scan(&runs); err != nil {
		t.Fatal(err)
	}
	_, err = store.StartRun(t.Context(), reconcile.TriggerManual, "test")
	wantError(t, err, wants...)
	var after int
	if err := sqlDB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM trash_runs").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != runs {
		t.Errorf("trash_runs has %d rows after the refused start, had %d", after, runs)
	}

	// A scan whose next id is the row (inserted after the pass started)
	// ends in the same refusal. (A scan whose range reaches 2^63-1 is done
	// there, and never reads above it.)
	exec(t, sqlDB, "DELETE FROM files WHERE id = 9223372036854775807")
	rows, err := store.ScanTrashed(t.Context(), 2, 10)
	if len(rows) != 0 {
		t.Errorf("ScanTrashed(after 2) rows = %v, want none", rows)
	}
	wantError(t, err, `column "id" of table "files"`, "9223372036854775813", "2^63")
	if strings.Contains(err.Error(), "converting driver.Value") {
		t.Errorf("the driver's error reaches the message: %v", err)
	}
	_, err = store.CountUndiscovered(t.Context())
	wantError(t, err, "9223372036854775813", "2^63")

	_, _, err = liveRow(t, store, "lms", "b")
	wantError(t, err, "18446744073709551615", "2^63")
}

// The id -2^63 is below where every scan starts: the table is refused while
// a row has it, rather than that row passed over.
func TestSmallestBigintIDRefused(t *testing.T) {
	t.Parallel()
	sqlDB, _ := dbtest.Migrated(t)
	lms := dbtest.CreateFiles(t, sqlDB, db.TrashFlag)
	lms.DefaultBucket = "lms"
	exec(t, sqlDB, "INSERT INTO files (id, s3_key, trashed) VALUES (-9223372036854775808, 'lowest', 1), (7, 'x', 1)")
	_, err := db.NewStore(t.Context(), sqlDB, lms)
	wantError(t, err, `IDColumn: column "id" of table "files"`, "BIGINT", "-9223372036854775808", "renumber")
	exec(t, sqlDB, "UPDATE files SET id = -9223372036854775807 WHERE id = -9223372036854775808")
	store, err := db.NewStore(t.Context(), sqlDB, lms)
	if err != nil {
		t.Fatalf("NewStore with -2^63+1 as the smallest id: %v", err)
	}
	if got := scanFromStart(t, store, 10); !slices.Equal(got, []int64{-9223372036854775807, 7}) {
		t.Errorf("scan = %v, want -2^63+1 and 7", got)
	}
}
