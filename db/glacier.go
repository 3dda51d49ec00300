package db

import (
	"context"
	"database/sql"
	"fmt"

	"trashd/reconcile"
)

var (
	_ reconcile.Archiver        = (*Store)(nil)
	_ reconcile.RestoreRequests = (*Store)(nil)
)

// RequestRestores marks for restore every record whose LMS row is no longer
// trashed (the LMS cleared the flag): no pass moves it again, and the restore
// claims take it. It returns how many it marked.
func (s *Store) RequestRestores(ctx context.Context) (int, error) {
	t := s.lms
	// A plain (non-locking) read of the LMS table, then updates of trashd's
	// own rows by key: the LMS's rows are never locked.
	ids, err := s.selectIDs(ctx, "SELECT t.id FROM trash_objects AS t JOIN "+quote(t.Table)+" AS l ON l."+quote(t.IDColumn)+" = t.lms_id"+
		" WHERE t.restore_requested_at IS NULL AND t.state IN ('pending', 'copied', 'in_trash', 'archived')"+
		" AND NOT COALESCE("+t.trashedSQL("l")+", FALSE)")
	if err != nil {
		return 0, fmt.Errorf("find records whose LMS row was restored: %w", err)
	}
	n, err := s.updateIDs(ctx, ids, "restore_requested_at = NOW(6), next_attempt_at = NOW(6), attempts = 0, updated_at = NOW(6)",
		"restore_requested_at IS NULL AND state IN ('pending', 'copied', 'in_trash', 'archived')")
	if err != nil {
		return n, fmt.Errorf("mark records whose LMS row was restored: %w", err)
	}
	return n, nil
}

// Retrash starts over the records of rows the LMS trashed again after
// trashd had restored them: pending again, with the row's key as it is now.
func (s *Store) Retrash(ctx context.Context) (int, error) {
	t := s.lms
	bucket := "NULL"
	if t.BucketColumn != "" {
		bucket = "l." + quote(t.BucketColumn)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT t.id, l."+quote(t.KeyColumn)+", "+bucket+
		" FROM trash_objects AS t JOIN "+quote(t.Table)+" AS l ON l."+quote(t.IDColumn)+" = t.lms_id"+
		" WHERE t.state = 'restored' AND "+t.trashedSQL("l"))
	if err != nil {
		return 0, fmt.Errorf("find restored rows trashed again: %w", err)
	}
	type again struct {
		id          int64
		key, bucket sql.NullString
	}
	var list []again
	for rows.Next() {
		var a again
		if err := rows.Scan(&a.id, &a.key, &a.bucket); err != nil {
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
		res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET state = 'pending', source_bucket = ?, source_key = ?,"+
			" source_version = NULL, source_size = NULL, source_etag = NULL, source_checksum = NULL, trash_bucket = NULL,"+
			" trash_key = NULL, trash_etag = NULL, storage_class = NULL, attempts = 0, next_attempt_at = NOW(6),"+
			" source_seen_at = NULL, copied_at = NULL, source_deleted_at = NULL, archived_at = NULL, finished_at = NULL,"+
			" restore_requested_at = NULL, restored_at = NULL, restored_key = NULL, transition_checked_at = NULL,"+
			" last_error = NULL, updated_at = NOW(6) WHERE id = ? AND state = 'restored'", b, a.key.String, a.id)
		if err != nil {
			return n, fmt.Errorf("start over record %d: %w", a.id, err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}

// selectIDs runs a query that returns ids.
func (s *Store) selectIDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// updateIDs sets set on the records ids that still match where, 500 at a
// time, and returns how many it changed.
func (s *Store) updateIDs(ctx context.Context, ids []int64, set, where string) (int, error) {
	n := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET "+set+" WHERE id IN ("+placeholders(len(chunk))+") AND "+where, args...)
		if err != nil {
			return n, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += int(k)
	}
	return n, nil
}

// RequestRestore marks the record of LMS row lmsID for restore, whatever the
// row's flag says (`trashd restore`), and returns it.
func (s *Store) RequestRestore(ctx context.Context, lmsID int64) (reconcile.Record, error) {
	_, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET restore_requested_at = COALESCE(restore_requested_at, NOW(6)),"+
		" next_attempt_at = NOW(6), attempts = 0, updated_at = NOW(6)"+
		" WHERE lms_id = ? AND state IN ('pending', 'copied', 'in_trash', 'archived', 'restoring', 'restore_failed')", lmsID)
	if err != nil {
		return reconcile.Record{}, fmt.Errorf("request the restore of LMS row %d: %w", lmsID, err)
	}
	// A failed restore asked for again starts over.
	if _, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET state = 'restoring', finished_at = NULL WHERE lms_id = ? AND state = 'restore_failed'", lmsID); err != nil {
		return reconcile.Record{}, fmt.Errorf("request the restore of LMS row %d: %w", lmsID, err)
	}
	return s.RecordOf(ctx, lmsID)
}

// RecordOf reads the record of LMS row lmsID.
func (s *Store) RecordOf(ctx context.Context, lmsID int64) (reconcile.Record, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+recordColumns+" FROM trash_objects WHERE lms_id = ?", lmsID)
	if err != nil {
		return reconcile.Record{}, fmt.Errorf("read the record of LMS row %d: %w", lmsID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return reconcile.Record{}, err
		}
		return reconcile.Record{}, fmt.Errorf("LMS row %d: %w: trashd has no record of it", lmsID, reconcile.ErrNotFound)
	}
	return scanRecord(rows)
}

