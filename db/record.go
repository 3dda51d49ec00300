package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"trashd/reconcile"
)

// Record applies step to rec in one UPDATE fenced by rec's lease token:
// if the lease was taken over (or released) it changes nothing and returns
// reconcile.ErrLeaseLost.
//
// It sets the state and last_error ("" clears it) and, by the database
// clock, the step's time: source_seen_at with step.Source, copied_at with
// step.Copy (except on the way to archived, where Copy only updates the
// storage class), source_deleted_at on in_trash, archived_at on archived,
// finished_at on archived, missing and failed (and clears it otherwise).
// trash_key is set from step.TrashKey when it is not "", then from
// step.Copy.Key. RetryIn defers the next claim; RetryIn, Release and, for a
// move (rec not RestoreRequested), every state a pass does not work on
// (in_trash and after) give up the lease.
// Failed counts an attempt (and starts the failing time); a step with
// neither Failed nor an error, to any state but pending, ends a run of
// failures.
func (s *Store) Record(ctx context.Context, rec reconcile.Record, step reconcile.Step) error {
	set, args, err := stepSet(rec, step)
	if err != nil {
		return err
	}
	if err := s.fencedUpdate(ctx, s.db, rec, set, args...); err != nil {
		return fmt.Errorf("record %d as %s: %w", rec.ID, step.To, err)
	}
	return nil
}

// stepSet is the SET clause (and its arguments) that Record applies.
func stepSet(rec reconcile.Record, step reconcile.Step) (string, []any, error) {
	if !slices.Contains(reconcile.States, step.To) {
		return "", nil, fmt.Errorf("record %d: unknown state %q", rec.ID, step.To)
	}
	if step.RetryIn < 0 {
		return "", nil, fmt.Errorf("record %d: negative RetryIn %s", rec.ID, step.RetryIn)
	}
	set := "state = ?, last_error = ?, updated_at = NOW(6)"
	args := []any{string(step.To), nullString(clip(step.Error, maxError))}
	if src := step.Source; src != nil {
		set += ", source_version = ?, source_size = ?, source_etag = ?, source_checksum = ?, source_modified = ?, source_seen_at = NOW(6)"
		args = append(args, nullString(src.VersionID), src.Size, nullString(src.ETag), nullString(formatChecksum(src.Checksum)),
			sql.NullTime{Time: src.LastModified.UTC(), Valid: !src.LastModified.IsZero()})
	}
	if step.TrashKey != "" {
		set += ", trash_key = ?"
		args = append(args, step.TrashKey)
	}
	if c := step.Copy; c != nil {
		set += ", trash_bucket = ?, trash_key = ?, trash_etag = ?, trash_size = ?, trash_checksum = ?, storage_class = ?"
		args = append(args, c.Bucket, c.Key, nullString(c.ETag), c.Size, nullString(formatChecksum(c.Checksum)), nullString(c.StorageClass))
		if step.To != reconcile.StateArchived {
			set += ", copied_at = NOW(6)"
		}
	}
	// A step's time is stamped when the record enters the step's state: a
	// step recorded under the state the record is already in (a restore's
	// bookkeeping, say) keeps the times it had.
	entering := rec.State != step.To
	switch {
	case !entering:
		if step.To == reconcile.StateRestored {
			set += ", restored_key = ?"
			args = append(args, nullString(step.RestoredKey))
		}
	case step.To == reconcile.StateInTrash:
		set += ", source_deleted_at = NOW(6)"
	case step.To == reconcile.StateArchived:
		set += ", archived_at = NOW(6)"
	case step.To == reconcile.StateRestored:
		set += ", restored_at = NOW(6), restored_key = ?"
		args = append(args, nullString(step.RestoredKey))
	}
	switch {
	case !step.To.Final():
		set += ", finished_at = NULL"
	case entering:
		set += ", finished_at = NOW(6)"
	}
	if step.To == reconcile.StateShared {
		set += ", shared_with = ?"
		args = append(args, step.SharedWith)
	} else {
		set += ", shared_with = NULL"
	}
	switch {
	case step.Upload != nil:
		set += ", upload_key = ?, upload_id = ?"
		args = append(args, step.Upload.Key, step.Upload.ID)
	case step.ClearUpload:
		set += ", upload_key = NULL, upload_id = NULL"
	}
	switch {
	case step.Failed:
		set += ", attempts = attempts + 1, failing_since = COALESCE(failing_since, NOW(6))"
	case step.Error == "" && step.To != reconcile.StatePending:
		// Progress (a verified copy, the object in the trash, a restore
		// under way): the run of failures is over. Recording the source
		// as read at the start of an attempt is no progress.
		set += ", attempts = 0, failing_since = NULL"
	}
	if step.RetryIn > 0 {
		set += ", next_attempt_at = NOW(6) + INTERVAL ? MICROSECOND"
		args = append(args, max(step.RetryIn.Microseconds(), 1))
	}
	// A move is done with a record at in_trash and after, but a restore
	// works on those states (it records a copy back in parts under them):
	// its lease goes only with RetryIn or Release, as every end of a
	// restore says.
	done := !step.To.Movable() && !rec.RestoreRequested
	if step.RetryIn > 0 || step.Release || done {
		set += ", lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"
	} else if step.Renew > 0 {
		set += ", lease_expires_at = NOW(6) + INTERVAL ? MICROSECOND"
		args = append(args, step.Renew.Microseconds())
	}
	return set, args, nil
}

