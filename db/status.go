package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"trashd/reconcile"
)

// statusRuns is how many recent passes Status lists.
const statusRuns = 10

// Status is a snapshot of trashd's tables, for `trashd status`.
type Status struct {
	// Now is the database's clock when the snapshot was taken: compute ages
	// against it, never against the host's clock.
	Now time.Time

	// States has one entry per state, every state of reconcile.States in
	// order (with zero counts), then any other state found in the table.
	States []StateCount

	// OldestPending is the discovered_at of the oldest record not yet moved
	// (pending or copied); zero when there is none.
	OldestPending time.Time

	Due           int // movable records a pass would claim now
	AwaitingRetry int // movable records whose next attempt is later (backing off after an error)
	Leased        int // records under an unexpired lease: being worked on now

	Runs []Run // the most recent passes, newest first
}

// OldestPendingAge is how long the oldest record not yet moved has waited, by
// the database clock; 0 when there is none.
func (s Status) OldestPendingAge() time.Duration {
	if s.OldestPending.IsZero() {
		return 0
	}
	return s.Now.Sub(s.OldestPending)
}

// StateCount is how many records are in a state and their total size. Sizes
// are known once the source has been read (HEAD), so Bytes may undercount
// pending records.
type StateCount struct {
	State reconcile.State
	Count int
	Bytes int64
}

// Run is one pass as trash_runs records it.
type Run struct {
	ID         int64
	Trigger    reconcile.Trigger
	Host       string
	Status     reconcile.RunStatus
	StartedAt  time.Time
	FinishedAt time.Time // zero while running (or if the host died mid-pass)
	Heartbeat  time.Time // the last heartbeat of a running pass
	Counts     reconcile.Counts
	Error      string
}

// Status reads a snapshot of trashd's tables. It changes nothing.
func (s *Store) Status(ctx context.Context) (Status, error) {
	var (
		st     Status
		oldest sql.NullTime
	)
	// One statement, so that every count is taken against the same NOW(6).
	err := s.db.QueryRowContext(ctx, `SELECT NOW(6),
		(SELECT MIN(discovered_at) FROM trash_objects WHERE state IN `+moveStatesSQL+`),
		(SELECT COUNT(*) FROM trash_objects WHERE state IN `+moveStatesSQL+` AND restore_requested_at IS NULL AND next_attempt_at <= NOW(6)
			AND (lease_expires_at IS NULL OR lease_expires_at < NOW(6))),
		(SELECT COUNT(*) FROM trash_objects WHERE state IN `+moveStatesSQL+` AND next_attempt_at > NOW(6)),
		(SELECT COUNT(*) FROM trash_objects WHERE lease_expires_at >= NOW(6))`).Scan(&st.Now, &oldest, &st.Due, &st.AwaitingRetry, &st.Leased)
	if err != nil {
		return Status{}, fmt.Errorf("read status: %w", err)
	}
	st.OldestPending = oldest.Time

	st.States = make([]StateCount, len(reconcile.States))
	for i, state := range reconcile.States {
		st.States[i].State = state
	}
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*), COALESCE(SUM(source_size), 0)
		FROM trash_objects GROUP BY state ORDER BY state`)
	if err != nil {
		return Status{}, fmt.Errorf("count records per state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c StateCount
		if err := rows.Scan(&c.State, &c.Count, &c.Bytes); err != nil {
			return Status{}, fmt.Errorf("count records per state: %w", err)
		}
		if i := slices.Index(reconcile.States, c.State); i >= 0 {
			st.States[i] = c
		} else {
			st.States = append(st.States, c)
		}
	}
	if err := rows.Err(); err != nil {
		return Status{}, fmt.Errorf("count records per state: %w", err)
	}

	st.Runs, err = s.recentRuns(ctx, statusRuns)
	if err != nil {
		return Status{}, err
	}
	return st, nil
}

func (s *Store) recentRuns(ctx context.Context, n int) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, run_trigger, host, status, started_at, finished_at,"+
		" discovered, moved, missing, failed, retrying, interrupted, bytes, archived, restored, shared, `error`,"+
		" COALESCE(heartbeat_at, started_at), "+lapsedSQL+
		" FROM trash_runs ORDER BY id DESC LIMIT ?", reconcile.RunLapse.Microseconds(), n)
	if err != nil {
		return nil, fmt.Errorf("read recent runs: %w", err)
	}
	defer rows.Close()
	var runs []Run
	for rows.Next() {
		var (
			r        Run
			finished sql.NullTime
			errText  sql.NullString
			lapsed   bool
		)
		err := rows.Scan(&r.ID, &r.Trigger, &r.Host, &r.Status, &r.StartedAt, &finished,
			&r.Counts.Discovered, &r.Counts.Moved, &r.Counts.Missing, &r.Counts.Failed,
			&r.Counts.Retrying, &r.Counts.Interrupted, &r.Counts.Bytes, &r.Counts.Archived, &r.Counts.Restored, &r.Counts.Shared, &errText,
			&r.Heartbeat, &lapsed)
		if err != nil {
			return nil, fmt.Errorf("read recent runs: %w", err)
		}
		r.FinishedAt = finished.Time
		r.Error = errText.String
		if lapsed {
			// Shown as what it is before the next pass records it so.
			r.Status = reconcile.RunAbandoned
			r.Error = fmt.Sprintf("no heartbeat since %s: the process was killed or its host lost; the next pass records it abandoned",
				r.Heartbeat.UTC().Format(time.RFC3339))
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read recent runs: %w", err)
	}
	return runs, nil
}

// Pending previews, without claiming anything, what a pass would work on
// now: the movable records that are due and not leased, and their total size
// as far as it is known (a pending record's size is known once its source
// has been read). Records not yet discovered are not included: ScanTrashed
// previews those.
func (s *Store) Pending(ctx context.Context) (count int, bytes int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(source_size), 0) FROM trash_objects
		WHERE state IN `+moveStatesSQL+` AND restore_requested_at IS NULL AND next_attempt_at <= NOW(6)
		  AND (lease_expires_at IS NULL OR lease_expires_at < NOW(6))`).Scan(&count, &bytes)
	if err != nil {
		return 0, 0, fmt.Errorf("count pending records: %w", err)
	}
	return count, bytes, nil
}