// MarkOrphans records as orphaned every record in the trash bucket whose LMS
// row is gone altogether: nobody can restore it, and the lifecycle rule
// decides its fate.
func (s *Store) MarkOrphans(ctx context.Context) (int, error) {
	t := s.lms
	ids, err := s.selectIDs(ctx, "SELECT t.id FROM trash_objects AS t LEFT JOIN "+quote(t.Table)+" AS l ON l."+quote(t.IDColumn)+" = t.lms_id"+
		" WHERE l."+quote(t.IDColumn)+" IS NULL AND t.state IN ('in_trash', 'archived') AND t.lease_token IS NULL")
	if err != nil {
		return 0, fmt.Errorf("find records whose LMS row is gone: %w", err)
	}
	n, err := s.updateIDs(ctx, ids, "state = 'orphaned', finished_at = NOW(6), updated_at = NOW(6)",
		"state IN ('in_trash', 'archived') AND lease_token IS NULL")
	if err != nil {
		return n, fmt.Errorf("mark records whose LMS row is gone: %w", err)
	}
	return n, nil
}

// TransitionCandidates returns up to q.Limit records to check with HEAD:
// in_trash records at least q.MinSize bytes, copied at least q.Age ago (by
// the database clock), least recently checked first; and, when q.ExpireAge
// > 0, archived records copied at least that long ago, which the rule's
// expiration may have removed.
func (s *Store) TransitionCandidates(ctx context.Context, q reconcile.TransitionQuery) ([]reconcile.TransitionCandidate, error) {
	expirable := "FALSE"
	where := "(state = 'in_trash' AND source_size >= ? AND copied_at <= NOW(6) - INTERVAL ? MICROSECOND)"
	args := []any{q.MinSize, q.Age.Microseconds()}
	if q.ExpireAge > 0 {
		expirable = fmt.Sprintf("copied_at <= NOW(6) - INTERVAL %d MICROSECOND", q.ExpireAge.Microseconds())
		where = "(" + where + " OR (state IN ('in_trash', 'archived') AND " + expirable + "))"
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+recordColumns+", "+expirable+" FROM trash_objects"+
		" WHERE "+where+" AND restore_requested_at IS NULL AND lease_token IS NULL"+
		" ORDER BY transition_checked_at IS NOT NULL, transition_checked_at, id LIMIT ?", append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("find records to check for their transition: %w", err)
	}
	defer rows.Close()
	var out []reconcile.TransitionCandidate
	for rows.Next() {
		var c reconcile.TransitionCandidate
		r, err := scanRecord(rows, &c.Expirable)
		if err != nil {
			return nil, err
		}
		c.Record = r
		out = append(out, c)
	}
	return out, rows.Err()
}

