package db_test

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

const day = 24 * time.Hour

// setRecord runs UPDATE trash_objects SET set on the record of LMS row
// lmsID: how the tests put records into states the API has no shortcut for.
func setRecord(t *testing.T, sqlDB *sql.DB, lmsID int64, set string, args ...any) {
	t.Helper()
	exec(t, sqlDB, "UPDATE trash_objects SET "+set+" WHERE lms_id = ?", append(args, lmsID)...)
}

// putCopy puts the record of LMS row lmsID in state, with a trash copy of
// size bytes made days ago by the database clock.
func putCopy(t *testing.T, sqlDB *sql.DB, lmsID int64, state reconcile.State, size int64, days int) {
	t.Helper()
	setRecord(t, sqlDB, lmsID, "state = ?, trash_bucket = 'trash', trash_key = CONCAT('trash/', source_key),"+
		" source_size = ?, copied_at = NOW(6) - INTERVAL ? DAY", string(state), size, days)
}

// leaseRecord gives the record of LMS row lmsID a live lease of another
// host, as a worker in the middle of its work holds it.
func leaseRecord(t *testing.T, sqlDB *sql.DB, lmsID int64) {
	t.Helper()
	setRecord(t, sqlDB, lmsID, "lease_owner = 'other-host', lease_token = MD5(lms_id), lease_expires_at = NOW(6) + INTERVAL 1 HOUR")
}

// glacierRow is what the glacier tests look at in a trash_objects row.
type glacierRow struct {
	State                                     string
	Attempts                                  int
	Due                                       bool // next_attempt_at <= NOW(6)
	RestoreRequestedAt, CheckedAt, ArchivedAt sql.NullTime
	CopiedAt, FinishedAt, LeaseExpiresAt      sql.NullTime
	Class, LastError, LeaseToken              sql.NullString
	FailingSince                              sql.NullTime
	UpdatedAt                                 time.Time
}

func readGlacier(t *testing.T, sqlDB *sql.DB, lmsID int64) glacierRow {
	t.Helper()
	var r glacierRow
	err := sqlDB.QueryRowContext(t.Context(), `SELECT state, attempts, next_attempt_at <= NOW(6),
		restore_requested_at, transition_checked_at, archived_at, copied_at, finished_at, lease_expires_at,
		storage_class, last_error, lease_token, failing_since, updated_at
		FROM trash_objects WHERE lms_id = ?`, lmsID).Scan(&r.State, &r.Attempts, &r.Due,
		&r.RestoreRequestedAt, &r.CheckedAt, &r.ArchivedAt, &r.CopiedAt, &r.FinishedAt, &r.LeaseExpiresAt,
		&r.Class, &r.LastError, &r.LeaseToken, &r.FailingSince, &r.UpdatedAt)
	if err != nil {
		t.Fatalf("read the record of LMS row %d: %v", lmsID, err)
	}
	return r
}

func recordOf(t *testing.T, store *db.Store, lmsID int64) reconcile.Record {
	t.Helper()
	rec, err := store.RecordOf(t.Context(), lmsID)
	if err != nil {
		t.Fatalf("RecordOf(%d): %v", lmsID, err)
	}
	return rec
}

// flagToNull lets the files table's trash column hold NULL, and sets it to
// NULL for row id: an LMS that never set the flag.
func flagToNull(t *testing.T, sqlDB *sql.DB, kind string, id int64) {
	t.Helper()
	if kind == db.TrashFlag {
		exec(t, sqlDB, "ALTER TABLE files MODIFY trashed TINYINT NULL DEFAULT 0")
		exec(t, sqlDB, "UPDATE files SET trashed = NULL WHERE id = ?", id)
		return
	}
	exec(t, sqlDB, "UPDATE files SET trashed_at = NULL WHERE id = ?", id)
}

