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
// reconcile.ErrLeaseLost. It is RecordBatch of one.
//
// It sets the state and last_error ("" clears it) and, by the database
// clock, the step's time: source_seen_at with step.Source, copied_at with
// step.Copy (except on the way to archived, where Copy only updates the
// storage class), source_deleted_at on in_trash, archived_at on archived,
// finished_at on archived, missing and failed (and clears it otherwise).
// trash_key is step.Copy.Key with a copy, else step.TrashKey when that is
// not "". RetryIn defers the next claim; RetryIn, Release and, for a move
// (rec not RestoreRequested), every state a pass does not work on (in_trash
// and after) give up the lease; otherwise Renew extends it.
// Failed counts an attempt (and starts the failing time); a step with
// neither Failed nor an error, to any state but pending, ends a run of
// failures.
func (s *Store) Record(ctx context.Context, rec reconcile.Record, step reconcile.Step) error {
	return s.RecordBatch(ctx, []reconcile.Record{rec}, []reconcile.Step{step})[0]
}

// RecordBatch applies steps[i] to recs[i], as Record does, in as few
// UPDATEs as the steps allow: records whose steps set the same columns share
// one statement, in which each column that differs between them is a CASE on
// the id, and each row is fenced on its own lease token (the WHERE names
// every (id, lease_token) pair). A record whose lease is no longer held is
// left as it is, and its error is reconcile.ErrLeaseLost.
func (s *Store) RecordBatch(ctx context.Context, recs []reconcile.Record, steps []reconcile.Step) []error {
	errs := make([]error, len(recs))
	if len(steps) != len(recs) {
		for i := range errs {
			errs[i] = fmt.Errorf("record a batch: %d steps for %d records", len(steps), len(recs))
		}
		return errs
	}
	var (
		rows []fencedRow
		at   []int // rows[k] is recs[at[k]]
	)
	for i, rec := range recs {
		set, releases, err := stepSet(rec, steps[i])
		if err != nil {
			errs[i] = err
			continue
		}
		rows = append(rows, fencedRow{rec: rec, set: set, releases: releases, to: steps[i].To})
		at = append(at, i)
	}
	for k, err := range s.writeFenced(ctx, s.db, rows) {
		if i := at[k]; err != nil {
			errs[i] = fmt.Errorf("record %d as %s: %w", recs[i].ID, steps[i].To, err)
		}
	}
	return errs
}

// stepSet is what Record writes for step: the SET clause's assignments, and
// whether they give the lease up.
func stepSet(rec reconcile.Record, step reconcile.Step) (set []assignment, releases bool, err error) {
	if !slices.Contains(reconcile.States, step.To) {
		return nil, false, fmt.Errorf("record %d: unknown state %q", rec.ID, step.To)
	}
	if step.RetryIn < 0 {
		return nil, false, fmt.Errorf("record %d: negative RetryIn %s", rec.ID, step.RetryIn)
	}
	now := func(col string) assignment { return setSQL(col, "NOW(6)") }
	null := func(col string) assignment { return setSQL(col, "NULL") }
	set = []assignment{setValue("state", string(step.To)), setValue("last_error", nullString(clip(step.Error, maxError))), now("updated_at")}
	if src := step.Source; src != nil {
		set = append(set, setValue("source_version", nullString(src.VersionID)), setValue("source_size", nullSize(src.Size)),
			setValue("source_etag", nullString(src.ETag)), setValue("source_checksum", nullString(formatChecksum(src.Checksum))),
			setValue("source_modified", sql.NullTime{Time: src.LastModified.UTC(), Valid: !src.LastModified.IsZero()}),
			now("source_seen_at"))
	}
	if c := step.Copy; c != nil {
		set = append(set, setValue("trash_bucket", c.Bucket), setValue("trash_key", c.Key), setValue("trash_etag", nullString(c.ETag)),
			setValue("trash_size", nullSize(c.Size)), setValue("trash_checksum", nullString(formatChecksum(c.Checksum))),
			setValue("storage_class", nullString(c.StorageClass)))
		if step.To != reconcile.StateArchived {
			set = append(set, now("copied_at"))
		}
	} else if step.TrashKey != "" {
		set = append(set, setValue("trash_key", step.TrashKey))
	}
	// A step's time is stamped when the record enters the step's state: a
	// step recorded under the state the record is already in (a restore's
	// bookkeeping, say) keeps the times it had.
	entering := rec.State != step.To
	switch {
	case !entering:
		if step.To == reconcile.StateRestored {
			set = append(set, setValue("restored_key", nullString(step.RestoredKey)))
		}
	case step.To == reconcile.StateInTrash:
		set = append(set, now("source_deleted_at"))
	case step.To == reconcile.StateArchived:
		set = append(set, now("archived_at"))
	case step.To == reconcile.StateRestored:
		set = append(set, now("restored_at"), setValue("restored_key", nullString(step.RestoredKey)))
	}
	switch {
	case !step.To.Final():
		set = append(set, null("finished_at"))
	case entering:
		set = append(set, now("finished_at"))
	}
	if step.To == reconcile.StateShared {
		set = append(set, setValue("shared_with", step.SharedWith))
	} else {
		set = append(set, null("shared_with"))
	}
	switch {
	case step.Upload != nil:
		set = append(set, setValue("upload_key", step.Upload.Key), setValue("upload_id", step.Upload.ID))
	case step.ClearUpload:
		set = append(set, null("upload_key"), null("upload_id"))
	}
	switch {
	case step.Failed:
		set = append(set, setSQL("attempts", "attempts + 1"), setSQL("failing_since", "COALESCE(failing_since, NOW(6))"))
	case step.Error == "" && step.To != reconcile.StatePending:
		// Progress (a verified copy, the object in the trash, a restore
		// under way): the run of failures is over. Recording the source
		// as read at the start of an attempt is no progress.
		set = append(set, setValue("attempts", 0), null("failing_since"))
	}
	if step.RetryIn > 0 {
		set = append(set, setSQL("next_attempt_at", "NOW(6) + INTERVAL ? MICROSECOND", max(step.RetryIn.Microseconds(), 1)))
	}
	// A move is done with a record at in_trash and after, but a restore
	// works on those states (it records a copy back in parts under them):
	// its lease goes only with RetryIn or Release, as every end of a
	// restore says.
	done := !step.To.Movable() && !rec.RestoreRequested
	releases = step.RetryIn > 0 || step.Release || done
	switch {
	case releases:
		set = append(set, release()...)
	case step.Renew > 0:
		set = append(set, renewal(step.Renew))
	}
	return set, releases, nil
}

