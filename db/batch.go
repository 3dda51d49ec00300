package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"trashd/reconcile"
)

var (
	_ reconcile.Recorder = (*Store)(nil)
	_ reconcile.Sharing  = (*Store)(nil)
)

// LiveRows is LiveRow for many objects: for each object an untrashed LMS
// row names, the smallest such row's id. The LMS table is asked once per
// bucket kind and chunk, by the key column's collation (so that its index
// serves); the rows it returns are then matched byte for byte, as LiveRow's
// query does in SQL.
func (s *Store) LiveRows(ctx context.Context, objs []reconcile.ObjectRef) (map[reconcile.ObjectRef]int64, error) {
	out := map[reconcile.ObjectRef]int64{}
	if s.live.skip {
		return out, nil
	}
	var keys []string
	want := map[reconcile.ObjectRef]bool{}
	for _, o := range objs {
		if s.lms.BucketColumn == "" && o.Bucket != s.lms.DefaultBucket {
			continue // every row is in the default bucket
		}
		if !want[o] {
			want[o] = true
			keys = append(keys, o.Key)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for chunk := range slices.Chunk(keys, maxBatchRows) {
		if err := s.liveRows(ctx, chunk, want, out); err != nil {
			return nil, fmt.Errorf("look for untrashed rows of %s naming %d objects: %w", s.lms.Table, len(objs), err)
		}
	}
	return out, nil
}

func (s *Store) liveRows(ctx context.Context, keys []string, want map[reconcile.ObjectRef]bool, out map[reconcile.ObjectRef]int64) error {
	bucket := "NULL"
	if s.lms.BucketColumn != "" {
		bucket = "l." + quote(s.lms.BucketColumn)
	}
	query := "SELECT l." + quote(s.lms.IDColumn) + ", l." + quote(s.lms.KeyColumn) + ", " + bucket +
		" FROM " + quote(s.lms.Table) + " AS l WHERE l." + quote(s.lms.KeyColumn) + " IN (" + placeholders(len(keys)) + ")" +
		" AND " + s.lms.untrashedSQL("l")
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id          int64
			key, bucket sql.NullString
		)
		if err := rows.Scan(&id, &key, &bucket); err != nil {
			return err
		}
		// As ScanTrashed and LiveRow: a NULL or exactly empty bucket is
		// the default bucket.
		ref := reconcile.ObjectRef{Bucket: cmp.Or(bucket.String, s.lms.DefaultBucket), Key: key.String}
		if !key.Valid || !want[ref] {
			continue
		}
		if cur, ok := out[ref]; !ok || id < cur {
			out[ref] = id
		}
	}
	return rows.Err()
}

// MovedSince returns, of recs, the records of an object that another
// record's verified trash copy now holds, its source deleted after the
// record was discovered: CopyOf with MovedAfter, for many records at once.
// On a versioned bucket the key of such a record may now show an older
// version made current, which is not the file its row named; the move of
// one object adopts that copy instead (adoptCopyOf).
func (s *Store) MovedSince(ctx context.Context, recs []reconcile.Record) (map[int64]bool, error) {
	out := map[int64]bool{}
	for chunk := range slices.Chunk(recs, maxBatchRows) {
		args := make([]any, len(chunk))
		for i, r := range chunk {
			args[i] = r.ID
		}
		// The same conditions as CopyOf's.
		ids, err := s.selectIDs(ctx, "SELECT DISTINCT r.id FROM trash_objects AS r JOIN trash_objects AS o"+
			" ON o.source_bucket = r.source_bucket AND o.source_key = r.source_key AND o.id <> r.id"+
			" AND CAST(o.source_key AS BINARY) = CAST(r.source_key AS BINARY)"+ // utf8mb4_bin pads with spaces
			" WHERE r.id IN ("+placeholders(len(chunk))+")"+
			" AND o.source_deleted_at IS NOT NULL AND o.trash_key IS NOT NULL AND o.trash_etag IS NOT NULL"+
			" AND o.state IN "+copyHolderSQL+" AND o.source_deleted_at >= r.discovered_at", args...)
		if err != nil {
			return nil, fmt.Errorf("look for other records' copies of %d objects: %w", len(chunk), err)
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}