func TestRequestRestores(t *testing.T) {
	t.Parallel()
	// What the LMS did to a recorded row, and whether its record is marked.
	type lmsRow string
	const (
		cleared lmsRow = "flag cleared"
		flagged lmsRow = "still flagged"
		null    lmsRow = "flag NULL"
		deleted lmsRow = "deleted"
	)
	type restoreCase struct {
		state reconcile.State
		row   lmsRow
		want  bool
	}
	cases := []restoreCase{
		{reconcile.StatePending, cleared, true},
		{reconcile.StateShared, cleared, true},
		{reconcile.StateCopied, cleared, true},
		{reconcile.StateInTrash, cleared, true},
		{reconcile.StateArchived, cleared, true},
		{reconcile.StateInTrash, null, true},
		{reconcile.StatePending, flagged, false},
		{reconcile.StateShared, flagged, false},
		{reconcile.StateInTrash, flagged, false},
		{reconcile.StateArchived, flagged, false},
		{reconcile.StateInTrash, deleted, false}, // orphaned, not restored: MarkOrphans' work
		{reconcile.StateRestoring, cleared, false},
		{reconcile.StateRestored, cleared, false},
		{reconcile.StateRestoreFailed, cleared, false},
		{reconcile.StateMissing, cleared, false},
		{reconcile.StateFailed, cleared, true}, // its trash copy may be the only one left
		{reconcile.StateFailed, flagged, false},
		{reconcile.StateOrphaned, cleared, false},
		{reconcile.StateExpired, cleared, false},
	}
	for _, kind := range []string{db.TrashFlag, db.TrashTimestamp} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			store, sqlDB, _ := setup(t, kind)
			ids := discover(t, store, sqlDB, "src", len(cases))
			wantMarked := 0
			for i, c := range cases {
				putCopy(t, sqlDB, ids[i], c.state, 1000, 1)
				// Not due, and tried before: a request makes it due at once
				// and starts the attempts over.
				setRecord(t, sqlDB, ids[i], "attempts = 5, failing_since = NOW(6) - INTERVAL 1 DAY, next_attempt_at = NOW(6) + INTERVAL 1 HOUR")
				switch c.row {
				case cleared:
					dbtest.SetTrashed(t, sqlDB, ids[i], false)
				case null:
					flagToNull(t, sqlDB, kind, ids[i])
				case deleted:
					exec(t, sqlDB, "DELETE FROM files WHERE id = ?", ids[i])
				}
				if c.want {
					wantMarked++
				}
			}

			n, err := store.RequestRestores(t.Context())
			if err != nil {
				t.Fatalf("RequestRestores: %v", err)
			}
			if n != wantMarked {
				t.Errorf("RequestRestores marked %d, want %d", n, wantMarked)
			}
			first := make([]glacierRow, len(cases))
			for i, c := range cases {
				rec := recordOf(t, store, ids[i])
				row := readGlacier(t, sqlDB, ids[i])
				first[i] = row
				if rec.RestoreRequested != c.want || row.RestoreRequestedAt.Valid != c.want {
					t.Errorf("%s record, LMS row %v: RestoreRequested %v (restore_requested_at %v), want %v",
						c.state, c.row, rec.RestoreRequested, row.RestoreRequestedAt, c.want)
				}
				if string(rec.State) != string(c.state) {
					t.Errorf("%s record changed state to %s", c.state, rec.State)
				}
				switch {
				case c.want && (row.Attempts != 0 || row.FailingSince.Valid || !row.Due):
					t.Errorf("marked %s record: attempts %d, failing since %v, due %v; want 0 attempts, not failing and due now",
						c.state, row.Attempts, row.FailingSince, row.Due)
				case !c.want && (row.Attempts != 5 || !row.FailingSince.Valid || row.Due):
					t.Errorf("unmarked %s record: attempts %d, failing since %v, due %v; want it untouched",
						c.state, row.Attempts, row.FailingSince, row.Due)
				}
			}

			// Marked once: a second call finds nothing new and keeps the
			// time of the first request.
			if n, err := store.RequestRestores(t.Context()); err != nil || n != 0 {
				t.Errorf("second RequestRestores = %d, %v; want 0", n, err)
			}
			for i := range cases {
				if row := readGlacier(t, sqlDB, ids[i]); row.RestoreRequestedAt != first[i].RestoreRequestedAt {
					t.Errorf("%s record: restore_requested_at %v, then %v", cases[i].state, first[i].RestoreRequestedAt, row.RestoreRequestedAt)
				}
			}

			// A flag cleared later is marked by a later call.
			later := slices.IndexFunc(cases, func(c restoreCase) bool {
				return c.state == reconcile.StateInTrash && c.row == flagged
			})
			dbtest.SetTrashed(t, sqlDB, ids[later], false)
			if n, err := store.RequestRestores(t.Context()); err != nil || n != 1 {
				t.Errorf("RequestRestores after one more flag was cleared = %d, %v; want 1", n, err)
			}
			if !recordOf(t, store, ids[later]).RestoreRequested {
				t.Error("the record whose flag was cleared later is not marked")
			}
		})
	}
}

// TestRequestRestoresFlagValues: any non-zero flag is trashed, zero and
// NULL are not.
func TestRequestRestoresFlagValues(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ids := discover(t, store, sqlDB, "src", 4)
	exec(t, sqlDB, "ALTER TABLE files MODIFY trashed TINYINT NULL DEFAULT 0")
	for i, v := range []any{nil, 0, -1, 2} {
		putCopy(t, sqlDB, ids[i], reconcile.StateInTrash, 1, 1)
		exec(t, sqlDB, "UPDATE files SET trashed = ? WHERE id = ?", v, ids[i])
	}
	if n, err := store.RequestRestores(t.Context()); err != nil || n != 2 {
		t.Fatalf("RequestRestores = %d, %v; want 2 (the NULL and the 0 flag)", n, err)
	}
	for i, want := range []bool{true, true, false, false} {
		if got := recordOf(t, store, ids[i]).RestoreRequested; got != want {
			t.Errorf("record %d: RestoreRequested %v, want %v", i, got, want)
		}
	}
}