// release gives a lease up.
func release() []assignment {
	return []assignment{setSQL("lease_owner", "NULL"), setSQL("lease_token", "NULL"), setSQL("lease_expires_at", "NULL")}
}

// renewal extends a lease to d from now, by the database clock.
func renewal(d time.Duration) assignment {
	return setSQL("lease_expires_at", "NOW(6) + INTERVAL ? MICROSECOND", d.Microseconds())
}

// AdoptCopy records step for rec — the move of rec into the trash copy of
// another record of the same object, other — if other's copy is still
// there to share: other still names it (trash_key), holds it (a state in
// which a copy is relied on) and is not being restored. other's row is
// locked for the check, so a restore of other, which is marked (an UPDATE of
// that row) before it may remove the copy, either comes first and is seen,
// or comes after and counts rec among the copy's holders. rec takes other's
// copied_at: S3 counts a copy's age, for the lifecycle rule's transition
// and expiration, from the object's creation, and there is one object.
// reconcile.ErrNotFound when the copy can no longer be shared.
func (s *Store) AdoptCopy(ctx context.Context, rec, other reconcile.Record, step reconcile.Step) error {
	set, releases, err := stepSet(rec, step)
	if err != nil {
		return err
	}
	err = retryDeadlock(ctx, func() error {
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			return err
		}
		defer tx.Rollback() // after Commit, a no-op
		var copiedAt sql.NullTime
		err = tx.QueryRowContext(ctx, "SELECT copied_at FROM trash_objects WHERE id = ? AND trash_key = ? AND restore_requested_at IS NULL"+
			" AND state IN "+copyHolderSQL+" FOR UPDATE", other.ID, other.Copy.Key).Scan(&copiedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("the copy of record %d: %w: it is being restored or no longer held", other.ID, reconcile.ErrNotFound)
		}
		if err != nil {
			return err
		}
		// A holder without copied_at (none should be) leaves rec the time of
		// the adoption: without one, its copy would never be checked for
		// its transition.
		set := append(slices.DeleteFunc(slices.Clone(set), func(a assignment) bool { return a.col == "copied_at" }),
			setSQL("copied_at", "COALESCE(?, NOW(6))", copiedAt))
		row := fencedRow{rec: rec, set: set, releases: releases, to: step.To}
		if err := s.writeFenced(ctx, tx, []fencedRow{row})[0]; err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("record %d as %s, sharing the copy of record %d: %w", rec.ID, step.To, other.ID, err)
	}
	return nil
}

// RenewLeases extends the leases of recs to d from now by the database
// clock, in one fenced UPDATE per chunk: one error per record,
// reconcile.ErrLeaseLost for a lease no longer held. A lease that expired
// but was not taken over is still held: its token is unchanged.
func (s *Store) RenewLeases(ctx context.Context, recs []reconcile.Record, d time.Duration) []error {
	errs := make([]error, len(recs))
	if d < time.Microsecond {
		for i, rec := range recs {
			errs[i] = fmt.Errorf("renew lease of record %d: %s is too short", rec.ID, d)
		}
		return errs
	}
	rows := make([]fencedRow, len(recs))
	for i, rec := range recs {
		rows[i] = fencedRow{rec: rec, set: []assignment{renewal(d), setSQL("updated_at", "NOW(6)")}}
	}
	for i, err := range s.writeFenced(ctx, s.db, rows) {
		if err != nil {
			errs[i] = fmt.Errorf("renew lease of record %d: %w", recs[i].ID, err)
		}
	}
	return errs
}

// Release gives up rec's lease without changing its state, for shutdown: the
// record is claimable again at once (a release is no attempt).
// reconcile.ErrLeaseLost if the lease is no longer held.
func (s *Store) Release(ctx context.Context, rec reconcile.Record) error {
	set := append(release(), setSQL("updated_at", "NOW(6)"))
	if err := s.writeFenced(ctx, s.db, []fencedRow{{rec: rec, set: set, releases: true, to: rec.State}})[0]; err != nil {
		return fmt.Errorf("release record %d: %w", rec.ID, err)
	}
	return nil
}

// nullSize stores reconcile.SizeUnknown as NULL.
func nullSize(n int64) sql.NullInt64 {
	return sql.NullInt64{Int64: n, Valid: n != reconcile.SizeUnknown}
}
