package db_test

import (
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// TestCensus: the LMS table's rows (InnoDB's estimate), every record, and
// the records whose copy is in the trash bucket (not those on their way).
func TestCensus(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	if rows, records, holders, err := store.Census(ctx); err != nil || rows != 0 || records != 0 || holders != 0 {
		t.Fatalf("Census of empty tables = %d, %d, %d, %v", rows, records, holders, err)
	}

	ids := discover(t, store, sqlDB, "src", len(reconcile.States))
	for i, s := range reconcile.States {
		setRecord(t, sqlDB, ids[i], "state = ?", string(s))
	}
	const live = 20
	for i := range live {
		dbtest.InsertFile(t, sqlDB, "src", "live/"+string(rune('a'+i)), false)
	}
	exec(t, sqlDB, "ANALYZE TABLE files")
	rows, records, holders, err := store.Census(ctx)
	if err != nil {
		t.Fatalf("Census: %v", err)
	}
	if total := len(ids) + live; rows < total/2 || rows > 2*total {
		t.Errorf("Census: %d LMS rows, want about %d", rows, total)
	}
	if records != len(reconcile.States) || holders != len(reconcile.InTrashStates()) {
		t.Errorf("Census: %d records, %d in the trash; want %d, %d", records, holders, len(reconcile.States), len(reconcile.InTrashStates()))
	}
}

func TestCountUndiscovered(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{db.TrashFlag, db.TrashTimestamp} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			store, sqlDB, _ := setup(t, kind)
			ctx := t.Context()
			discover(t, store, sqlDB, "src", 3) // trashed, recorded
			for i := range 4 {
				dbtest.InsertFile(t, sqlDB, "src", "new/"+string(rune('a'+i)), true)
			}
			dbtest.InsertFile(t, sqlDB, "src", "live", false)
			flagToNull(t, sqlDB, kind, dbtest.InsertFile(t, sqlDB, "src", "never-flagged", false))
			// A recorded row whose flag the LMS cleared.
			restored := discover(t, store, sqlDB, "src2", 1)[0]
			dbtest.SetTrashed(t, sqlDB, restored, false)
			if n, err := store.CountUndiscovered(ctx); err != nil || n != 4 {
				t.Fatalf("CountUndiscovered = %d, %v; want 4", n, err)
			}
			rows, err := store.ScanTrashed(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.RecordTrashed(ctx, rows); err != nil {
				t.Fatal(err)
			}
			if n, err := store.CountUndiscovered(ctx); err != nil || n != 0 {
				t.Errorf("CountUndiscovered after recording them = %d, %v; want 0", n, err)
			}
		})
	}
}