func TestRequestRestore(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashTimestamp)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 5)
	archivedID, failedID, restoredID, pendingID, flaggedID := ids[0], ids[1], ids[2], ids[3], ids[4]
	putCopy(t, sqlDB, archivedID, reconcile.StateArchived, 1000, 100)
	setRecord(t, sqlDB, archivedID, "attempts = 3, failing_since = NOW(6) - INTERVAL 1 DAY, next_attempt_at = NOW(6) + INTERVAL 1 HOUR")
	putCopy(t, sqlDB, failedID, reconcile.StateRestoreFailed, 1000, 100)
	setRecord(t, sqlDB, failedID, "restore_requested_at = NOW(6) - INTERVAL 1 DAY, finished_at = NOW(6), last_error = 'copy back: AccessDenied', attempts = 9")
	putCopy(t, sqlDB, restoredID, reconcile.StateRestored, 1000, 100)
	setRecord(t, sqlDB, restoredID, "finished_at = NOW(6), restored_at = NOW(6), attempts = 2")
	putCopy(t, sqlDB, flaggedID, reconcile.StateArchived, 1000, 100)
	setRecord(t, sqlDB, flaggedID, "attempts = 3, next_attempt_at = NOW(6) + INTERVAL 1 HOUR")
	// The LMS restored these rows from its trash, or ops cleared the flag.
	for _, id := range ids[:4] {
		dbtest.SetTrashed(t, sqlDB, id, false)
	}

	// Still flagged: refused, with what to do, and nothing changed (the
	// next pass would move the file again, undoing the restore).
	before := readGlacier(t, sqlDB, flaggedID)
	_, err := store.RequestRestore(ctx, flaggedID)
	if !errors.Is(err, reconcile.ErrPermanent) {
		t.Errorf("RequestRestore of a row still trashed = %v, want ErrPermanent", err)
	}
	wantError(t, err, fmt.Sprintf("LMS row %d is still trashed in files", flaggedID), "clear its trash flag in the LMS first")
	if after := readGlacier(t, sqlDB, flaggedID); after != before {
		t.Errorf("a refused RequestRestore changed the record:\n%+v\n%+v", before, after)
	}

	// Cleared: marked for restore, due now, the attempts started over.
	rec, err := store.RequestRestore(ctx, archivedID)
	if err != nil {
		t.Fatalf("RequestRestore: %v", err)
	}
	if rec.LMSID != archivedID || rec.State != reconcile.StateArchived || !rec.RestoreRequested || rec.Attempts != 0 || rec.FailingFor != 0 ||
		rec.Source.Bucket != "src" || rec.TrashKey != "trash/"+rec.Source.Key {
		t.Errorf("RequestRestore of an archived row = %+v", rec)
	}
	row := readGlacier(t, sqlDB, archivedID)
	if !row.RestoreRequestedAt.Valid || !row.Due || row.Attempts != 0 || row.FailingSince.Valid {
		t.Errorf("row after RequestRestore: %+v; want restore_requested_at, due now, 0 attempts, not failing", row)
	}
	// Asked again: still requested, since the first time.
	if _, err := store.RequestRestore(ctx, archivedID); err != nil {
		t.Fatalf("RequestRestore again: %v", err)
	}
	if again := readGlacier(t, sqlDB, archivedID); again.RestoreRequestedAt != row.RestoreRequestedAt {
		t.Errorf("restore_requested_at moved from %v to %v", row.RestoreRequestedAt, again.RestoreRequestedAt)
	}

	// A failed restore asked for again starts over.
	rec, err = store.RequestRestore(ctx, failedID)
	if err != nil {
		t.Fatalf("RequestRestore of a failed restore: %v", err)
	}
	if rec.State != reconcile.StateRestoring || !rec.RestoreRequested || rec.Attempts != 0 {
		t.Errorf("RequestRestore of a failed restore = %+v; want restoring, requested, 0 attempts", rec)
	}
	if row := readGlacier(t, sqlDB, failedID); row.State != "restoring" || row.FinishedAt.Valid || !row.Due {
		t.Errorf("row after restarting a failed restore: %+v; want restoring, no finished_at, due now", row)
	}

	// Done already: reported as it is, not marked again.
	rec, err = store.RequestRestore(ctx, restoredID)
	if err != nil {
		t.Fatalf("RequestRestore of a restored row: %v", err)
	}
	if rec.State != reconcile.StateRestored || rec.RestoreRequested || rec.Attempts != 2 {
		t.Errorf("RequestRestore of a restored row = %+v; want it untouched", rec)
	}

	// A pending record is taken before it is ever moved.
	if rec, err := store.RequestRestore(ctx, pendingID); err != nil || rec.State != reconcile.StatePending || !rec.RestoreRequested {
		t.Errorf("RequestRestore of a pending row = %+v, %v", rec, err)
	}

	// An LMS row that trashd never recorded (it was never trashed).
	untrashed := dbtest.InsertFile(t, sqlDB, "src", "never/trashed", false)
	_, err = store.RequestRestore(ctx, untrashed)
	if !errors.Is(err, reconcile.ErrNotFound) || !strings.Contains(err.Error(), fmt.Sprint(untrashed)) {
		t.Errorf("RequestRestore of an unrecorded row = %v; want ErrNotFound naming the row", err)
	}

	// An LMS row that does not exist: refused, naming it.
	_, err = store.RequestRestore(ctx, 987654)
	if !errors.Is(err, reconcile.ErrPermanent) {
		t.Errorf("RequestRestore of a row that does not exist = %v, want ErrPermanent", err)
	}
	wantError(t, err, "LMS row 987654 does not exist in files")
}

func TestRecordOf(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 2)
	rec := claim(t, store, "h", 1)[0]
	src := reconcile.Object{Bucket: "src", Key: "k/0000", VersionID: "v1", Size: 77, ETag: "e-1",
		Checksum: reconcile.Checksum{Algorithm: "CRC32", Value: "AAAAAA=="}}
	copied := reconcile.Object{Bucket: "trash", Key: "trash/k/0000", Size: 77, ETag: "e-2",
		Checksum: reconcile.Checksum{Algorithm: "CRC32", Value: "AAAAAA=="}}
	step := reconcile.Step{To: reconcile.StateCopied, Source: &src, TrashKey: "trash/k/0000", Copy: &copied, Error: "slow", Failed: true,
		Upload: &reconcile.Upload{Key: "k/0000", ID: "up-1"}}
	if err := store.Record(ctx, rec, step); err != nil {
		t.Fatal(err)
	}

	got, err := store.RecordOf(ctx, ids[0])
	if err != nil {
		t.Fatalf("RecordOf: %v", err)
	}
	// Failing since the step, by the database clock: a moment ago.
	if got.FailingFor < 0 || got.FailingFor > time.Minute {
		t.Errorf("RecordOf: FailingFor %s, want a moment", got.FailingFor)
	}
	got.FailingFor = 0
	want := reconcile.Record{ID: rec.ID, LMSID: ids[0], State: reconcile.StateCopied, Source: src, TrashKey: "trash/k/0000",
		Copy: copied, Attempts: 1, Upload: reconcile.Upload{Key: "k/0000", ID: "up-1"}, LastError: "slow", Lease: rec.Lease}
	if got != want {
		t.Errorf("RecordOf = %+v\nwant       %+v", got, want)
	}

	if got := recordOf(t, store, ids[1]); got.State != reconcile.StatePending || got.Lease != (reconcile.Lease{}) || got.Attempts != 0 {
		t.Errorf("RecordOf an unclaimed record = %+v", got)
	}

	_, err = store.RecordOf(ctx, 424242)
	if !errors.Is(err, reconcile.ErrNotFound) || !strings.Contains(err.Error(), "424242") {
		t.Errorf("RecordOf an unknown row = %v; want ErrNotFound naming the row", err)
	}
}

