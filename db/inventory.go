package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"trashd/reconcile"
)

var _ reconcile.InventoryRecords = (*Store)(nil)

// waitingSQL: an in_trash record as TransitionCandidates selects it (the
// overdue copies, with their two arguments), not leased and no restore
// requested.
var waitingSQL = overdueSQL + " AND restore_requested_at IS NULL AND lease_token IS NULL"

// WaitingCopies returns up to limit in_trash records that q selects (its
// size and age; q.Limit aside) with id > after, in id order, whose copy is
// in bucket (a record that names no trash bucket is in the configured one,
// which bucket is) and was made no later than copiedBy.
func (s *Store) WaitingCopies(ctx context.Context, q reconcile.TransitionQuery, bucket string, copiedBy time.Time, after int64, limit int) ([]reconcile.WaitingCopy, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, life, "+copyKeySQL+", COALESCE(trash_size, source_size, -1),"+
		" COALESCE(trash_etag, source_etag, ''), transition_checked_at FROM trash_objects"+
		" WHERE "+waitingSQL+" AND COALESCE(trash_bucket, ?) = ? AND copied_at <= ? AND id > ? ORDER BY id LIMIT ?",
		q.MinSize, q.Age.Microseconds(), bucket, bucket, copiedBy.UTC(), after, limit)
	if err != nil {
		return nil, fmt.Errorf("read records waiting for their transition: %w", err)
	}
	defer rows.Close()
	out := make([]reconcile.WaitingCopy, 0, limit)
	for rows.Next() {
		var (
			w       reconcile.WaitingCopy
			checked sql.NullTime
		)
		if err := rows.Scan(&w.ID, &w.Life, &w.Key, &w.Size, &w.ETag, &checked); err != nil {
			return nil, err
		}
		w.Checked = checked.Time
		out = append(out, w)
	}
	return out, rows.Err()
}

// copyKeySQL is a record's copy as WaitingCopies reads it.
const copyKeySQL = "COALESCE(trash_key, '')"

// MarkArchived records copies archived in class, as MarkChecked does one
// that a HEAD found archived, for the records still in the life and with
// the copy each was matched on (reconcile.CopyKeyHash of its key, computed
// here by MySQL), in_trash, unleased, without a restore requested and
// copied no later than copiedBy (a copy made since is not the one the
// report listed).
func (s *Store) MarkArchived(ctx context.Context, copies []reconcile.MatchedCopy, class string, copiedBy time.Time) (int, error) {
	if len(copies) == 0 {
		return 0, nil
	}
	args := []any{nullString(class)}
	// Sizes a record left to be filled, from the report.
	// (Each column gets its own CASE: the order in which MySQL and MariaDB
	// apply a SET's assignments is not relied on.)
	fill, sizes := "", []any{}
	for _, c := range copies {
		if c.Size != reconcile.SizeUnknown {
			fill += " WHEN ? THEN ?"
			sizes = append(sizes, c.ID, c.Size)
		}
	}
	if fill != "" {
		fill = ", trash_size = COALESCE(trash_size, CASE id" + fill + " END), source_size = COALESCE(source_size, CASE id" + fill + " END)"
		args = append(append(args, sizes...), sizes...)
	}
	for _, c := range copies {
		args = append(args, c.ID)
	}
	for _, c := range copies {
		args = append(args, c.ID, c.Life, c.KeyHash[:])
	}
	args = append(args, copiedBy.UTC())
	matched := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(copies)), ", ")
	res, err := s.db.ExecContext(ctx, "UPDATE trash_objects SET transition_checked_at = NOW(6), storage_class = ?, updated_at = NOW(6),"+
		" state = "+stateSQL(reconcile.StateArchived)+", archived_at = NOW(6), finished_at = NOW(6)"+fill+
		" WHERE id IN ("+placeholders(len(copies))+")"+
		" AND (id, life, UNHEX(LEFT(SHA2(CONCAT("+copyKeySQL+", CHAR(0)), 256), 32))) IN ("+matched+")"+
		" AND state = "+stateSQL(reconcile.StateInTrash)+
		" AND restore_requested_at IS NULL AND lease_token IS NULL AND copied_at <= ?", args...)
	if err != nil {
		return 0, fmt.Errorf("record %d copies archived in %s: %w", len(copies), class, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
