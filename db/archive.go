package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"trashd/reconcile"
)

var _ reconcile.Archiver = (*Store)(nil)

// TransitionCandidates returns up to q.Limit records to check with HEAD:
// in_trash records at least q.MinSize bytes, copied at least q.Age ago (by
// the database clock), least recently checked first; and, when q.ExpireAge
// > 0, archived records copied at least that long ago, which the rule's
// expiration may have removed; and, when q.RemoveAge > 0, in_trash and
// archived records copied at least that long ago, which a rule that is not
// trashd's may have removed.
func (s *Store) TransitionCandidates(ctx context.Context, q reconcile.TransitionQuery) ([]reconcile.TransitionCandidate, error) {
	expirable := "FALSE"
	where := "(" + overdueSQL + ")"
	args := []any{q.MinSize, q.Age.Microseconds()}
	if inv := q.Inventory; inv != nil {
		// A report confirmed the rest: only what it could not list or confirm.
		narrow := "copied_at > ?"
		args = append(args, inv.CopiedAfter.UTC())
		if len(inv.IDs) > 0 {
			narrow += " OR id IN (" + placeholders(len(inv.IDs)) + ")"
			for _, id := range inv.IDs {
				args = append(args, id)
			}
		}
		where = "(" + overdueSQL + " AND (" + narrow + "))"
	}
	if q.ExpireAge > 0 {
		expirable = fmt.Sprintf("copied_at <= NOW(6) - INTERVAL %d MICROSECOND", q.ExpireAge.Microseconds())
		where = "(" + where + " OR (state IN " + inTrashSQL + " AND " + expirable + "))"
	}
	if q.RemoveAge > 0 {
		where = "(" + where + fmt.Sprintf(" OR (state IN "+inTrashSQL+" AND copied_at <= NOW(6) - INTERVAL %d MICROSECOND))", q.RemoveAge.Microseconds())
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
		set += ", state = " + stateSQL(reconcile.StateArchived) + ", archived_at = NOW(6), finished_at = NOW(6)"
	}
	// Archived records are checked too (for the rule's expiration): each
	// check moves the record to the back of the queue, so that every copy
	// is looked at in turn.
	where := "state IN " + inTrashSQL
	if archived {
		where = "state = " + stateSQL(reconcile.StateInTrash)
	}
	res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET "+set+
		" WHERE id = ? AND "+where+" AND restore_requested_at IS NULL AND lease_token IS NULL", nullString(class), rec.ID)
	if err != nil {
		return false, fmt.Errorf("record the transition check of record %d: %w", rec.ID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// FillSize records size, which a HEAD of rec's trash copy found, as the
// copy's and the source's where rec left them to be filled (moved by its
// copy's answer alone): only while the record still names that copy (its
// life, key and ETag) and the sizes are still NULL; the source's only where
// the source's identity is recorded (the copy was proven to hold its
// bytes). False when nothing was to be filled.
func (s *Store) FillSize(ctx context.Context, rec reconcile.Record, size int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET trash_size = ?,"+
		" source_size = CASE WHEN source_etag IS NOT NULL THEN COALESCE(source_size, ?) ELSE source_size END"+
		" WHERE id = ? AND life = ? AND trash_key = ? AND trash_etag = ? AND trash_size IS NULL",
		size, size, rec.ID, rec.Life, rec.Copy.Key, rec.Copy.ETag)
	if err != nil {
		return false, fmt.Errorf("record the size of the trash copy of record %d: %w", rec.ID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// MarkGone records that rec's trash copy no longer exists: expired (the
// rule's expiration removed it, as configured) or removed (something else
// did), with the reason.
func (s *Store) MarkGone(ctx context.Context, rec reconcile.Record, state reconcile.State, reason string) (bool, error) {
	return s.markGone(ctx, rec, state, reason, 0)
}

// MarkExpired records rec expired, with the reason, if its copy was made at
// least age ago (by the database clock): trashd's rule expired it then.
func (s *Store) MarkExpired(ctx context.Context, rec reconcile.Record, age time.Duration, reason string) (bool, error) {
	return s.markGone(ctx, rec, reconcile.StateExpired, reason, age)
}

func (s *Store) markGone(ctx context.Context, rec reconcile.Record, state reconcile.State, reason string, age time.Duration) (bool, error) {
	old := ""
	if age > 0 {
		old = fmt.Sprintf(" AND copied_at <= NOW(6) - INTERVAL %d MICROSECOND", age.Microseconds())
	}
	res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET state = ?, last_error = ?, finished_at = NOW(6), updated_at = NOW(6)"+
		" WHERE id = ? AND state IN "+inTrashSQL+" AND restore_requested_at IS NULL AND lease_token IS NULL"+old+
		// The copy that was looked at, not one a later life recorded since.
		" AND COALESCE(trash_key, '') = ? AND life = ?",
		string(state), nullString(clip(reason, maxError)), rec.ID, rec.TrashKey, rec.Life)
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
		" COALESCE(SUM("+overdueSQL+"), 0),"+
		" COALESCE(SUM(CASE WHEN "+overdueSQL+" THEN source_size END), 0),"+
		" COALESCE(SUM("+ineligibleSQL+"), 0),"+
		" COALESCE(SUM(CASE WHEN "+ineligibleSQL+" THEN source_size END), 0)"+
		" FROM trash_objects",
		q.MinSize, q.OverdueAge.Microseconds(), q.MinSize, q.OverdueAge.Microseconds(), q.MinSize, q.MinSize,
	).Scan(&st.Overdue, &st.OverdueBytes, &st.Ineligible, &st.IneligibleBytes)
	if err != nil {
		return st, fmt.Errorf("count overdue and ineligible records: %w", err)
	}
	// S3 omits STANDARD from HEAD, some servers name it: both are one class.
	rows, err := s.db.QueryContext(ctx, "SELECT COALESCE(NULLIF(storage_class, ''), 'STANDARD'), COUNT(*), COALESCE(SUM(source_size), 0),"+
		" COALESCE(SUM("+youngSQL+"), 0),"+
		" COALESCE(SUM(CASE WHEN "+youngSQL+" THEN source_size END), 0)"+
		" FROM trash_objects WHERE state IN "+trashBucketSQL+

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
		" WHERE "+overdueSQL+
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

// The predicates of the archive queries, each written once.
var (
	// overdueSQL: an in_trash copy at least ? bytes, copied at least ?
	// microseconds ago (by the database clock), that is not archived yet.
	overdueSQL = "state = " + stateSQL(reconcile.StateInTrash) + " AND (source_size >= ? OR source_size IS NULL) AND copied_at <= NOW(6) - INTERVAL ? MICROSECOND"
	// ineligibleSQL: a copy under ? bytes, which S3 does not transition.
	ineligibleSQL = "state IN " + inStates([]reconcile.State{reconcile.StateInTrash, reconcile.StateOrphaned}) + " AND source_size < ?"
	// trashBucketSQL: the records whose copy is in the trash bucket.
	trashBucketSQL = inStates([]reconcile.State{reconcile.StateInTrash, reconcile.StateArchived, reconcile.StateRestoring,
		reconcile.StateOrphaned, reconcile.StateRestoreFailed})
	// youngSQL: archived more recently than its class's minimum storage
	// duration, built from reconcile.MinStorageDays.
	youngSQL = "archived_at > NOW(6) - INTERVAL (" + minStorageDaysSQL() + ") DAY"
)

// minStorageDaysSQL is reconcile.MinStorageDays as a CASE over storage_class.
func minStorageDaysSQL() string {
	var b strings.Builder
	b.WriteString("CASE storage_class")
	for _, class := range reconcile.ArchiveClasses {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", class, reconcile.MinStorageDays(class))
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}
