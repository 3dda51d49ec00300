package db

import (
	"context"
	"fmt"

	"trashd/reconcile"
)

// StartRun records the start of a pass, status running, and returns its id.
// It first checks that this trashd may write (CheckWritable), so that a pass
// that cannot do its work says why before it claims anything.
func (s *Store) StartRun(ctx context.Context, trigger reconcile.Trigger, host string) (int64, error) {
	if err := CheckWritable(ctx, s.db); err != nil {
		return 0, fmt.Errorf("start %s run on %s: %w", trigger, host, err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO trash_runs (run_trigger, host, status, started_at)
		VALUES (?, ?, ?, NOW(6))`, string(trigger), clip(host, maxOwner), string(reconcile.RunRunning))
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
