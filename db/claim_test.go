package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
		// A claim is not an attempt: only a failed step counts one.
		if r.LMSID != ids[i] || r.State != reconcile.StatePending || r.Attempts != 0 ||
			r.Source.Bucket != "src" || r.Source.Key != fmt.Sprintf("k/%04d", i) {
			t.Errorf("record %d = %+v", i, r)
		}
		if r.Lease.Owner != "host-a" || len(r.Lease.Token) != 32 || tokens[r.Lease.Token] {
			t.Errorf("record %d lease = %+v; want owner host-a and a fresh 32-character token", i, r.Lease)
		}
		tokens[r.Lease.Token] = true
		row := readObject(t, sqlDB, r.ID)
		if row.LeaseToken.String != r.Lease.Token || !row.LeaseExpiresAt.Valid || row.Attempts != 0 {
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

	// One attempt fails and keeps its lease; the others' holders vanish.
	if err := store.Record(t.Context(), recs[0], reconcile.Step{To: reconcile.StatePending, Error: "boom", Failed: true}); err != nil {
		t.Fatalf("Record a failed attempt: %v", err)
	}

	// An expired lease is claimable again, with a new token; the claim adds
	// no attempt, so only the failed one is counted.
	expireLeases(t, sqlDB)
	again := claim(t, store, "host-c", 10)
	if len(again) != 5 {
		t.Fatalf("claim after expiry = %d records, want 5", len(again))
	}
	for _, r := range again {
		want := 0
		if r.ID == recs[0].ID {
			want = 1
		}
		if r.Attempts != want || r.Lease.Owner != "host-c" || tokens[r.Lease.Token] {
			t.Errorf("reclaimed %+v: want attempts %d, owner host-c, a new token", r, want)
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

// TestClaimBatchSkipsLockedRows: a row another claimer has locked (in the
// middle of its claim on another host) is skipped, not waited for, so that
// no host's claim waits on another's.
func TestClaimBatchSkipsLockedRows(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ids := discover(t, store, sqlDB, "src", 4)
	// The locked record is the one due first: a claim that waited for it
	// could not get past it.
	exec(t, sqlDB, "UPDATE trash_objects SET next_attempt_at = NOW(6) - INTERVAL 1 HOUR WHERE lms_id = ?", ids[0])
	locked := recordOf(t, store, ids[0])

	tx, err := sqlDB.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(t.Context(), "SELECT id FROM trash_objects WHERE id = ? FOR UPDATE", locked.ID).Scan(&id); err != nil {
		t.Fatalf("lock record %d: %v", locked.ID, err)
	}

	const wait = 5 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	start := time.Now()
	recs, err := store.ClaimBatch(ctx, "h", 10, time.Minute)
	if err != nil {
		t.Fatalf("ClaimBatch while record %d is locked = %v after %s; want the other records at once: a claim skips locked rows, it does not wait for them",
			locked.ID, err, time.Since(start).Round(time.Millisecond))
	}
	var got []int64
	for _, r := range recs {
		got = append(got, r.LMSID)
	}
	if want := ids[1:]; !slices.Equal(got, want) {
		t.Errorf("ClaimBatch while LMS row %d's record is locked took LMS rows %v, want %v", ids[0], got, want)
	}

	// Unlocked, it is claimable.
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if again := claim(t, store, "h2", 10); len(again) != 1 || again[0].ID != locked.ID {
		t.Errorf("ClaimBatch after the lock was released = %+v, want record %d alone", again, locked.ID)
	}
}

func TestClaimBatchConcurrent(t *testing.T) {
	t.Parallel()
	const records = 300
	sqlDB, opts := dbtest.Migrated(t)
	lms := dbtest.CreateFiles(t, sqlDB, db.TrashFlag)
	store, err := db.NewStore(t.Context(), sqlDB, lms)
	if err != nil {
		t.Fatal(err)
	}
	discover(t, store, sqlDB, "src", records)

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

	// Leases of an hour: none lapses during the test, so every record is
	// handed out exactly once and the claimers run dry. A claim that handed
	// out leased records would never run dry: the first record claimed twice
	// stops them all, and the deadline bounds the rest.
	const deadline = time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	var (
		mu    sync.Mutex
		owner = map[int64]string{}
		wg    sync.WaitGroup
	)
	for i, s := range stores {
		name := fmt.Sprintf("host-%d", i)
		wg.Go(func() {
			for {
				recs, err := s.ClaimBatch(ctx, name, 7, time.Hour)
				switch {
				case ctx.Err() != nil:
					return // stopped by another claimer, or the deadline
				case err != nil:
					t.Errorf("%s: ClaimBatch: %v", name, err)
					cancel()
					return
				case len(recs) == 0:
					return
				}
				mu.Lock()
				for _, r := range recs {
					if prev, ok := owner[r.ID]; ok {
						t.Errorf("record %d claimed by %s and then by %s while %s's lease was live", r.ID, prev, name, prev)
						cancel()
					}
					owner[r.ID] = name
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("claimers still claiming after %s (%d of %d records claimed): does the claim hand out records whose lease is live?",
			deadline, len(owner), records)
	}
	if len(owner) != records {
		t.Errorf("%d records claimed, want %d", len(owner), records)
	}
	// A claim is not an attempt.
	var counted int
	if err := sqlDB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM trash_objects WHERE attempts <> 0").Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted != 0 {
		t.Errorf("%d records have attempts <> 0 after being claimed once", counted)
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

	if err := renewLease(t, store, rec, time.Hour); err != nil {
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
	if err := renewLease(t, store, rec, time.Minute); err != nil {
		t.Fatalf("RenewLease of an expired, untaken lease: %v", err)
	}
	// Taken over: lost.
	expireLeases(t, sqlDB)
	claim(t, store, "other", 1)
	if err := renewLease(t, store, rec, time.Minute); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Fatalf("RenewLease after takeover = %v, want ErrLeaseLost", err)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	discover(t, store, sqlDB, "src", 1)
	rec := claim(t, store, "h", 1)[0]
	// An attempt that failed: a release neither adds to it nor forgets it.
	if err := store.Record(t.Context(), rec, reconcile.Step{To: reconcile.StateCopied, TrashKey: "tk", Error: "boom", Failed: true}); err != nil {
		t.Fatal(err)
	}
	if err := store.Release(t.Context(), rec); err != nil {
		t.Fatalf("Release: %v", err)
	}
	row := readObject(t, sqlDB, rec.ID)
	if row.State != "copied" || row.LeaseOwner.Valid || row.LeaseToken.Valid || row.LeaseExpiresAt.Valid || row.Attempts != 1 ||
		row.LastError.String != "boom" {
		t.Errorf("after Release: %+v; want state copied, no lease, the failed attempt and its error kept", row)
	}
	if err := store.Release(t.Context(), rec); !errors.Is(err, reconcile.ErrLeaseLost) {
		t.Errorf("Release twice = %v, want ErrLeaseLost", err)
	}
	// Claimable again at once, the claim counting no attempt.
	again := claim(t, store, "h2", 1)
	if len(again) != 1 || again[0].ID != rec.ID || again[0].Attempts != 1 || again[0].LastError != "boom" {
		t.Errorf("claim after Release = %+v; want record %d with its 1 failed attempt", again, rec.ID)
	}
}