func TestMarkOrphans(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	cases := []struct {
		state       reconcile.State
		rowDeleted  bool
		leased      bool
		wantOrphans bool
	}{
		{reconcile.StateInTrash, true, false, true},
		{reconcile.StateArchived, true, false, true},
		{reconcile.StateInTrash, false, false, false},
		{reconcile.StateArchived, false, false, false},
		{reconcile.StateInTrash, true, true, false}, // a worker is on it: next time
		{reconcile.StatePending, true, false, false},
		{reconcile.StateCopied, true, false, false},
		{reconcile.StateRestoring, true, false, false},
		{reconcile.StateRestored, true, false, false},
		{reconcile.StateExpired, true, false, false},
		{reconcile.StateFailed, true, false, false},
	}
	ids := discover(t, store, sqlDB, "src", len(cases))
	want := 0
	for i, c := range cases {
		putCopy(t, sqlDB, ids[i], c.state, 10, 1)
		if c.rowDeleted {
			exec(t, sqlDB, "DELETE FROM files WHERE id = ?", ids[i])
		}
		if c.leased {
			leaseRecord(t, sqlDB, ids[i])
		}
		if c.wantOrphans {
			want++
		}
	}

	n, err := markOrphans(t, store)
	if err != nil {
		t.Fatalf("MarkOrphans: %v", err)
	}
	if n != want {
		t.Errorf("MarkOrphans = %d, want %d", n, want)
	}
	for i, c := range cases {
		row := readGlacier(t, sqlDB, ids[i])
		switch {
		case c.wantOrphans && (row.State != "orphaned" || !row.FinishedAt.Valid):
			t.Errorf("%s record of a deleted row: %+v; want orphaned and finished", c.state, row)
		case !c.wantOrphans && row.State != string(c.state):
			t.Errorf("%s record (row deleted %v, leased %v) became %s", c.state, c.rowDeleted, c.leased, row.State)
		}
	}
	if n, err := markOrphans(t, store); err != nil || n != 0 {
		t.Errorf("second MarkOrphans = %d, %v; want 0", n, err)
	}
}

