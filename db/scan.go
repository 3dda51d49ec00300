package db

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"trashd/reconcile"
)

// Bounds of one scan statement. The LMS table is walked by id range, never
// by "the next limit trashed rows after id": on a large table with few
// trashed rows and no index on the trash column, that statement reads until
// it has found limit rows or reached the end, which may be millions of rows
// and take longer than the driver's read timeout (TRASHD_MYSQL_READ_TIMEOUT),
// failing every pass at the same place. A range of span ids reads at most
// span rows (ids are unique integers), whatever the table holds.
const (
	// scanTarget is how long one statement should take: the span doubles
	// after a statement that took less than half of it and halves after one
	// that took more than twice as long, so that a dense table is walked in
	// small steps and a sparse id space in large ones.
	scanTarget = 250 * time.Millisecond
	// scanTimeout is one statement's deadline, well below the default read
	// timeout of 30 s: a statement that runs into it (or into a shorter read
	// timeout) is tried again on a quarter of the span.
	scanTimeout   = 5 * time.Second
	scanFirstSpan = 1 << 16
	scanMinSpan   = 1 << 8
	// scanMaxSpan bounds the rows one statement reads, also where a sparse
	// stretch of ids (which grows the span) gives way to a dense one.
	scanMaxSpan = 1 << 20
)

// scanner is the Store's state of the bounded scan: the span adapts across
// calls, so that each pass starts with what the last one learnt.
type scanner struct {
	rangeSQL  string // trashed rows without a record, id in [?, ?], in id order, LIMIT ?
	countSQL  string // how many of them there are in [?, ?]
	nextSQL   string // the smallest id above ?
	span      atomic.Int64
	timeout   time.Duration
	statement atomic.Int64 // statements run
	longest   atomic.Int64 // the longest statement's duration, in nanoseconds
}

// ScanStats tell how the scan for trashed rows has read the LMS table since
// the Store was made, so that its statements can be held against the read
// timeout (TRASHD_MYSQL_READ_TIMEOUT).
type ScanStats struct {
	Statements int64         // statements run: range reads and next-id lookups
	Longest    time.Duration // the longest of them, also one that ran out of time
	Span       int64         // the span of ids the next range covers
}

// ScanStats returns the scan's figures so far.
func (s *Store) ScanStats() ScanStats {
	return ScanStats{
		Statements: s.scan.statement.Load(),
		Longest:    time.Duration(s.scan.longest.Load()),
		Span:       s.scan.span.Load(),
	}
}

// timed counts a statement and keeps its duration if it is the longest.
func (sc *scanner) timed(start time.Time) {
	sc.statement.Add(1)
	d := int64(time.Since(start))
	for {
		old := sc.longest.Load()
		if d <= old || sc.longest.CompareAndSwap(old, d) {
			return
		}
	}
}

func newScanner(t LMSTable) *scanner {
	bucket := "NULL"
	if t.BucketColumn != "" {
		bucket = "l." + quote(t.BucketColumn)
	}
	id := "l." + quote(t.IDColumn)
	// An anti-join, not NOT EXISTS: MariaDB runs NOT EXISTS as a
	// materialized subquery when it expects more rows in the range than
	// there are records, reading every record for every statement, so that
	// discovering N rows cost N² reads (1,000,000 rows: minutes). The join
	// looks up each trashed row's record in the unique index.
	undiscovered := " FROM " + quote(t.Table) + " AS l LEFT JOIN trash_objects AS t ON t.lms_id = " + id +
		" WHERE " + id + " >= ? AND " + id + " <= ? AND " + t.trashedSQL("l") + " AND t.lms_id IS NULL"
	sc := &scanner{
		rangeSQL: "SELECT " + id + ", l." + quote(t.KeyColumn) + ", " + bucket + undiscovered + " ORDER BY " + id + " LIMIT ?",
		countSQL: "SELECT COUNT(*)" + undiscovered,
		// MIN over the primary or unique key is one index dive: gaps in the
		// ids (and a first id far from 1) cost one statement each, not a
		// walk through empty ranges.
		nextSQL: "SELECT MIN(" + id + ") FROM " + quote(t.Table) + " AS l WHERE " + id + " > ?",
		timeout: scanTimeout,
	}
	sc.span.Store(scanFirstSpan)
	return sc
}

