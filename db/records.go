package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

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

// EarlierMoves returns, for each record of recs whose move must wait, the
// LMS row of the lowest-id other record O of the same object (bucket and
// key, byte for byte) that it waits for. O is not being restored, and
// either
//   - has a lower id and is still to be moved (pending or copied, or shared
//     while a worker holds it): one move of an object at a time, the
//     lowest id first; or
//   - whatever its id, has its verified trash copy recorded but not its
//     source's delete (copied or shared, with trash_etag): it is between
//     its copy and in_trash and may be deleting the source right now, so a
//     record that looked now could find the source gone (and record
//     missing) or an older version made current (and move that as its
//     row's file).
func (s *Store) EarlierMoves(ctx context.Context, recs []reconcile.Record) (map[int64]int64, error) {
	// A shared record counts as still to be moved only while a worker
	// holds it: idle, it waits for a live row to go and may not look again
	// for an hour, and the first record free to move moves (the shared one
	// adopts its copy).
	toMove := "(state IN " + movingSQL + " OR (state = " + stateSQL(reconcile.StateShared) + " AND lease_expires_at > NOW(6)))"
	deleting := "(trash_etag IS NOT NULL AND state IN " + inStates(reconcile.UndeletedCopyStates()) + ")"
	byBucket := map[string][]string{}
	for _, r := range recs {
		byBucket[r.Source.Bucket] = append(byBucket[r.Source.Bucket], r.Source.Key)
	}
	type move struct {
		id, lmsID int64
		deleting  bool // else only to move
	}
	found := map[reconcile.ObjectRef][]move{}
	for bucket, keys := range byBucket {
		slices.Sort(keys)
		keys = slices.Compact(keys)
		for chunk := range slices.Chunk(keys, maxBatchRows) {
			args := []any{bucket}
			for _, k := range chunk {
				args = append(args, k)
			}
			rows, err := s.db.QueryContext(ctx, "SELECT id, lms_id, source_bucket, source_key, "+deleting+" FROM trash_objects"+
				" WHERE source_bucket = ? AND source_key IN ("+placeholders(len(chunk))+") AND restore_requested_at IS NULL"+
				" AND ("+toMove+" OR "+deleting+")", args...)
			if err != nil {
				return nil, fmt.Errorf("look for other moves of %d objects in s3://%s: %w", len(chunk), bucket, err)
			}
			for rows.Next() {
				var (
					m   move
					ref reconcile.ObjectRef
				)
				if err := rows.Scan(&m.id, &m.lmsID, &ref.Bucket, &ref.Key, &m.deleting); err != nil {
					rows.Close()
					return nil, fmt.Errorf("look for other moves in s3://%s: %w", bucket, err)
				}
				// The collation pads with spaces ("a.pdf" = "a.pdf "):
				// the map compares the bytes.
				found[ref] = append(found[ref], m)
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, fmt.Errorf("look for other moves in s3://%s: %w", bucket, err)
			}
		}
	}
	out := map[int64]int64{}
	for _, r := range recs {
		best := int64(-1)
		for _, m := range found[reconcile.ObjectRef{Bucket: r.Source.Bucket, Key: r.Source.Key}] {
			if m.id != r.ID && (m.deleting || m.id < r.ID) && (best < 0 || m.id < best) {
				best, out[r.ID] = m.id, m.lmsID
			}
		}
	}
	return out, nil
}