// AdoptCopy records step for rec — the move of rec into the trash copy of
// another record of the same object, other — if other's copy is still
// there to share: other still names it (trash_key), holds it (a state in
// which a copy is relied on) and is not being restored. other's row is
// locked for the check, so a restore of other, which is marked (an UPDATE of
// that row) before it may remove the copy, either comes first and is seen,
// or comes after and counts rec among the copy's holders.
// reconcile.ErrNotFound when the copy can no longer be shared.
func (s *Store) AdoptCopy(ctx context.Context, rec, other reconcile.Record, step reconcile.Step) error {
	set, args, err := stepSet(rec, step)
	if err != nil {
		return err
	}
	err = retryDeadlock(ctx, func() error {
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			return err
		}
		defer tx.Rollback() // after Commit, a no-op
		var id int64
		err = tx.QueryRowContext(ctx, "SELECT id FROM trash_objects WHERE id = ? AND trash_key = ? AND restore_requested_at IS NULL"+
			" AND state IN "+copyHolderSQL+" FOR UPDATE", other.ID, other.Copy.Key).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("the copy of record %d: %w: it is being restored or no longer held", other.ID, reconcile.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := s.fencedUpdate(ctx, tx, rec, set, args...); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("record %d as %s, sharing the copy of record %d: %w", rec.ID, step.To, other.ID, err)
	}
	return nil
}

// RenewLease extends rec's lease to d from now by the database clock;
// reconcile.ErrLeaseLost if it is no longer held. A lease that expired but
// was not taken over is still held: its token is unchanged.
func (s *Store) RenewLease(ctx context.Context, rec reconcile.Record, d time.Duration) error {
	if d < time.Microsecond {
		return fmt.Errorf("renew lease of record %d: %s is too short", rec.ID, d)
	}
	err := s.fencedUpdate(ctx, s.db, rec, "lease_expires_at = NOW(6) + INTERVAL ? MICROSECOND, updated_at = NOW(6)", d.Microseconds())
	if err != nil {
		return fmt.Errorf("renew lease of record %d: %w", rec.ID, err)
	}
	return nil
}

// Release gives up rec's lease without changing its state, for shutdown: the
// record is claimable again at once (a release is no attempt).
// reconcile.ErrLeaseLost if the lease is no longer held.
func (s *Store) Release(ctx context.Context, rec reconcile.Record) error {
	err := s.fencedUpdate(ctx, s.db, rec, "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = NOW(6)")
	if err != nil {
		return fmt.Errorf("release record %d: %w", rec.ID, err)
	}
	return nil
}

// fencedUpdate runs UPDATE trash_objects SET set for rec if rec's lease token
// is still the record's. It relies on CLIENT_FOUND_ROWS (see Options.config)
// so that a matched row counts even when no value changed.
func (s *Store) fencedUpdate(ctx context.Context, db execer, rec reconcile.Record, set string, args ...any) error {
	if rec.Lease.Token == "" {
		return reconcile.ErrLeaseLost
	}
	var res sql.Result
	retry := retryDeadlock
	if _, inTx := db.(*sql.Tx); inTx {
		// A deadlock rolls the whole transaction back: its caller retries
		// the transaction, never this statement alone.
		retry = func(_ context.Context, f func() error) error { return f() }
	}
	err := retry(ctx, func() error {
		var err error
		res, err = db.ExecContext(ctx, "UPDATE trash_objects SET "+set+" WHERE id = ? AND lease_token = ?",
			append(args, rec.ID, rec.Lease.Token)...)
		return err
	})
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return reconcile.ErrLeaseLost
	}
	return nil
}

// execer runs a statement: the pool, or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
