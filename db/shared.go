package db

import (
	"context"
	"database/sql"
	"fmt"
)

// liveSQL are LiveRow's queries, built once by NewStore. Each takes the key
// twice; with a bucket column, then the bucket twice.
type liveSQL struct {
	skip      bool   // UniqueKeys: no row shares an object
	inBucket  string // rows whose bucket column is the bucket; "" without a bucket column
	inDefault string // rows in the default bucket: their bucket column is it, NULL or empty, or every row without a bucket column
}

// newLiveSQL builds LiveRow's queries for lms, whose columns schema
// describes.
//
// The LMS column's collation may be case- or accent-insensitive and pads
// with spaces (all of MariaDB's and most of MySQL's do), but S3 keys are
// bytes: "a.pdf", "A.pdf" and "a.pdf " are three objects. So each column is
// compared twice: by its collation, which lets the index find the
// candidates (a cast column cannot use an index), and as bytes, which
// decides. A character column is converted to utf8mb4 first, the
// connection's character set, in which the key was read and is sent back.
//
// The smallest id is MIN(id), not ORDER BY id LIMIT 1: with a LIMIT, both
// servers may prefer to walk the primary key in order (a whole-table scan
// when no live row matches), and with a prefix index they sort anyway.
//
// A plain SELECT outside a transaction is a consistent, non-locking read:
// trashd never locks the LMS's rows, so the LMS never waits on it.
func newLiveSQL(lms LMSTable, schema *tableSchema) liveSQL {
	if lms.UniqueKeys {
		return liveSQL{skip: true}
	}
	exact := func(name string) string {
		col := "l." + quote(name)
		bytes := "CAST(" + col + " AS BINARY)"
		if c, _ := schema.col(name); c.charset != "" {
			bytes = "CAST(CONVERT(" + col + " USING utf8mb4) AS BINARY)"
		}
		return col + " = ? AND " + bytes + " = CAST(? AS BINARY)"
	}
	id := "l." + quote(lms.IDColumn)
	query := func(bucket string) string {
		q := "SELECT MIN(" + id + ") FROM " + quote(lms.Table) + " AS l WHERE " + exact(lms.KeyColumn)
		if bucket != "" {
			q += " AND " + bucket
		}
		return q + " AND " + lms.untrashedSQL("l")
	}
	if lms.BucketColumn == "" {
		return liveSQL{inDefault: query("")}
	}
	b := "l." + quote(lms.BucketColumn)
	// As ScanTrashed, a row whose bucket is NULL or exactly empty is in the
	// default bucket; `= ''` lets an index on (bucket, key) serve, LENGTH
	// keeps out a bucket of spaces, which PAD SPACE would let in.
	return liveSQL{
		inBucket:  query(exact(lms.BucketColumn)),
		inDefault: query("(" + b + " IS NULL OR (" + b + " = '' AND LENGTH(" + b + ") = 0) OR (" + exact(lms.BucketColumn) + "))"),
	}
}

// LiveRow returns the smallest id of an untrashed LMS row that names the
// object key in bucket, if there is one: such an object is still in use
// (LMSs that deduplicate by content let many rows name one object) and must
// stay where it is. A row names it when its key column equals key byte for
// byte and its bucket is bucket: its bucket column, or DefaultBucket when
// that column is NULL or empty or there is no bucket column.
//
// With UniqueKeys it returns found=false without asking the database.
func (s *Store) LiveRow(ctx context.Context, bucket, key string) (lmsID int64, found bool, err error) {
	query, args := s.liveQuery(bucket, key)
	if query == "" {
		return 0, false, nil
	}
	var id sql.NullInt64
	if err := s.db.QueryRowContext(ctx, query, args...).Scan(&id); err != nil {
		return 0, false, fmt.Errorf("look for an untrashed row of %s naming %s/%s: %w", s.lms.Table, bucket, key, err)
	}
	return id.Int64, id.Valid, nil
}

// liveQuery is LiveRow's query for bucket and key, "" when no row can name
// the object.
func (s *Store) liveQuery(bucket, key string) (string, []any) {
	switch {
	case s.live.skip:
		return "", nil
	case s.lms.BucketColumn == "" && bucket != s.lms.DefaultBucket:
		return "", nil // every row is in the default bucket
	case s.lms.BucketColumn == "":
		return s.live.inDefault, []any{key, key}
	case bucket == s.lms.DefaultBucket:
		return s.live.inDefault, []any{key, key, bucket, bucket}
	default:
		return s.live.inBucket, []any{key, key, bucket, bucket}
	}
}
