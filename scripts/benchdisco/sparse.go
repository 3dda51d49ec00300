package main

import (
	"context"
	"fmt"
	"time"

	"trashd/db"
)

// formerScanSQL is the statement discovery ran before it was bounded: the
// next 1000 trashed rows without a record after an id, however many rows it
// has to read to find them.
const formerScanSQL = "SELECT l.id, l.s3_key, l.bucket FROM files AS l WHERE l.id > ? AND l.trashed <> 0" +
	" AND NOT EXISTS (SELECT 1 FROM trash_objects AS t WHERE t.lms_id = l.id) ORDER BY l.id LIMIT 1000"

// benchSparse shows, on a large table with few trashed rows, that the former
// statement runs into a read timeout that the bounded scan stays within.
func benchSparse(ctx context.Context, o options, res *result, say func(string, ...any)) error {
	t := table{rows: o.sparseRows, first: 1_000_000_000, trashed: 10}
	sqlDB, opts, err := prepare(ctx, o.dsn, "trashd_benchdisco_sparse", t, say)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	res.SparseRows, res.SparseTrashed = t.rows, t.trashed

	// Twice, so that the table is in the buffer pool: the time is the
	// statement's, not the disk's.
	var old time.Duration
	for range 2 {
		start := time.Now()
		rows, err := sqlDB.QueryContext(ctx, formerScanSQL, 0)
		if err != nil {
			return fmt.Errorf("former scan: %w", err)
		}
		for rows.Next() {
		}
		rows.Close()
		old = time.Since(start)
	}
	res.SparseOldSeconds = round(old.Seconds())
	timeout := max(old/3, 50*time.Millisecond).Round(time.Millisecond)
	res.SparseReadTimeoutMS = timeout.Milliseconds()
	say("sparse scan: %d rows, %d trashed; the former statement takes %.3f s; read timeout %s", t.rows, t.trashed, old.Seconds(), timeout)

	opts.ReadTimeout, opts.MaxOpenConns = timeout, 2
	short, err := db.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer short.Close()
	rows, err := short.QueryContext(ctx, formerScanSQL, 0)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	res.SparseOldFailed = err != nil

	store, err := db.NewStore(ctx, short, lmsTable)
	if err != nil {
		return err
	}
	start := time.Now()
	for after := int64(0); ; {
		rows, err := store.ScanTrashed(ctx, after, 1000)
		if err != nil {
			return fmt.Errorf("bounded scan with a %s read timeout: %w", timeout, err)
		}
		res.SparseFound += len(rows)
		if len(rows) < 1000 {
			break
		}
		after = rows[len(rows)-1].LMSID
	}
	res.SparseScanSeconds = round(time.Since(start).Seconds())
	st := store.ScanStats()
	res.SparseStatements = st.Statements
	res.SparseLongestStatement = round(float64(st.Longest.Microseconds()) / 1000)
	res.SparseOK = res.SparseFound == t.trashed && st.Longest < timeout
	return nil
}
