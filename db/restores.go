package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"trashd/reconcile"
)

var _ reconcile.RestoreRequests = (*Store)(nil)

// RestoreCandidates lists the records whose LMS row is no longer trashed
// (the LMS cleared the flag) and whose restore is not yet requested. It
// changes nothing: the runner weighs the number first (the mass-change
// brake), then MarkRestores.
func (s *Store) RestoreCandidates(ctx context.Context) ([]int64, error) {
	t := s.lms
	// A plain (non-locking) read of the LMS table, then updates of trashd's
	// own rows by key: the LMS's rows are never locked.
	ids, err := s.selectIDs(ctx, "SELECT t.id FROM trash_objects AS t JOIN "+quote(t.Table)+" AS l ON l."+quote(t.IDColumn)+" = t.lms_id"+
		" WHERE t.restore_requested_at IS NULL AND t.state IN "+restorableSQL+
		" AND "+t.untrashedSQL("l"))
	if err != nil {
		return nil, fmt.Errorf("find records whose LMS row was restored: %w", err)
	}
	return ids, nil
}

// RequestRestores marks for restore every record whose LMS row is no longer
// trashed, with no brake: RestoreCandidates then MarkRestores.
func (s *Store) RequestRestores(ctx context.Context) (int, error) {
	ids, err := s.RestoreCandidates(ctx)
	if err != nil {
		return 0, err
	}
	return s.MarkRestores(ctx, ids)
}

// MarkRestores marks records ids for restore (those still restorable and not
// yet marked): no pass moves them again, and the restore claims take them.
func (s *Store) MarkRestores(ctx context.Context, ids []int64) (int, error) {
	n, err := s.updateIDs(ctx, ids, "restore_requested_at = NOW(6), next_attempt_at = NOW(6), attempts = 0, failing_since = NULL, updated_at = NOW(6)",
		"restore_requested_at IS NULL AND state IN "+restorableSQL)
	if err != nil {
		return n, fmt.Errorf("mark records whose LMS row was restored: %w", err)
	}
	return n, nil
}

// CountRetrash counts the restored records whose LMS row is trashed again:
// what Retrash would start over.
func (s *Store) CountRetrash(ctx context.Context) (int, error) {
	t := s.lms
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM trash_objects AS t JOIN "+quote(t.Table)+" AS l ON l."+quote(t.IDColumn)+" = t.lms_id"+
		" WHERE t.state = "+stateSQL(reconcile.StateRestored)+" AND "+t.trashedSQL("l")).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count restored rows trashed again: %w", err)
	}
	return n, nil
}

