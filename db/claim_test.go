package db_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

func TestClaimBatch(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ids := discover(t, store, sqlDB, "src", 5)

	recs := claim(t, store, "host-a", 3)
	if len(recs) != 3 {
		t.Fatalf("claimed %d, want 3", len(recs))
	}
	tokens := map[string]bool{}
	for i, r := range recs {
		if r.LMSID != ids[i] || r.State != reconcile.StatePending || r.Attempts != 1 ||
			r.Source.Bucket != "src" || r.Source.Key != fmt.Sprintf("k/%04d", i) {
			t.Errorf("record %d = %+v", i, r)
		}
		if r.Lease.Owner != "host-a" || len(r.Lease.Token) != 32 || tokens[r.Lease.Token] {
			t.Errorf("record %d lease = %+v; want owner host-a and a fresh 32-character token", i, r.Lease)
		}
		tokens[r.Lease.Token] = true
		row := readObject(t, sqlDB, r.ID)
		if row.LeaseToken.String != r.Lease.Token || !row.LeaseExpiresAt.Valid || row.Attempts != 1 {
			t.Errorf("row %d = %+v", r.ID, row)
		}
	}

	// Leased records are skipped; the rest are handed out.
	rest := claim(t, store, "host-b", 10)
	if len(rest) != 2 || rest[0].LMSID != ids[3] || rest[1].LMSID != ids[4] {
		t.Fatalf("second claim = %+v, want the 2 unleased records", rest)
	}
	if got := claim(t, store, "host-b", 10); len(got) != 0 {
		t.Fatalf("third claim = %+v, want none", got)
	}

	// An expired lease is claimable again, with a new token and one more attempt.
	expireLeases(t, sqlDB)
	again := claim(t, store, "host-c", 10)
	if len(again) != 5 {
		t.Fatalf("claim after expiry = %d records, want 5", len(again))
	}
	for _, r := range again {
		if r.Attempts != 2 || r.Lease.Owner != "host-c" || tokens[r.Lease.Token] {
			t.Errorf("reclaimed %+v: want attempts 2, owner host-c, a new token", r)
		}
	}
}

func TestClaimBatchSkipsNotDue(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ids := discover(t, store, sqlDB, "src", 6)
	exec(t, sqlDB, "UPDATE trash_objects SET next_attempt_at = NOW(6) + INTERVAL 1 HOUR WHERE lms_id = ?", ids[0])
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'in_trash' WHERE lms_id = ?", ids[1])
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'failed' WHERE lms_id = ?", ids[2])
	exec(t, sqlDB, "UPDATE trash_objects SET state = 'copied', trash_key = 'tk' WHERE lms_id = ?", ids[3])
	// Due longest ago first.
	exec(t, sqlDB, "UPDATE trash_objects SET next_attempt_at = NOW(6) - INTERVAL 1 HOUR WHERE lms_id = ?", ids[5])

	recs := claim(t, store, "h", 10)
	var got []int64
	for _, r := range recs {
		got = append(got, r.LMSID)
	}
	want := []int64{ids[5], ids[3], ids[4]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("claimed LMS ids %v, want %v", got, want)
	}
	if recs[1].State != reconcile.StateCopied || recs[1].TrashKey != "tk" {
		t.Errorf("copied record = %+v", recs[1])
	}
}

func TestClaimBatchConcurrent(t *testing.T) {
	t.Parallel()
	sqlDB, opts := dbtest.Migrated(t)
	lms := dbtest.CreateFiles(t, sqlDB, db.TrashFlag)
	store, err := db.NewStore(t.Context(), sqlDB, lms)
	if err != nil {
		t.Fatal(err)
	}
	discover(t, store, sqlDB, "src", 300)

	// Four claimers, each with a connection pool of its own, as on four hosts.
	var stores []*db.Store
	for range 4 {
		other, err := db.Open(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		s, err := db.NewStore(t.Context(), other, lms)
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}

	var (
		mu    sync.Mutex
		owner = map[int64]string{}
		wg    sync.WaitGroup
	)
	for i, s := range stores {
		name := fmt.Sprintf("host-%d", i)
		wg.Go(func() {
			for {
				recs, err := s.ClaimBatch(t.Context(), name, 7, time.Minute)
				if err != nil {
					t.Errorf("%s: ClaimBatch: %v", name, err)
					return
				}
				if len(recs) == 0 {
					return
				}
				mu.Lock()
				for _, r := range recs {
					if prev, ok := owner[r.ID]; ok {
						t.Errorf("record %d claimed by %s and %s", r.ID, prev, name)
					}
					owner[r.ID] = name
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owner) != 300 {
		t.Errorf("%d records claimed, want 300", len(owner))
	}
	var over int
	if err := sqlDB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM trash_objects WHERE attempts <> 1").Scan(&over); err != nil {
		t.Fatal(err)
	}
	if over != 0 {
		t.Errorf("%d records have attempts <> 1", over)
	}
}

func TestClaimBatchArguments(t *testing.T) {
	t.Parallel()
	store, _, _ := setup(t, db.TrashFlag)
	for _, c := range []struct {
		owner string
		limit int
		lease time.Duration
	}{{"", 1, time.Minute}, {"h", 0, time.Minute}, {"h", 1, 0}} {
		if _, err := store.ClaimBatch(t.Context(), c.owner, c.limit, c.lease); err == nil {
			t.Errorf("ClaimBatch(%q, %d, %s) succeeded", c.owner, c.limit, c.lease)
		}
	}
}

func TestRenewLease(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", 1)
	rec := claim(t, store, "h", 1)[0]

	if err := store.RenewLease(t.Context(), rec, time.Hour); err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	var inHour bool
	if err := sqlDB.QueryRowContext(t.Context(), "SELECT lease_expires_at > NOW(6) + INTERVAL 59 MINUTE FROM trash_objects WHERE id = ?", rec.ID).Scan(&inHour); err != nil {
		t.Fatal(err)
	}
	if !inHour {
		t.Error("RenewLease(1h) did not move the expiry an hour ahead")
	}

	// Expired but not taken over: still held.
	expireLeases(t, sqlDB)
	if err := store.RenewLease(t.Context(), rec, time.Minute); err != nil {
		t.Fatalf("RenewLease of an expired, untaken lease: %v", err)
	}
	// Taken over: lost.
	expireLeases(t, sqlDB)
	claim(t, store, "other", 1)
	if err := store.RenewLease(t.Context(), rec, time.Minute); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Fatalf("RenewLease after takeover = %v, want ErrLeaseLost", err)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", 1)
	rec := claim(t, store, "h", 1)[0]
	if err := store.Record(t.Context(), rec, reconcile.Step{To: reconcile.StateCopied, TrashKey: "tk"}); err != nil {
		t.Fatal(err)
	}
	if err := store.Release(t.Context(), rec); err != nil {
		t.Fatalf("Release: %v", err)
	}
	row := readObject(t, sqlDB, rec.ID)
	if row.State != "copied" || row.LeaseOwner.Valid || row.LeaseToken.Valid || row.LeaseExpiresAt.Valid || row.Attempts != 1 {
		t.Errorf("after Release: %+v; want state copied, no lease, attempts 1", row)
	}
	if err := store.Release(t.Context(), rec); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("Release twice = %v, want ErrLeaseLost", err)
	}
	// Claimable again at once.
	again := claim(t, store, "h2", 1)
	if len(again) != 1 || again[0].ID != rec.ID || again[0].Attempts != 2 {
		t.Errorf("claim after Release = %+v", again)
	}
}