func TestClaimRestores(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	cases := []struct {
		state     reconcile.State
		requested bool
		claimable bool
	}{
		{reconcile.StatePending, true, true},
		{reconcile.StateCopied, true, true},
		{reconcile.StateInTrash, true, true},
		{reconcile.StateArchived, true, true},
		{reconcile.StateRestoring, true, true},
		{reconcile.StateRestoreFailed, true, false},
		{reconcile.StateRestored, true, false},
		{reconcile.StatePending, false, false},
		{reconcile.StateCopied, false, false},
		{reconcile.StateInTrash, false, false},
	}
	ids := discover(t, store, sqlDB, "src", len(cases))
	var want []int64
	for i, c := range cases {
		putCopy(t, sqlDB, ids[i], c.state, 10, 1)
		if c.requested {
			// In id order, a second apart: the order they are due in.
			setRecord(t, sqlDB, ids[i], "restore_requested_at = NOW(6), next_attempt_at = NOW(6) - INTERVAL ? SECOND", len(cases)-i)
		}
		if c.claimable {
			want = append(want, ids[i])
		}
	}

	// A pass never takes a record the LMS wants back.
	moves := claim(t, store, "mover", 100)
	if len(moves) != 2 || moves[0].LMSID != ids[7] || moves[1].LMSID != ids[8] {
		t.Errorf("ClaimBatch = %+v; want only the two unrequested pending and copied records", moves)
	}

	recs, err := store.ClaimRestores(ctx, "restorer", 100, time.Minute)
	if err != nil {
		t.Fatalf("ClaimRestores: %v", err)
	}
	var got []int64
	for _, r := range recs {
		got = append(got, r.LMSID)
		if !r.RestoreRequested || r.Lease.Owner != "restorer" || len(r.Lease.Token) != 32 || r.Attempts != 0 {
			t.Errorf("claimed restore %+v; want requested, leased to restorer, no attempt counted", r)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("ClaimRestores took LMS rows %v, want %v (due first)", got, want)
	}
	if again, err := store.ClaimRestores(ctx, "restorer-2", 100, time.Minute); err != nil || len(again) != 0 {
		t.Errorf("ClaimRestores while leased = %+v, %v; want none", again, err)
	}

	// One restore attempt fails; its holder keeps the lease until it lapses.
	failing := slices.IndexFunc(recs, func(r reconcile.Record) bool { return r.LMSID == want[1] })
	if err := store.Record(ctx, recs[failing], reconcile.Step{To: recs[failing].State, Error: "SlowDown", Failed: true}); err != nil {
		t.Fatal(err)
	}

	// A limit, and a record not yet due; the claim counts no attempt.
	expireLeases(t, sqlDB)
	setRecord(t, sqlDB, want[0], "next_attempt_at = NOW(6) + INTERVAL 1 HOUR")
	two, err := store.ClaimRestores(ctx, "restorer-3", 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(two) != 2 || two[0].LMSID != want[1] || two[1].LMSID != want[2] || two[0].Attempts != 1 || two[1].Attempts != 0 ||
		two[0].Lease.Owner != "restorer-3" {
		t.Errorf("ClaimRestores(limit 2) = %+v; want LMS rows %v, with 1 and 0 failed attempts", two, want[1:3])
	}
	if _, err := store.ClaimRestores(ctx, "", 1, time.Minute); err == nil {
		t.Error("ClaimRestores without an owner succeeded")
	}

	// Requested after a pass claimed it: the pass's claim does not block the
	// restore for longer than its lease, and the next pass skips it.
	expireLeases(t, sqlDB)
	exec(t, sqlDB, "UPDATE trash_objects SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL")
	dbtest.SetTrashed(t, sqlDB, ids[7], false)
	if _, err := store.RequestRestore(ctx, ids[7]); err != nil {
		t.Fatal(err)
	}
	if moves := claim(t, store, "mover", 100); len(moves) != 1 || moves[0].LMSID != ids[8] {
		t.Errorf("ClaimBatch after a restore request = %+v; want only LMS row %d", moves, ids[8])
	}
}

func TestTransitionCandidates(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	const minSize = 128 << 10
	cases := []struct {
		name      string
		state     reconcile.State
		size      int64
		days      int
		set       string // more of the record
		due       bool   // with ExpireAge 0
		expirable bool   // with ExpireAge 365 days: returned, and Expirable
		dueOld    bool   // with ExpireAge 365 days: returned, not Expirable
	}{
		{name: "old enough", state: reconcile.StateInTrash, size: minSize, days: 31, due: true, dueOld: true},
		{name: "large, checked before", state: reconcile.StateInTrash, size: 1 << 30, days: 40,
			set: "transition_checked_at = NOW(6) - INTERVAL 2 DAY", due: true, dueOld: true},
		{name: "checked just now", state: reconcile.StateInTrash, size: 1 << 30, days: 40,
			set: "transition_checked_at = NOW(6) - INTERVAL 1 MINUTE", due: true, dueOld: true},
		{name: "too young", state: reconcile.StateInTrash, size: 1 << 30, days: 29},
		{name: "too small", state: reconcile.StateInTrash, size: minSize - 1, days: 40},
		{name: "restore requested", state: reconcile.StateInTrash, size: 1 << 30, days: 40, set: "restore_requested_at = NOW(6)"},
		{name: "leased", state: reconcile.StateInTrash, size: 1 << 30, days: 40,
			set: "lease_owner = 'h', lease_token = MD5(lms_id), lease_expires_at = NOW(6) + INTERVAL 1 HOUR"},
		{name: "not yet deleted at the source", state: reconcile.StateCopied, size: 1 << 30, days: 40},
		{name: "archived", state: reconcile.StateArchived, size: 1 << 30, days: 40},
		{name: "orphaned", state: reconcile.StateOrphaned, size: 1 << 30, days: 400},
		{name: "archived, past expiration", state: reconcile.StateArchived, size: 1 << 30, days: 400, expirable: true},
		{name: "too small, past expiration", state: reconcile.StateInTrash, size: 10, days: 400, expirable: true},
		{name: "past expiration, restore requested", state: reconcile.StateArchived, size: 1 << 30, days: 400, set: "restore_requested_at = NOW(6)"},
		{name: "past expiration, leased", state: reconcile.StateArchived, size: 1 << 30, days: 400,
			set: "lease_owner = 'h', lease_token = MD5(lms_id), lease_expires_at = NOW(6) + INTERVAL 1 HOUR"},
	}
	ids := discover(t, store, sqlDB, "src", len(cases))
	name := map[int64]string{}
	for i, c := range cases {
		putCopy(t, sqlDB, ids[i], c.state, c.size, c.days)
		if c.set != "" {
			setRecord(t, sqlDB, ids[i], c.set)
		}
		name[ids[i]] = c.name
	}
	names := func(cs []reconcile.TransitionCandidate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, name[c.LMSID])
		}
		return out
	}

	q := reconcile.TransitionQuery{MinSize: minSize, Age: 30 * day, Limit: 100}
	got, err := store.TransitionCandidates(ctx, q)
	if err != nil {
		t.Fatalf("TransitionCandidates: %v", err)
	}
	// Never checked first, then least recently checked.
	want := []string{"old enough", "large, checked before", "checked just now"}
	if !slices.Equal(names(got), want) {
		t.Errorf("TransitionCandidates = %q, want %q", names(got), want)
	}
	for _, c := range got {
		if c.Expirable || c.State != reconcile.StateInTrash || c.RestoreRequested || c.Lease != (reconcile.Lease{}) ||
			c.TrashKey != "trash/"+c.Source.Key || c.Source.Size < minSize {
			t.Errorf("candidate %q = %+v", name[c.LMSID], c)
		}
	}

	q.Limit = 2
	if got, err := store.TransitionCandidates(ctx, q); err != nil || !slices.Equal(names(got), want[:2]) {
		t.Errorf("TransitionCandidates(limit 2) = %q, %v; want %q", names(got), err, want[:2])
	}

	// With the rule's expiration: archived copies (and copies too small to
	// ever transition) old enough to have been expired come too.
	q = reconcile.TransitionQuery{MinSize: minSize, Age: 30 * day, ExpireAge: 365 * day, Limit: 100}
	got, err = store.TransitionCandidates(ctx, q)
	if err != nil {
		t.Fatalf("TransitionCandidates with ExpireAge: %v", err)
	}
	want = []string{"old enough", "archived, past expiration", "too small, past expiration", "large, checked before", "checked just now"}
	if !slices.Equal(names(got), want) {
		t.Errorf("TransitionCandidates with ExpireAge = %q, want %q", names(got), want)
	}
	for _, c := range got {
		var wantExpirable bool
		for _, tc := range cases {
			if tc.name == name[c.LMSID] {
				wantExpirable = tc.expirable
			}
		}
		if c.Expirable != wantExpirable {
			t.Errorf("candidate %q: Expirable %v, want %v", name[c.LMSID], c.Expirable, wantExpirable)
		}
	}

	// Ages are by the database clock: a copy made 30 days ago less a minute
	// is not due at 30 days, one made 30 days and a minute ago is.
	young := ids[3]
	setRecord(t, sqlDB, young, "copied_at = NOW(6) - INTERVAL 30 DAY + INTERVAL 1 MINUTE")
	q = reconcile.TransitionQuery{MinSize: minSize, Age: 30 * day, Limit: 100}
	if got, _ := store.TransitionCandidates(ctx, q); slices.Contains(names(got), "too young") {
		t.Error("a copy a minute short of the age is a candidate")
	}
	setRecord(t, sqlDB, young, "copied_at = NOW(6) - INTERVAL 30 DAY - INTERVAL 1 MINUTE")
	if got, _ := store.TransitionCandidates(ctx, q); !slices.Contains(names(got), "too young") {
		t.Error("a copy a minute past the age is not a candidate")
	}
}

