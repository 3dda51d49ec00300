package db

import (
	"context"
	"database/sql"
	"time"

	"trashd/reconcile"
)

// LiveRowsQuery is the query LiveRows runs for keys in bucket, for tests
// that EXPLAIN it.
func (s *Store) LiveRowsQuery(bucket string, keys ...string) (string, []any) {
	return s.liveRowsQuery(bucket, keys)
}

// BinlogProblem is binlogProblem, for a table test of the servers it refuses.
var BinlogProblem = binlogProblem

// ScanTrashedPage is scanPage: one bounded range of the scan.
func (s *Store) ScanTrashedPage(ctx context.Context, after int64, limit int) ([]reconcile.TrashedRow, int64, bool, error) {
	return s.scanPage(ctx, after, limit)
}

// ScanSpan is the id span the next scan statement covers; SetScanSpan sets it.
func (s *Store) ScanSpan() int64     { return s.scan.span.Load() }
func (s *Store) SetScanSpan(n int64) { s.scan.span.Store(n) }

// SetScanTimeout sets the scan statements' deadline; call it before the
// Store is used.
func (s *Store) SetScanTimeout(d time.Duration) { s.scan.timeout = d }

// Scan bounds, for tests that check them.
const (
	ScanMinSpan = scanMinSpan
	ScanMaxSpan = scanMaxSpan
)

// MigrateTo brings trashd's tables to version, for tests of a migration's
// effect on rows an earlier version wrote.
func MigrateTo(ctx context.Context, sqlDB *sql.DB, version int64) error {
	p, err := newProvider(sqlDB)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}
