package db_test

import (
	"context"
	"database/sql"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// insertSequence inserts n rows into `files` with ids first, first+step, …,
// none of them trashed, in a few statements: the digits of a cross join,
// which MySQL and MariaDB both read (no sequence engine, no recursion limit).
func insertSequence(t *testing.T, sqlDB *sql.DB, first, step int64, n int) {
	t.Helper()
	digits := "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4" +
		" UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
	from := make([]string, 5)
	for i := range from {
		from[i] = digits + " AS d" + strconv.Itoa(i)
	}
	exec(t, sqlDB, "INSERT INTO files (id, bucket, s3_key) SELECT ? + ? * n, 'b', CONCAT('k/', n) FROM"+
		" (SELECT d0.d + 10*d1.d + 100*d2.d + 1000*d3.d + 10000*d4.d AS n FROM "+strings.Join(from, ", ")+") AS seq"+
		" WHERE n < ?", first, step, n)
}

// handlerReads is the session's count of rows read through an index or a
// table scan (Handler_read_next, _prev, _rnd_next): what a statement costs.
func handlerReads(t *testing.T, conn *sql.DB) int64 {
	t.Helper()
	rows, err := conn.QueryContext(t.Context(), "SHOW SESSION STATUS WHERE Variable_name IN ('Handler_read_next', 'Handler_read_prev', 'Handler_read_rnd_next')")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// A table with few trashed rows among many is read a bounded range per
// statement, not to the next trashed row: a statement that reads until it
// finds one reads (nearly) the whole table here, and on a large table runs
// into the read timeout.
func TestScanTrashedBoundedStatements(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	// One connection, so that the session's counters are the Store's.
	sqlDB.SetMaxOpenConns(1)
	const (
		first = 1_000_000_000 // ids far from 1, every third one used
		step  = 3
		n     = 30_000
		span  = 2_000
	)
	insertSequence(t, sqlDB, first, step, n)
	trashed := []int64{first + step*17_000, first + step*(n-1)}
	for _, id := range trashed {
		exec(t, sqlDB, "UPDATE files SET trashed = 1 WHERE id = ?", id)
	}

	store.SetScanSpan(span)
	var got []int64
	after, pages := int64(0), 0
	for {
		// The span may grow after a fast statement: a statement reads at
		// most the span it started with.
		bound := store.ScanStats().Span
		before := handlerReads(t, sqlDB)
		rows, next, done, err := store.ScanTrashedPage(t.Context(), after, 10)
		if err != nil {
			t.Fatalf("ScanTrashedPage(%d): %v", after, err)
		}
		// The status query itself reads a few rows of its own.
		if read := handlerReads(t, sqlDB) - before; read > bound+100 {
			t.Fatalf("ScanTrashedPage(%d) read %d rows, above its span of %d", after, read, bound)
		}
		for _, r := range rows {
			got = append(got, r.LMSID)
		}
		pages++
		if done {
			break
		}
		if next <= after {
			t.Fatalf("ScanTrashedPage(%d) did not move on: next %d", after, next)
		}
		after = next
	}
	if !slices.Equal(got, trashed) {
		t.Errorf("found %v, want %v", got, trashed)
	}
	if pages < 2 {
		t.Errorf("%d pages: the table was read in one statement", pages)
	}

	// The contract of ScanTrashed holds across ranges: limit rows, or fewer
	// only at the end of the table.
	store.SetScanSpan(span)
	rows, err := store.ScanTrashed(t.Context(), 0, 1)
	if err != nil || len(rows) != 1 || rows[0].LMSID != trashed[0] {
		t.Fatalf("ScanTrashed(0, 1) = %v, %v; want row %d", rows, err, trashed[0])
	}
	if got := scanAll(t, store, 1); len(got) != 2 {
		t.Errorf("scanAll = %v, want rows %v", got, trashed)
	}

	// The brake's count reads the table as the scan does.
	store.SetScanSpan(span)
	statements := store.ScanStats().Statements
	before := handlerReads(t, sqlDB)
	if n, err := store.CountUndiscovered(t.Context()); err != nil || n != len(trashed) {
		t.Errorf("CountUndiscovered = %d, %v; want %d", n, err, len(trashed))
	}
	ranges := (store.ScanStats().Statements - statements) / 2
	if read := handlerReads(t, sqlDB) - before; ranges < 2 || read > ranges*(db.ScanMaxSpan+100) {
		t.Errorf("CountUndiscovered read %d rows in %d ranges", read, ranges)
	}
}

// IDs of any integer type, far apart, near the top of BIGINT and not
// starting at 1: each gap costs one index dive, not a walk through it.
func TestScanTrashedSparseIDs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ string
		ids []int64
	}{
		{"BIGINT", []int64{5, 6, 1 << 20, 1<<40 + 1, 1 << 41, math.MaxInt64 - 1, math.MaxInt64}},
		{"BIGINT UNSIGNED", []int64{1 << 33, 1<<33 + db.ScanMaxSpan, 1<<33 + 2*db.ScanMaxSpan + 1}},
		{"INT UNSIGNED", []int64{7, 70_000, 4_294_967_295}},
		{"SMALLINT", []int64{1, 2, 3, 32_767}},
		{"TINYINT UNSIGNED", []int64{200, 255}},
	} {
		t.Run(c.typ, func(t *testing.T) {
			t.Parallel()
			sqlDB, _ := dbtest.Migrated(t)
			exec(t, sqlDB, "CREATE TABLE lms (fid "+c.typ+" NOT NULL PRIMARY KEY, k VARCHAR(64) NOT NULL, gone TINYINT NOT NULL, INDEX (k))")
			var want []reconcile.TrashedRow
			for i, id := range c.ids {
				trashed := i%2 == 0 || id == c.ids[len(c.ids)-1]
				exec(t, sqlDB, "INSERT INTO lms VALUES (?, ?, ?)", id, "k"+strconv.FormatInt(id, 10), trashed)
				if trashed {
					want = append(want, reconcile.TrashedRow{LMSID: id, Bucket: "b", Key: "k" + strconv.FormatInt(id, 10)})
				}
			}
			store, err := db.NewStore(t.Context(), sqlDB, db.LMSTable{
				Table: "lms", IDColumn: "fid", KeyColumn: "k", TrashColumn: "gone", TrashKind: db.TrashFlag, DefaultBucket: "b",
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, limit := range []int{1, 2, 100} {
				if n, err := store.CountUndiscovered(t.Context()); err != nil || n != len(want) {
					t.Errorf("CountUndiscovered = %d, %v; want %d", n, err, len(want))
				}
				before := store.ScanStats().Statements
				if got := scanAll(t, store, limit); !slices.Equal(got, want) {
					t.Errorf("limit %d: scan = %v\nwant %v", limit, got, want)
				}
				// Two statements a range (the next id, the range), a range
				// per row at most here, and a final look for the next id.
				if n, most := store.ScanStats().Statements-before, int64(2*len(c.ids)+4*len(want)/limit+4); n > most {
					t.Errorf("limit %d: %d statements for %d rows, want at most %d", limit, n, len(c.ids), most)
				}
			}
		})
	}
}

// A scan statement that runs out of time is tried again on a smaller range,
// so that a slow stretch of the table does not fail the pass; a stop request
// is not retried.
func TestScanTrashedStatementDeadline(t *testing.T) {
	t.Parallel()
	direct, opts := dbtest.Migrated(t)
	lms := dbtest.CreateFiles(t, direct, db.TrashFlag)
	lms.DefaultBucket = "default-bucket"
	var want []int64
	for i := range 5 {
		want = append(want, dbtest.InsertFile(t, direct, "b", "k"+strconv.Itoa(i), true))
	}

	p := dbtest.NewProxy(t, net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	opts.Host, opts.Port = p.Host, p.Port
	proxied, err := db.Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("open through the proxy: %v", err)
	}
	t.Cleanup(func() { proxied.Close() })
	store, err := db.NewStore(t.Context(), proxied, lms)
	if err != nil {
		t.Fatal(err)
	}
	const deadline = 300 * time.Millisecond
	store.SetScanTimeout(deadline)

	// The first range statement never reaches the server, as if it read
	// for ever.
	var stalled atomic.Int32
	p.SetRule(func(c dbtest.Command) dbtest.Action {
		if strings.Contains(c.SQL, "LEFT JOIN trash_objects") && stalled.Add(1) == 1 {
			return dbtest.Action{Stall: true}
		}
		return dbtest.Action{}
	})
	span := store.ScanStats().Span
	start := time.Now()
	got := scanAll(t, store, 100)
	if took := time.Since(start); took < deadline {
		t.Errorf("scan took %s, less than the stalled statement's deadline %s", took, deadline)
	}
	if ids := lmsIDs(got); !slices.Equal(ids, want) {
		t.Errorf("scan = %v, want %v", ids, want)
	}
	if stalled.Load() < 2 {
		t.Errorf("%d range statements, want the stalled one and its retry", stalled.Load())
	}
	if now := store.ScanStats().Span; now >= span {
		t.Errorf("span %d after a statement ran out of time, want less than %d", now, span)
	}

	// Asked to stop: the error, at once, whatever the span.
	p.SetRule(func(c dbtest.Command) dbtest.Action {
		return dbtest.Action{Stall: strings.Contains(c.SQL, "LEFT JOIN trash_objects")}
	})
	ctx, cancel := context.WithTimeout(t.Context(), deadline/3)
	defer cancel()
	if _, err := store.ScanTrashed(ctx, 0, 100); err == nil {
		t.Error("ScanTrashed with its context ended: no error")
	}
}

func lmsIDs(rows []reconcile.TrashedRow) []int64 {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.LMSID
	}
	return ids
}