func TestMarkChecked(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 5)
	for _, id := range ids {
		putCopy(t, sqlDB, id, reconcile.StateInTrash, 1<<20, 40)
	}
	rec := recordOf(t, store, ids[0])

	// Still STANDARD: only the time of the check.
	ok, err := store.MarkChecked(ctx, rec, "STANDARD", false)
	if err != nil || !ok {
		t.Fatalf("MarkChecked(STANDARD, false) = %v, %v; want true", ok, err)
	}
	row := readGlacier(t, sqlDB, ids[0])
	if row.State != "in_trash" || !row.CheckedAt.Valid || row.Class.String != "STANDARD" || row.ArchivedAt.Valid || row.FinishedAt.Valid {
		t.Errorf("after a check that found STANDARD: %+v", row)
	}

	// No class named: NULL, which reads as STANDARD.
	if ok, err := store.MarkChecked(ctx, rec, "", false); err != nil || !ok {
		t.Fatalf("MarkChecked(\"\", false) = %v, %v", ok, err)
	}
	if row := readGlacier(t, sqlDB, ids[0]); row.Class.Valid {
		t.Errorf("storage_class after a check with no class = %q, want NULL", row.Class.String)
	}

	// Transitioned.
	if ok, err := store.MarkChecked(ctx, rec, "GLACIER", true); err != nil || !ok {
		t.Fatalf("MarkChecked(GLACIER, true) = %v, %v; want true", ok, err)
	}
	row = readGlacier(t, sqlDB, ids[0])
	if row.State != "archived" || row.Class.String != "GLACIER" || !row.ArchivedAt.Valid || !row.FinishedAt.Valid || !row.CheckedAt.Valid {
		t.Errorf("after a check that found GLACIER: %+v", row)
	}
	// It left in_trash: a second check changes nothing.
	if ok, err := store.MarkChecked(ctx, rec, "DEEP_ARCHIVE", true); err != nil || ok {
		t.Errorf("MarkChecked of an archived record = %v, %v; want false", ok, err)
	}
	if again := readGlacier(t, sqlDB, ids[0]); again != row {
		t.Errorf("MarkChecked of an archived record changed it:\n%+v\n%+v", row, again)
	}

	// Left alone: restore requested meanwhile, being restored, leased.
	setRecord(t, sqlDB, ids[1], "restore_requested_at = NOW(6)")
	setRecord(t, sqlDB, ids[2], "state = 'restoring', restore_requested_at = NOW(6)")
	leaseRecord(t, sqlDB, ids[3])
	for _, id := range ids[1:4] {
		before := readGlacier(t, sqlDB, id)
		for _, archived := range []bool{false, true} {
			ok, err := store.MarkChecked(ctx, recordOf(t, store, id), "GLACIER", archived)
			if err != nil || ok {
				t.Errorf("MarkChecked(archived %v) of a %s record (restore requested %v, leased %v) = %v, %v; want false",
					archived, before.State, before.RestoreRequestedAt.Valid, before.LeaseToken.Valid, ok, err)
			}
		}
		if after := readGlacier(t, sqlDB, id); after != before {
			t.Errorf("MarkChecked changed a record it should leave alone:\n%+v\n%+v", before, after)
		}
	}

	// The untouched in_trash record is unaffected by the others' checks.
	if row := readGlacier(t, sqlDB, ids[4]); row.CheckedAt.Valid || row.State != "in_trash" {
		t.Errorf("an unchecked record: %+v", row)
	}
}

