package db_test

import (
	"testing"
	"time"
)

// LeaseOf names the worker holding a record's lease while it holds it, and
// nobody once the lease lapsed or for a row without a record.
func TestLeaseOf(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, "flag")
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 2)

	if _, held, err := store.LeaseOf(ctx, ids[0]); err != nil || held {
		t.Fatalf("before any claim: held %v, %v; want nobody", held, err)
	}
	recs, err := store.ClaimBatch(ctx, "web7:4242:beef", 1, 10*time.Minute)
	if err != nil || len(recs) != 1 {
		t.Fatalf("claim: %d records, %v", len(recs), err)
	}
	h, held, err := store.LeaseOf(ctx, recs[0].LMSID)
	if err != nil || !held {
		t.Fatalf("claimed: held %v, %v; want the claim's lease", held, err)
	}
	if h.Owner != "web7:4242:beef" || h.Left <= 9*time.Minute || h.Left > 10*time.Minute || h.Until.IsZero() {
		t.Errorf("lease %+v: want owner web7:4242:beef, about 10m left", h)
	}
	other := ids[0]
	if other == recs[0].LMSID {
		other = ids[1]
	}
	if _, held, err := store.LeaseOf(ctx, other); err != nil || held {
		t.Errorf("the record not claimed: held %v, %v", held, err)
	}
	if _, held, err := store.LeaseOf(ctx, 0); err != nil || held {
		t.Errorf("LMS row 0, no record: held %v, %v", held, err)
	}

	// A lease past its expiry, by the database clock, is nobody's.
	if _, err := sqlDB.ExecContext(ctx, "UPDATE trash_objects SET lease_expires_at = NOW(6) - INTERVAL 1 SECOND WHERE lms_id = ?", recs[0].LMSID); err != nil {
		t.Fatal(err)
	}
	if _, held, err := store.LeaseOf(ctx, recs[0].LMSID); err != nil || held {
		t.Errorf("lapsed lease: held %v, %v; want nobody", held, err)
	}
}
