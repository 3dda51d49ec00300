package db

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"

	"trashd/reconcile"
)

// trashedSQL is the condition that the LMS row aliased alias is trashed.
func (t LMSTable) trashedSQL(alias string) string {
	switch t.TrashKind {
	case TrashTimestamp:
		return alias + "." + quote(t.TrashColumn) + " IS NOT NULL"
	case TrashValue:
		// Literals, not placeholders, so that every query built on this
		// keeps its arguments: Validate holds each value to letters,
		// digits and _ . : -. NULL IN (…) is NULL: not trashed.
		lits := make([]string, len(t.TrashValues))
		for i, v := range t.TrashValues {
			lits[i] = "'" + v + "'"
		}
		return alias + "." + quote(t.TrashColumn) + " IN (" + strings.Join(lits, ", ") + ")"
	}
	return alias + "." + quote(t.TrashColumn) + " <> 0" // NULL is not trashed
}

// untrashedSQL is the exact negation of trashedSQL, which is NULL for a
// NULL flag: the scan does not take such a row for trashed, so it is live.
func (t LMSTable) untrashedSQL(alias string) string {
	return "NOT COALESCE(" + t.trashedSQL(alias) + ", FALSE)"
}

// ScanTrashed returns up to limit trashed LMS rows with id > after that have
// no record, in id order. A row's bucket is its bucket column when that is
// set and non-empty, else the default bucket. Rows with an empty (or NULL)
// key are returned too: the runner records them failed with the reason.
//
// It walks the table a bounded id range per statement (see scanRange), so
// that no statement reads more than scanMaxSpan rows however few of them are
// trashed; fewer than limit rows means the table has no more.
func (s *Store) ScanTrashed(ctx context.Context, after int64, limit int) ([]reconcile.TrashedRow, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("scan %s: limit %d is not positive", s.lms.Table, limit)
	}
	var out []reconcile.TrashedRow
	for len(out) < limit {
		page, next, done, err := s.scanPage(ctx, after, limit-len(out))
		if err != nil {
			return out, err
		}
		out = append(out, page...)
		if done {
			break
		}
		after = next
	}
	return out, nil
}

// recordChunk bounds the rows of one INSERT (5 placeholders each), far below
// the protocol's 65535 placeholders and max_allowed_packet.
const recordChunk = 500

// RecordTrashed inserts a pending record for each row that has none and
// returns how many it inserted. Rows that already have one, also when
// another host inserts them at the same moment, are left alone.
//
// A row whose bucket or key cannot be stored exactly (not valid UTF-8, a key
// over S3's 1024 bytes, a bucket over 63 characters) can never be moved; it
// is recorded failed at once, with the reason, so that it is reported and
// does not stop discovery. Its stored key is then only an approximation.
func (s *Store) RecordTrashed(ctx context.Context, rows []reconcile.TrashedRow) (int, error) {
	// In id order, so that concurrent inserts of overlapping batches take
	// their locks in the same order.
	rows = slices.SortedFunc(slices.Values(rows), func(a, b reconcile.TrashedRow) int { return cmp.Compare(a.LMSID, b.LMSID) })
	inserted := 0
	for chunk := range slices.Chunk(rows, recordChunk) {
		n, err := s.recordChunk(ctx, chunk)
		inserted += n
		if err != nil {
			return inserted, err
		}
	}
	return inserted, nil
}

func (s *Store) recordChunk(ctx context.Context, rows []reconcile.TrashedRow) (int, error) {
	var q strings.Builder
	// INSERT IGNORE only ever meets duplicate keys here: every value was made
	// to fit its column above, so nothing is silently truncated.
	q.WriteString(`INSERT IGNORE INTO trash_objects
		(lms_id, state, source_bucket, source_key, last_error, finished_at, next_attempt_at, discovered_at, updated_at) VALUES `)
	args := make([]any, 0, 5*len(rows))
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		state, bucket, key, reason := storable(r)
		finished := "NULL"
		if reason != "" {
			finished = "NOW(6)"
		}
		q.WriteString("(?, ?, ?, ?, ?, " + finished + ", NOW(6), NOW(6), NOW(6))")
		args = append(args, r.LMSID, string(state), bucket, key, nullString(reason))
	}
	var res sql.Result
	err := retryDeadlock(ctx, func() error {
		var err error
		res, err = s.db.ExecContext(ctx, q.String(), args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("record %d trashed rows from LMS id %d: %w", len(rows), rows[0].LMSID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("record %d trashed rows from LMS id %d: %w", len(rows), rows[0].LMSID, err)
	}
	return int(n), nil
}

// storable returns what to store for r: pending with its bucket and key, or,
// when they cannot be stored exactly, failed with fitted values and the reason.
func storable(r reconcile.TrashedRow) (state reconcile.State, bucket, key, reason string) {
	reason = r.Unmovable()
	if reason == "" {
		return reconcile.StatePending, r.Bucket, r.Key, ""
	}
	return reconcile.StateFailed, clip(r.Bucket, 63), clip(r.Key, 1024), reason
}

// retryDeadlock runs f again when InnoDB chose it as a deadlock victim
// (error 1213), which rolled back only f's own statement or transaction.
func retryDeadlock(ctx context.Context, f func() error) error {
	var err error
	for range 3 {
		err = f()
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1213 || ctx.Err() != nil {
			return err
		}
	}
	return err
}