// scanPage reads the trashed rows without a record in one bounded id range
// that starts after after: at most limit of them, in id order. next is the id
// to continue after (the last row's when limit rows came back, else the end
// of the range); done means no id above after is left.
func (s *Store) scanPage(ctx context.Context, after int64, limit int) (rows []reconcile.TrashedRow, next int64, done bool, err error) {
	next, done, err = s.nextRange(ctx, after, func(ctx context.Context, lo, hi int64) (bool, error) {
		var err error
		rows, err = s.scanRange(ctx, lo, hi, limit)
		return len(rows) == limit, err
	})
	if err != nil {
		return nil, after, false, err
	}
	if len(rows) == limit {
		next = rows[len(rows)-1].LMSID
	}
	return rows, next, done, nil
}

// nextRange runs read on the next bounded range of ids after after, from
// the first id there is, adapting the span to how long read took, and
// trying again on a smaller span when read ran out of time. read reports
// whether it stopped short of hi (a limit), which says less about the span.
// It returns the end of the range, and done when no id above after is left.
func (s *Store) nextRange(ctx context.Context, after int64, read func(ctx context.Context, lo, hi int64) (cut bool, err error)) (hi int64, done bool, err error) {
	sc := s.scan
	var first lmsID
	if err := s.queryRow(ctx, sc.nextSQL, []any{after}, &first); err != nil {
		return after, false, fmt.Errorf("scan %s for the next id after %d: %w", s.lms.Table, after, s.idScanError(err))
	}
	if !first.valid {
		return after, true, nil
	}
	lo := first.id
	for {
		span := sc.span.Load()
		hi := lo + span - 1
		if lo > math.MaxInt64-span+1 {
			hi = math.MaxInt64
		}
		start := time.Now()
		cut, err := read(ctx, lo, hi)
		took := time.Since(start)
		if err != nil {
			// A statement that ran out of time is tried again on a smaller
			// range; the abandoned one reads at most span rows on the
			// server before it ends by itself.
			if ctx.Err() == nil && span > scanMinSpan && timedOut(err) {
				sc.span.CompareAndSwap(span, max(span/4, scanMinSpan))
				continue
			}
			return after, false, fmt.Errorf("scan %s for trashed rows in ids %d to %d: %w", s.lms.Table, lo, hi, err)
		}
		switch {
		case took > 2*scanTarget:
			sc.span.CompareAndSwap(span, max(span/2, scanMinSpan))
		case took < scanTarget/2 && !cut:
			sc.span.CompareAndSwap(span, min(span*2, scanMaxSpan))
		}
		return hi, hi == math.MaxInt64, nil
	}
}

// CountUndiscovered counts the trashed LMS rows that have no record yet and
// that ScanTrashed from reconcile.BeforeFirstLMSID would find, a bounded
// range per statement as the scan reads them: one COUNT over a large table
// would run into the read timeout as the unbounded scan did.
func (s *Store) CountUndiscovered(ctx context.Context) (int, error) {
	total := 0
	for after := reconcile.BeforeFirstLMSID; ; {
		hi, done, err := s.nextRange(ctx, after, func(ctx context.Context, lo, hi int64) (bool, error) {
			ctx, cancel := context.WithTimeout(ctx, s.scan.timeout)
			defer cancel()
			defer s.scan.timed(time.Now())
			var n int
			err := s.db.QueryRowContext(ctx, s.scan.countSQL, lo, hi).Scan(&n)
			total += n
			return false, err
		})
		if err != nil {
			return 0, fmt.Errorf("count trashed rows without a record: %w", err)
		}
		if done {
			return total, nil
		}
		after = hi
	}
}

// scanRange runs one range statement under its own deadline.
func (s *Store) scanRange(ctx context.Context, lo, hi int64, limit int) ([]reconcile.TrashedRow, error) {
	ctx, cancel := context.WithTimeout(ctx, s.scan.timeout)
	defer cancel()
	defer s.scan.timed(time.Now())
	rows, err := s.db.QueryContext(ctx, s.scan.rangeSQL, lo, hi, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reconcile.TrashedRow
	for rows.Next() {
		var (
			r           reconcile.TrashedRow
			key, bucket sql.NullString
		)
		if err := rows.Scan(&r.LMSID, &key, &bucket); err != nil {
			return nil, err
		}
		r.Key = key.String
		r.Bucket = cmp.Or(bucket.String, s.lms.DefaultBucket)
		out = append(out, r)
	}
	return out, rows.Err()
}

// queryRow runs a one-row statement of the scan under the scan's deadline.
func (s *Store) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	ctx, cancel := context.WithTimeout(ctx, s.scan.timeout)
	defer cancel()
	defer s.scan.timed(time.Now())
	return s.db.QueryRowContext(ctx, query, args...).Scan(dest...)
}

// timedOut reports whether err is a statement that ran out of time: its
// deadline, or the driver's read timeout, which go-sql-driver reports as an
// invalid connection (it closes the connection after any read error).
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.As(err, &ne) && ne.Timeout()
}