// MarkChecked records that rec's trash copy was seen in storage class class:
// archived when archived is true (S3 transitioned it), else only the time of
// the check. A record that meanwhile left in_trash (a restore) is left alone.
func (s *Store) MarkChecked(ctx context.Context, rec reconcile.Record, class string, archived bool) (bool, error) {
	set := "transition_checked_at = NOW(6), storage_class = ?, updated_at = NOW(6)"
	if archived {
		set += ", state = 'archived', archived_at = NOW(6), finished_at = NOW(6)"
	}
	res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET "+set+
		" WHERE id = ? AND state = 'in_trash' AND restore_requested_at IS NULL AND lease_token IS NULL", nullString(class), rec.ID)
	if err != nil {
		return false, fmt.Errorf("record the transition check of record %d: %w", rec.ID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// MarkGone records that rec's trash copy no longer exists: expired (the
// rule's expiration removed it, as configured) or missing (it should be
// there), with the reason.
func (s *Store) MarkGone(ctx context.Context, rec reconcile.Record, state reconcile.State, reason string) (bool, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET state = ?, last_error = ?, finished_at = NOW(6), updated_at = NOW(6)"+
		" WHERE id = ? AND state IN ('in_trash', 'archived') AND restore_requested_at IS NULL AND lease_token IS NULL",
		string(state), nullString(clip(reason, maxError)), rec.ID)
	if err != nil {
		return false, fmt.Errorf("record record %d as %s: %w", rec.ID, state, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Archive reads what the trash bucket holds by storage class, what is
// overdue and what S3 will not transition, for `trashd status`.
func (s *Store) Archive(ctx context.Context, q reconcile.ArchiveQuery) (reconcile.ArchiveStatus, error) {
	var st reconcile.ArchiveStatus
	err := s.db.QueryRowContext(ctx, "SELECT"+
		" COALESCE(SUM(state = 'in_trash' AND source_size >= ? AND copied_at <= NOW(6) - INTERVAL ? MICROSECOND), 0),"+
		" COALESCE(SUM(CASE WHEN state = 'in_trash' AND source_size >= ? AND copied_at <= NOW(6) - INTERVAL ? MICROSECOND THEN source_size END), 0),"+
		" COALESCE(SUM(state IN ('in_trash', 'orphaned') AND source_size < ?), 0),"+
		" COALESCE(SUM(CASE WHEN state IN ('in_trash', 'orphaned') AND source_size < ? THEN source_size END), 0)"+
		" FROM trash_objects",
		q.MinSize, q.OverdueAge.Microseconds(), q.MinSize, q.OverdueAge.Microseconds(), q.MinSize, q.MinSize,
	).Scan(&st.Overdue, &st.OverdueBytes, &st.Ineligible, &st.IneligibleBytes)
	if err != nil {
		return st, fmt.Errorf("count overdue and ineligible records: %w", err)
	}
	// S3 omits STANDARD from HEAD, some servers name it: both are one class.
	rows, err := s.db.QueryContext(ctx, "SELECT COALESCE(NULLIF(storage_class, ''), 'STANDARD'), COUNT(*), COALESCE(SUM(source_size), 0),"+
		" COALESCE(SUM(archived_at > NOW(6) - INTERVAL (CASE storage_class WHEN 'DEEP_ARCHIVE' THEN 180 WHEN 'GLACIER_IR' THEN 90 ELSE 90 END) DAY), 0),"+
		" COALESCE(SUM(CASE WHEN archived_at > NOW(6) - INTERVAL (CASE storage_class WHEN 'DEEP_ARCHIVE' THEN 180 ELSE 90 END) DAY THEN source_size END), 0)"+
		" FROM trash_objects WHERE state IN ('in_trash', 'archived', 'restoring', 'orphaned', 'restore_failed')"+
		" GROUP BY COALESCE(NULLIF(storage_class, ''), 'STANDARD') ORDER BY 1")
	if err != nil {
		return st, fmt.Errorf("sum the trash bucket by storage class: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u reconcile.ClassUsage
		if err := rows.Scan(&u.Class, &u.Objects, &u.Bytes, &u.Young, &u.YoungBytes); err != nil {
			return st, err
		}
		st.Classes = append(st.Classes, u)
	}
	return st, rows.Err()
}

// Overdue lists up to limit in_trash records that should have been
// transitioned by now (q's size and age), oldest first.
func (s *Store) Overdue(ctx context.Context, q reconcile.ArchiveQuery, limit int) ([]reconcile.OverdueRecord, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT lms_id, source_bucket, source_key, COALESCE(trash_key, ''), COALESCE(source_size, 0),"+
		" copied_at, transition_checked_at, COALESCE(storage_class, '') FROM trash_objects"+
		" WHERE state = 'in_trash' AND source_size >= ? AND copied_at <= NOW(6) - INTERVAL ? MICROSECOND"+
		" ORDER BY copied_at, id LIMIT ?", q.MinSize, q.OverdueAge.Microseconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("list overdue records: %w", err)
	}
	defer rows.Close()
	var out []reconcile.OverdueRecord
	for rows.Next() {
		var o reconcile.OverdueRecord
		var checked sql.NullTime
		if err := rows.Scan(&o.LMSID, &o.Bucket, &o.Key, &o.TrashKey, &o.Size, &o.CopiedAt, &checked, &o.StorageClass); err != nil {
			return nil, err
		}
		o.CheckedAt = checked.Time
		out = append(out, o)
	}
	return out, rows.Err()
}

// Records returns up to limit records with id > after, in id order, for
// the audit.
func (s *Store) Records(ctx context.Context, after int64, limit int) ([]reconcile.Record, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+recordColumns+" FROM trash_objects WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	defer rows.Close()
	var out []reconcile.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