// Retrash starts over the records of rows the LMS trashed again after
// trashd had restored them: pending again. The object is where the restore
// put it: the original key, or beside it when the key held a newer file
// (restored_key), which is kept so that it is never forgotten. A row whose
// key cannot be stored is recorded failed alone, with the reason.
func (s *Store) Retrash(ctx context.Context) (int, error) {
	t := s.lms
	bucket := "NULL"
	if t.BucketColumn != "" {
		bucket = "l." + quote(t.BucketColumn)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT t.id, t.lms_id, l."+quote(t.KeyColumn)+", "+bucket+", t.restored_key"+
		" FROM trash_objects AS t JOIN "+quote(t.Table)+" AS l ON l."+quote(t.IDColumn)+" = t.lms_id"+
		" WHERE t.state = "+stateSQL(reconcile.StateRestored)+" AND "+t.trashedSQL("l"))
	if err != nil {
		return 0, fmt.Errorf("find restored rows trashed again: %w", err)
	}
	type again struct {
		id, lmsID             int64
		key, bucket, restored sql.NullString
	}
	var list []again
	for rows.Next() {
		var a again
		if err := rows.Scan(&a.id, &a.lmsID, &a.key, &a.bucket, &a.restored); err != nil {
			rows.Close()
			return 0, err
		}
		list = append(list, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, a := range list {
		b := a.bucket.String
		if b == "" {
			b = t.DefaultBucket
		}
		key := a.key.String
		if a.restored.Valid && a.restored.String != "" {
			// Where the bytes are: beside the original key, if that is
			// where the restore had to put them.
			key = a.restored.String
		}
		state, b, key, reason := storable(reconcile.TrashedRow{LMSID: a.lmsID, Bucket: b, Key: key})
		finished := "NULL"
		if reason != "" {
			finished = "NOW(6)"
		}
		res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET state = ?, source_bucket = ?, source_key = ?,"+
			" source_version = NULL, source_size = NULL, source_etag = NULL, source_checksum = NULL, trash_bucket = NULL,"+
			" trash_key = NULL, trash_etag = NULL, trash_size = NULL, trash_checksum = NULL, storage_class = NULL,"+
			" attempts = 0, failing_since = NULL, next_attempt_at = NOW(6), discovered_at = NOW(6),"+
			" source_seen_at = NULL, copied_at = NULL, source_deleted_at = NULL, archived_at = NULL, finished_at = "+finished+","+
			" restore_requested_at = NULL, restored_at = NULL, transition_checked_at = NULL, shared_with = NULL, life = life + 1,"+
			" last_error = ?, updated_at = NOW(6) WHERE id = ? AND state = "+stateSQL(reconcile.StateRestored),
			string(state), b, key, nullString(reason), a.id)
		if err != nil {
			return n, fmt.Errorf("start over record %d: %w", a.id, err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}

// RequestRestore marks the record of LMS row lmsID for restore
// (`trashd restore`) and returns it. The row must not be trashed in the LMS:
// the next pass would otherwise see a trashed row and move the file again,
// undoing the restore without a word.
func (s *Store) RequestRestore(ctx context.Context, lmsID int64) (reconcile.Record, error) {
	if err := CheckWritable(ctx, s.db); err != nil {
		return reconcile.Record{}, fmt.Errorf("restore LMS row %d: %w", lmsID, err)
	}
	// A file already lost is said so first, whatever the LMS row says.
	if rec, err := s.RecordOf(ctx, lmsID); err == nil && slices.Contains(reconcile.LostStates(), rec.State) {
		return reconcile.Record{}, fmt.Errorf("%w: LMS row %d cannot be restored: its record is %s, and no copy of the file is left to restore from: %s",
			reconcile.ErrPermanent, lmsID, rec.State, rec.LastError)
	}
	trashed, exists, err := s.LMSRowTrashed(ctx, lmsID)
	switch {
	case err != nil:
		return reconcile.Record{}, err
	case !exists:
		return reconcile.Record{}, fmt.Errorf("%w: LMS row %d does not exist in %s: trashd restores only files the LMS still has a row for", reconcile.ErrPermanent, lmsID, s.lms.Table)
	case trashed:
		return reconcile.Record{}, fmt.Errorf("%w: LMS row %d is still trashed in %s: clear its trash flag in the LMS first (trashd never writes the LMS table), then run this again or let the next pass restore it",
			reconcile.ErrPermanent, lmsID, s.lms.Table)
	}
	_, err = s.db.ExecContext(ctx, "UPDATE trash_objects SET restore_requested_at = COALESCE(restore_requested_at, NOW(6)),"+
		" next_attempt_at = NOW(6), attempts = 0, failing_since = NULL, updated_at = NOW(6)"+
		" WHERE lms_id = ? AND (state IN "+restoreClaimSQL+" OR state = "+stateSQL(reconcile.StateRestoreFailed)+")", lmsID)
	if err != nil {
		return reconcile.Record{}, fmt.Errorf("request the restore of LMS row %d: %w", lmsID, err)
	}
	// A failed restore asked for again starts over.
	if _, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET state = "+stateSQL(reconcile.StateRestoring)+
		", finished_at = NULL WHERE lms_id = ? AND state = "+stateSQL(reconcile.StateRestoreFailed), lmsID); err != nil {
		return reconcile.Record{}, fmt.Errorf("request the restore of LMS row %d: %w", lmsID, err)
	}
	return s.RecordOf(ctx, lmsID)
}

// LMSRowTrashed reads whether LMS row lmsID exists and is trashed, with a
// plain (non-locking) read.
func (s *Store) LMSRowTrashed(ctx context.Context, lmsID int64) (trashed, exists bool, err error) {
	t := s.lms
	var flag sql.NullBool
	err = s.db.QueryRowContext(ctx, "SELECT COALESCE("+t.trashedSQL("l")+", FALSE) FROM "+quote(t.Table)+" AS l WHERE l."+quote(t.IDColumn)+" = ?", lmsID).Scan(&flag)
	switch {
	case err == sql.ErrNoRows:
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("read LMS row %d: %w", lmsID, err)
	}
	return flag.Bool, true, nil
}
