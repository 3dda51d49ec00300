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

// LiveRows returns, for each of objs that an untrashed LMS row names, the
// smallest such row's id: such an object is still in use (LMSs that
// deduplicate by content let many rows name one object) and must stay where
// it is. A row names an object when its key column equals the key byte for
// byte and its bucket is the object's: its bucket column, or DefaultBucket
// when that column is NULL or empty or there is no bucket column.
//
// The LMS table is asked once per chunk of keys, by the key column's
// collation, so that its index serves; but a collation may be case- or
// accent-insensitive and pad with spaces, while S3 keys are bytes ("a.pdf",
// "A.pdf" and "a.pdf " are three objects), so the rows it returns are then
// matched byte for byte here. A plain SELECT outside a transaction is a
// consistent, non-locking read: trashd never locks the LMS's rows. With
// UniqueKeys nothing is asked.
func (s *Store) LiveRows(ctx context.Context, objs []reconcile.ObjectRef) (map[reconcile.ObjectRef]int64, error) {
	out := map[reconcile.ObjectRef]int64{}
	if s.lms.UniqueKeys {
		return out, nil
	}
	want := map[reconcile.ObjectRef]bool{}
	byBucket := map[string][]string{}
	for _, o := range objs {
		if s.lms.BucketColumn == "" && o.Bucket != s.lms.DefaultBucket {
			continue // every row is in the default bucket
		}
		if !want[o] {
			want[o] = true
			byBucket[o.Bucket] = append(byBucket[o.Bucket], o.Key)
		}
	}
	for bucket, keys := range byBucket {
		slices.Sort(keys)
		for chunk := range slices.Chunk(keys, maxBatchRows) {
			if err := s.liveRows(ctx, bucket, chunk, want, out); err != nil {
				return nil, fmt.Errorf("look for untrashed rows of %s naming %d objects: %w", s.lms.Table, len(objs), err)
			}
		}
	}
	return out, nil
}

// liveRowsQuery is LiveRows' query for keys in bucket: by the key column's
// collation and the bucket (the default bucket: also a NULL or exactly
// empty bucket column), so that an index on the key, or on the bucket and
// the key, serves it; the rows it returns are matched byte for byte after.
func (s *Store) liveRowsQuery(bucket string, keys []string) (string, []any) {
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, k)
	}
	b := "NULL"
	where := ""
	if s.lms.BucketColumn != "" {
		b = "l." + quote(s.lms.BucketColumn)
		if bucket == s.lms.DefaultBucket {
			// `= ''` lets an index on (bucket, key) serve; LENGTH keeps
			// out a bucket of spaces, which PAD SPACE would let in.
			where = " AND (" + b + " IS NULL OR (" + b + " = '' AND LENGTH(" + b + ") = 0) OR " + b + " = ?)"
		} else {
			where = " AND " + b + " = ?"
		}
		args = append(args, bucket)
	}
	return "SELECT l." + quote(s.lms.IDColumn) + ", l." + quote(s.lms.KeyColumn) + ", " + b +
		" FROM " + quote(s.lms.Table) + " AS l WHERE l." + quote(s.lms.KeyColumn) + " IN (" + placeholders(len(keys)) + ")" +
		where + " AND " + s.lms.untrashedSQL("l"), args
}

func (s *Store) liveRows(ctx context.Context, bucket string, keys []string, want map[reconcile.ObjectRef]bool, out map[reconcile.ObjectRef]int64) error {
	query, args := s.liveRowsQuery(bucket, keys)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			lms         lmsID
			key, bucket sql.NullString
		)
		if err := rows.Scan(&lms, &key, &bucket); err != nil {
			return s.idScanError(err)
		}
		id := lms.id
		// As ScanTrashed: a NULL or exactly empty bucket is the default
		// bucket.
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
