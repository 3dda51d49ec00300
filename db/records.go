package db

import (
	"context"
	"database/sql"
	"fmt"

	"trashd/reconcile"
)

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

// CopyOf finds another record of the same source object (bucket and key)
// whose verified trash copy now holds it: the source was deleted after the
// copy was verified. Several trashed LMS rows naming one object share that
// one copy. MovedAfter reports whether that record deleted the source after
// record except was discovered: only then was the object that except's row
// named the one that was moved.
func (s *Store) CopyOf(ctx context.Context, bucket, key string, except int64) (reconcile.SharedCopy, bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+recordColumnsOf("o")+","+
		" o.source_deleted_at >= (SELECT discovered_at FROM trash_objects WHERE id = ?)"+
		" FROM trash_objects AS o WHERE o.source_bucket = ? AND o.source_key = ? AND CAST(o.source_key AS BINARY) = CAST(? AS BINARY) AND o.id <> ?"+
		" AND o.source_deleted_at IS NOT NULL AND o.trash_key IS NOT NULL AND o.trash_etag IS NOT NULL"+
		" AND o.state IN "+copyHolderSQL+
		" ORDER BY o.source_deleted_at DESC, o.id LIMIT 1", except, bucket, key, key, except)
	if err != nil {
		return reconcile.SharedCopy{}, false, fmt.Errorf("look for another record of s3://%s/%s: %w", bucket, key, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return reconcile.SharedCopy{}, false, rows.Err()
	}
	var (
		c     reconcile.SharedCopy
		after sql.NullBool
	)
	c.Record, err = scanRecord(rows, &after)
	if err != nil {
		return reconcile.SharedCopy{}, false, fmt.Errorf("look for another record of s3://%s/%s: %w", bucket, key, err)
	}
	c.MovedAfter = after.Bool
	return c, true, nil
}

// CopyHolders counts the records other than except that may rely on the
// trash copy at trashKey: a copy one of them names is never removed.
func (s *Store) CopyHolders(ctx context.Context, trashKey string, except int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM trash_objects WHERE trash_key = ? AND id <> ? AND state IN "+copyHolderSQL,
		trashKey, except).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the records relying on trash copy %s: %w", trashKey, err)
	}
	return n, nil
}

// EarlierMove returns the LMS row of a record of bucket/key with an id below
// id that is still to be moved (and not to be restored), if there is one.
func (s *Store) EarlierMove(ctx context.Context, bucket, key string, id int64) (int64, bool, error) {
	var lmsID int64
	// A shared record counts only while a worker holds it: idle, it waits
	// for a live row to go and may not look again for an hour, and the
	// first record free to move moves (the shared one adopts its copy).
	// utf8mb4_bin pads with spaces: "a.pdf" = "a.pdf " unless compared as
	// bytes, and those are two objects.
	err := s.db.QueryRowContext(ctx, "SELECT lms_id FROM trash_objects WHERE source_bucket = ? AND source_key = ? AND CAST(source_key AS BINARY) = CAST(? AS BINARY) AND id < ?"+
		" AND (state IN "+movingSQL+" OR (state = 'shared' AND lease_expires_at > NOW(6))) AND restore_requested_at IS NULL"+
		" ORDER BY id LIMIT 1", bucket, key, key, id).Scan(&lmsID)
	switch {
	case err == sql.ErrNoRows:
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("look for an earlier move of s3://%s/%s: %w", bucket, key, err)
	}
	return lmsID, true, nil
}