// TestMarkCheckedArchived: archived records are checked too (for the
// rule's expiration); a check moves one to the back of the queue, so that
// every copy is looked at in turn, and never changes its state.
func TestMarkCheckedArchived(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	ids := discover(t, store, sqlDB, "src", 2)
	for i, id := range ids {
		putCopy(t, sqlDB, id, reconcile.StateArchived, 1<<20, 400)
		setRecord(t, sqlDB, id, "storage_class = 'GLACIER', archived_at = NOW(6) - INTERVAL 300 DAY,"+
			" finished_at = NOW(6) - INTERVAL 300 DAY, transition_checked_at = NOW(6) - INTERVAL ? DAY", 10-i)
	}
	q := reconcile.TransitionQuery{MinSize: 1, Age: 30 * day, ExpireAge: 365 * day, Limit: 10}
	order := func() []int64 {
		t.Helper()
		got, err := store.TransitionCandidates(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, c := range got {
			out = append(out, c.LMSID)
		}
		return out
	}
	if got := order(); !slices.Equal(got, ids) {
		t.Fatalf("TransitionCandidates = %v, want %v (least recently checked first)", got, ids)
	}

	before := readGlacier(t, sqlDB, ids[0])
	ok, err := store.MarkChecked(ctx, recordOf(t, store, ids[0]), "GLACIER", false)
	if err != nil || !ok {
		t.Fatalf("MarkChecked of an archived record = %v, %v; want true", ok, err)
	}
	after := readGlacier(t, sqlDB, ids[0])
	if after.State != "archived" || !after.CheckedAt.Time.After(before.CheckedAt.Time) || after.ArchivedAt != before.ArchivedAt ||
		after.FinishedAt != before.FinishedAt || after.Class.String != "GLACIER" {
		t.Errorf("after checking an archived record:\n%+v\nwas\n%+v\nwant only transition_checked_at moved", after, before)
	}
	if got := order(); !slices.Equal(got, []int64{ids[1], ids[0]}) {
		t.Errorf("TransitionCandidates after the check = %v, want %v (the checked one last)", got, []int64{ids[1], ids[0]})
	}

	// "Transitioned" again: it is archived already; nothing changes.
	if ok, err := store.MarkChecked(ctx, recordOf(t, store, ids[0]), "DEEP_ARCHIVE", true); err != nil || ok {
		t.Errorf("MarkChecked(archived) of an archived record = %v, %v; want false", ok, err)
	}
	if again := readGlacier(t, sqlDB, ids[0]); again != after {
		t.Errorf("MarkChecked(archived) changed an archived record:\n%+v\n%+v", after, again)
	}
}

func TestMarkGone(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	cases := []struct {
		state reconcile.State
		set   string
		to    reconcile.State
		gone  bool
	}{
		{state: reconcile.StateInTrash, to: reconcile.StateMissing, gone: true},
		{state: reconcile.StateArchived, to: reconcile.StateExpired, gone: true},
		{state: reconcile.StateInTrash, to: reconcile.StateExpired, gone: true},
		{state: reconcile.StateArchived, set: "restore_requested_at = NOW(6)", to: reconcile.StateMissing},
		{state: reconcile.StateInTrash, set: "lease_owner = 'h', lease_token = MD5(lms_id), lease_expires_at = NOW(6) + INTERVAL 1 HOUR", to: reconcile.StateMissing},
		{state: reconcile.StateRestoring, to: reconcile.StateMissing},
		{state: reconcile.StateCopied, to: reconcile.StateMissing},
		{state: reconcile.StateOrphaned, to: reconcile.StateExpired},
	}
	ids := discover(t, store, sqlDB, "src", len(cases))
	for i, c := range cases {
		putCopy(t, sqlDB, ids[i], c.state, 1<<20, 400)
		if c.set != "" {
			setRecord(t, sqlDB, ids[i], c.set)
		}
		before := readGlacier(t, sqlDB, ids[i])
		reason := fmt.Sprintf("gone %d", i)
		ok, err := store.MarkGone(ctx, recordOf(t, store, ids[i]), c.to, reason)
		if err != nil || ok != c.gone {
			t.Errorf("MarkGone of a %s record (%s) = %v, %v; want %v", c.state, c.set, ok, err, c.gone)
		}
		row := readGlacier(t, sqlDB, ids[i])
		switch {
		case c.gone && (row.State != string(c.to) || row.LastError.String != reason || !row.FinishedAt.Valid):
			t.Errorf("%s record marked %s: %+v; want the state, the reason and finished_at", c.state, c.to, row)
		case !c.gone && row != before:
			t.Errorf("MarkGone changed a %s record (%s) it should leave alone:\n%+v\n%+v", c.state, c.set, before, row)
		}
	}

	// A reason longer than the column keeps is cut, not refused.
	id := discover(t, store, sqlDB, "other", 1)[0]
	putCopy(t, sqlDB, id, reconcile.StateInTrash, 1, 1)
	if ok, err := store.MarkGone(ctx, recordOf(t, store, id), reconcile.StateMissing, strings.Repeat("é", 9000)); err != nil || !ok {
		t.Fatalf("MarkGone with a long reason = %v, %v", ok, err)
	}
	if row := readGlacier(t, sqlDB, id); row.State != "missing" || len([]rune(row.LastError.String)) != 8000 {
		t.Errorf("after a long reason: state %s, %d characters kept", row.State, len([]rune(row.LastError.String)))
	}
}

// archiveQuery is a rule that transitions copies of 100 bytes or more after
// 30 days (a grace included).
var archiveQuery = reconcile.ArchiveQuery{MinSize: 100, OverdueAge: 30 * day}

func TestArchive(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()

	st, err := store.Archive(ctx, archiveQuery)
	if err != nil {
		t.Fatalf("Archive of an empty table: %v", err)
	}
	if st.Overdue != 0 || st.OverdueBytes != 0 || st.Ineligible != 0 || st.IneligibleBytes != 0 || len(st.Classes) != 0 {
		t.Errorf("Archive of an empty table = %+v", st)
	}

	cases := []struct {
		state        reconcile.State
		size         int64
		copied       int    // days ago
		class        string // "" is NULL
		archivedDays int    // days ago; 0 is never archived
	}{
		{reconcile.StateInTrash, 1000, 40, "", 0},                 // overdue
		{reconcile.StateInTrash, 2000, 31, "", 0},                 // overdue
		{reconcile.StateInTrash, 100, 40, "", 0},                  // overdue: exactly the minimum size
		{reconcile.StateInTrash, 5000, 5, "", 0},                  // not yet due
		{reconcile.StateInTrash, 50, 40, "", 0},                   // ineligible
		{reconcile.StateOrphaned, 60, 5, "", 0},                   // ineligible
		{reconcile.StateArchived, 100, 40, "GLACIER", 10},         // young
		{reconcile.StateArchived, 200, 200, "GLACIER", 100},       // past 90 days
		{reconcile.StateRestoreFailed, 900, 40, "GLACIER", 10},    // young
		{reconcile.StateArchived, 10, 40, "GLACIER", 1},           // young; archived, so not ineligible
		{reconcile.StateArchived, 300, 200, "DEEP_ARCHIVE", 100},  // young: within 180 days
		{reconcile.StateArchived, 400, 300, "DEEP_ARCHIVE", 200},  // past 180 days
		{reconcile.StateArchived, 500, 100, "GLACIER_IR", 80},     // young
		{reconcile.StateRestoring, 600, 200, "GLACIER_IR", 95},    // past 90 days
		{reconcile.StateRestored, 700, 40, "GLACIER", 10},         // gone from the bucket
		{reconcile.StateExpired, 800, 400, "GLACIER", 300},        // gone from the bucket
		{reconcile.StateMissing, 50, 40, "", 0},                   // gone from the bucket
		{reconcile.StateCopied, 50, 40, "", 0},                    // not counted until in_trash
		{reconcile.StateArchived, 1000, 40, "DEEP_ARCHIVE", 0},    // no archived_at: not young
		{reconcile.StateOrphaned, 1000, 400, "DEEP_ARCHIVE", 170}, // young
	}
	ids := discover(t, store, sqlDB, "src", len(cases))
	for i, c := range cases {
		putCopy(t, sqlDB, ids[i], c.state, c.size, c.copied)
		setRecord(t, sqlDB, ids[i], "storage_class = NULLIF(?, '')", c.class)
		if c.archivedDays > 0 {
			setRecord(t, sqlDB, ids[i], "archived_at = NOW(6) - INTERVAL ? DAY", c.archivedDays)
		}
	}

	st, err = store.Archive(ctx, archiveQuery)
	if err != nil {
		t.Fatalf("Archive: %v", err)
	}
	if st.Overdue != 3 || st.OverdueBytes != 3100 {
		t.Errorf("overdue %d (%d bytes), want 3 (3100 bytes)", st.Overdue, st.OverdueBytes)
	}
	if st.Ineligible != 2 || st.IneligibleBytes != 110 {
		t.Errorf("ineligible %d (%d bytes), want 2 (110 bytes)", st.Ineligible, st.IneligibleBytes)
	}
	want := map[string]reconcile.ClassUsage{
		"STANDARD":     {Class: "STANDARD", Objects: 6, Bytes: 1000 + 2000 + 100 + 5000 + 50 + 60},
		"GLACIER":      {Class: "GLACIER", Objects: 4, Bytes: 100 + 200 + 900 + 10, Young: 3, YoungBytes: 100 + 900 + 10},
		"DEEP_ARCHIVE": {Class: "DEEP_ARCHIVE", Objects: 4, Bytes: 300 + 400 + 1000 + 1000, Young: 2, YoungBytes: 300 + 1000},
		"GLACIER_IR":   {Class: "GLACIER_IR", Objects: 2, Bytes: 500 + 600, Young: 1, YoungBytes: 500},
	}
	checkClasses(t, st.Classes, want)

	// The young counts follow the database clock: past the minimum
	// duration, a copy is no longer young.
	exec(t, sqlDB, "UPDATE trash_objects SET archived_at = archived_at - INTERVAL 200 DAY WHERE archived_at IS NOT NULL")
	st, err = store.Archive(ctx, archiveQuery)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range st.Classes {
		if u.Young != 0 || u.YoungBytes != 0 {
			t.Errorf("class %s: %d young (%d bytes) after 200 more days, want none", u.Class, u.Young, u.YoungBytes)
		}
	}
}

// TestArchiveStandardIsOneClass: a copy with no class recorded and one
// recorded as STANDARD are in the same class, as reconcile.Object has it
// ("empty means STANDARD"); status and the per-class metrics must not show
// STANDARD twice.
func TestArchiveStandardIsOneClass(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ids := discover(t, store, sqlDB, "src", 3)
	putCopy(t, sqlDB, ids[0], reconcile.StateInTrash, 1000, 1)
	putCopy(t, sqlDB, ids[1], reconcile.StateInTrash, 2000, 1)
	setRecord(t, sqlDB, ids[1], "storage_class = 'STANDARD'")
	putCopy(t, sqlDB, ids[2], reconcile.StateArchived, 4000, 1)
	setRecord(t, sqlDB, ids[2], "storage_class = 'GLACIER', archived_at = NOW(6)")

	st, err := store.Archive(t.Context(), archiveQuery)
	if err != nil {
		t.Fatalf("Archive: %v", err)
	}
	checkClasses(t, st.Classes, map[string]reconcile.ClassUsage{
		"STANDARD": {Class: "STANDARD", Objects: 2, Bytes: 3000},
		"GLACIER":  {Class: "GLACIER", Objects: 1, Bytes: 4000, Young: 1, YoungBytes: 4000},
	})
}

// checkClasses compares the classes Archive reported with want, each class
// once.
func checkClasses(t *testing.T, got []reconcile.ClassUsage, want map[string]reconcile.ClassUsage) {
	t.Helper()
	seen := map[string]bool{}
	for _, u := range got {
		if seen[u.Class] {
			t.Errorf("class %s reported twice: %+v", u.Class, got)
		}
		seen[u.Class] = true
		if w, ok := want[u.Class]; !ok {
			t.Errorf("unexpected class %+v", u)
		} else if u != w {
			t.Errorf("class %s = %+v, want %+v", u.Class, u, w)
		}
	}
	for class := range want {
		if !seen[class] {
			t.Errorf("class %s missing from %+v", class, got)
		}
	}
}

func TestOverdue(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()

	if got, err := store.Overdue(ctx, archiveQuery, 10); err != nil || len(got) != 0 {
		t.Fatalf("Overdue of an empty table = %+v, %v", got, err)
	}

	cases := []struct {
		state reconcile.State
		size  int64
		days  int
		set   string
	}{
		{reconcile.StateInTrash, 1000, 40, "transition_checked_at = NOW(6) - INTERVAL 1 DAY, storage_class = 'STANDARD'"},
		{reconcile.StateInTrash, 2000, 50, ""},
		{reconcile.StateInTrash, 100, 35, ""},
		{reconcile.StateInTrash, 99, 60, ""},   // too small: never transitioned
		{reconcile.StateInTrash, 1000, 10, ""}, // not yet due
		{reconcile.StateArchived, 1000, 60, "storage_class = 'GLACIER'"},
		{reconcile.StateOrphaned, 1000, 60, ""},
		{reconcile.StateCopied, 1000, 60, ""},
	}
	ids := discover(t, store, sqlDB, "src", len(cases))
	for i, c := range cases {
		putCopy(t, sqlDB, ids[i], c.state, c.size, c.days)
		if c.set != "" {
			setRecord(t, sqlDB, ids[i], c.set)
		}
	}

	got, err := store.Overdue(ctx, archiveQuery, 10)
	if err != nil {
		t.Fatalf("Overdue: %v", err)
	}
	var lmsIDs []int64
	for _, o := range got {
		lmsIDs = append(lmsIDs, o.LMSID)
	}
	if want := []int64{ids[1], ids[0], ids[2]}; !slices.Equal(lmsIDs, want) {
		t.Fatalf("Overdue = LMS rows %v, want %v (oldest copy first)", lmsIDs, want)
	}
	for i, o := range got {
		row := readGlacier(t, sqlDB, o.LMSID)
		c := cases[slices.Index(ids, o.LMSID)]
		key := fmt.Sprintf("k/%04d", slices.Index(ids, o.LMSID))
		if o.Bucket != "src" || o.Key != key || o.TrashKey != "trash/"+key || o.Size != c.size ||
			!o.CopiedAt.Equal(row.CopiedAt.Time) || !o.CheckedAt.Equal(row.CheckedAt.Time) || o.StorageClass != row.Class.String {
			t.Errorf("overdue record %d = %+v\nrow %+v", i, o, row)
		}
	}
	if !got[0].CheckedAt.IsZero() || got[1].CheckedAt.IsZero() || got[1].StorageClass != "STANDARD" {
		t.Errorf("check times and classes: %+v", got)
	}

	if got, err := store.Overdue(ctx, archiveQuery, 2); err != nil || len(got) != 2 || got[0].LMSID != ids[1] || got[1].LMSID != ids[0] {
		t.Errorf("Overdue(limit 2) = %+v, %v", got, err)
	}
}

// markOrphans finds and marks the orphans, as a pass does without its brake.
func markOrphans(t *testing.T, store *db.Store) (int, error) {
	t.Helper()
	ids, err := store.OrphanCandidates(t.Context())
	if err != nil {
		return 0, err
	}
	return store.MarkOrphans(t.Context(), ids)
}
