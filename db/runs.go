package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"trashd/reconcile"
)

// StartRun records the start of a pass, status running, and returns its id.
// It first checks that this trashd may write (CheckWritable), so that a pass
// that cannot do its work says why before it claims anything.
func (s *Store) StartRun(ctx context.Context, trigger reconcile.Trigger, host string) (int64, error) {
	// The LMS may have inserted a row whose id trashd cannot keep since
	// the Store was made: refused before the run is recorded, as at start.
	if err := errors.Join(CheckWritable(ctx, s.db), s.checkIDRange(ctx)); err != nil {
		return 0, fmt.Errorf("start %s run on %s: %w", trigger, host, err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO trash_runs (run_trigger, host, status, started_at, heartbeat_at)
		VALUES (?, ?, ?, NOW(6), NOW(6))`, string(trigger), clip(host, maxOwner), string(reconcile.RunRunning))
	if err != nil {
		return 0, fmt.Errorf("start %s run on %s: %w", trigger, host, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("start %s run on %s: %w", trigger, host, err)
	}
	return id, nil
}

// FinishRun records how pass id ended: its counts, status and error (nil
// for none), at the database's now.
func (s *Store) FinishRun(ctx context.Context, id int64, c reconcile.Counts, status reconcile.RunStatus, runErr error) error {
	var errText string
	if runErr != nil {
		errText = runErr.Error()
	}
	res, err := s.db.ExecContext(ctx, "UPDATE trash_runs SET status = ?, finished_at = NOW(6),"+
		" discovered = ?, moved = ?, missing = ?, failed = ?, retrying = ?, interrupted = ?, bytes = ?,"+
		" archived = ?, restored = ?, shared = ?, `error` = ?"+
		" WHERE id = ?",
		string(status), c.Discovered, c.Moved, c.Missing, c.Failed, c.Retrying, c.Interrupted, c.Bytes,
		c.Archived, c.Restored, c.Shared, nullString(clip(errText, maxError)), id)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("finish run %d: no such run", id)
	}
	return nil
}

// HeartbeatRun stamps run id's heartbeat with the database's now, while it
// is still recorded running.
func (s *Store) HeartbeatRun(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE trash_runs SET heartbeat_at = NOW(6) WHERE id = ? AND status = ?",
		id, string(reconcile.RunRunning)); err != nil {
		return fmt.Errorf("heartbeat of run %d: %w", id, err)
	}
	return nil
}

// lapsedSQL is true for a run recorded running whose heartbeat (its start,
// for a run from before heartbeats) is older than ? microseconds.
const lapsedSQL = "(status = 'running' AND COALESCE(heartbeat_at, started_at) < NOW(6) - INTERVAL ? MICROSECOND)"

// AbandonRuns records abandoned, with a reason, every run still running
// whose heartbeat is older than lapse, and returns them. A run that was
// only slow and finishes after all records its real end over this.
func (s *Store) AbandonRuns(ctx context.Context, lapse time.Duration) ([]reconcile.AbandonedRun, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, host, started_at, COALESCE(heartbeat_at, started_at) FROM trash_runs WHERE "+lapsedSQL,
		lapse.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("look for abandoned runs: %w", err)
	}
	var out []reconcile.AbandonedRun
	for rows.Next() {
		var r reconcile.AbandonedRun
		if err := rows.Scan(&r.ID, &r.Host, &r.Started, &r.Beat); err != nil {
			rows.Close()
			return nil, fmt.Errorf("look for abandoned runs: %w", err)
		}
		out = append(out, r)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("look for abandoned runs: %w", err)
	}
	var abandoned []reconcile.AbandonedRun
	for _, r := range out {
		res, err := s.db.ExecContext(ctx, "UPDATE trash_runs SET status = ?, finished_at = COALESCE(heartbeat_at, started_at), `error` = ?"+
			" WHERE id = ? AND "+lapsedSQL, string(reconcile.RunAbandoned),
			fmt.Sprintf("abandoned: no heartbeat since %s (the process was killed or its host lost); its objects were resumed by later passes",
				r.Beat.UTC().Format(time.RFC3339)), r.ID, lapse.Microseconds())
		if err != nil {
			return abandoned, fmt.Errorf("record run %d abandoned: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			abandoned = append(abandoned, r)
		}
	}
	return abandoned, nil
}
