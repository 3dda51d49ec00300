package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"

	"trashd/reconcile"
)

var _ reconcile.LMSLister = (*Store)(nil)

// LMSObjects returns up to limit LMS rows with id > after, in id order,
// trashed or not, each with its record's state and trash copy if it has a
// record: what the audit against the buckets' inventories needs. A row's
// bucket is its bucket column when set and non-empty, else the default
// bucket, as the scan reads it.
func (s *Store) LMSObjects(ctx context.Context, after int64, limit int) ([]reconcile.LMSObject, error) {
	t := s.lms
	bucket := "NULL"
	if t.BucketColumn != "" {
		bucket = "l." + quote(t.BucketColumn)
	}
	id := "l." + quote(t.IDColumn)
	rows, err := s.db.QueryContext(ctx, "SELECT "+id+", l."+quote(t.KeyColumn)+", "+bucket+", COALESCE("+t.trashedSQL("l")+", FALSE),"+
		" COALESCE(o.state, ''), COALESCE(o.trash_bucket, ''), COALESCE(o.trash_key, '')"+
		" FROM "+quote(t.Table)+" AS l LEFT JOIN trash_objects AS o ON o.lms_id = "+id+
		" WHERE "+id+" > ? ORDER BY "+id+" LIMIT ?", after, limit)
	if err != nil {
		return nil, fmt.Errorf("read the rows of %s: %w", t.Table, err)
	}
	defer rows.Close()
	out := make([]reconcile.LMSObject, 0, limit)
	for rows.Next() {
		var (
			o          reconcile.LMSObject
			key, bkt   sql.NullString
			state      string
			trashed    bool
			tBkt, tKey string
		)
		if err := rows.Scan(&o.LMSID, &key, &bkt, &trashed, &state, &tBkt, &tKey); err != nil {
			return nil, fmt.Errorf("read the rows of %s: %w", t.Table, err)
		}
		o.Key, o.Bucket, o.Trashed = key.String, cmp.Or(bkt.String, t.DefaultBucket), trashed
		o.State, o.TrashBucket, o.TrashKey = reconcile.State(state), tBkt, tKey
		out = append(out, o)
	}
	return out, rows.Err()
}
