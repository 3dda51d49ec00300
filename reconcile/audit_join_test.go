package reconcile_test

import (
	"context"
	"fmt"
	"iter"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"trashd/reconcile"
)

// countingReports serves one synthetic report of n rows, every key listed
// intact, and counts how often it is streamed.
type countingReports struct {
	n       int64
	strays  int64 // rows after the n, each older than the one before
	created time.Time
	streams *atomic.Int64
}

func scaleKey(id int64) string { return fmt.Sprintf("t/%d/file", id) }

// strayTime is when the stray row id was last modified: the later the id,
// the older.
func strayTime(id int64) time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(id) * time.Hour)
}

func (c countingReports) Newest(_ context.Context, bucket string) (reconcile.InventorySnapshot, error) {
	return reconcile.InventorySnapshot{Bucket: bucket, Created: c.created, Where: "s3://inv/" + bucket + "/",
		Rows: func(context.Context) iter.Seq2[reconcile.InventoryRow, error] {
			c.streams.Add(1)
			return func(yield func(reconcile.InventoryRow, error) bool) {
				for id := int64(1); id <= c.n+c.strays; id++ {
					row := reconcile.InventoryRow{Key: scaleKey(id), IsLatest: true, Size: 10, ETag: "e", StorageClass: "GLACIER"}
					if id > c.n {
						row.LastModified = strayTime(id)
					}
					if !yield(row, nil) {
						return
					}
				}
			}
		}}, nil
}

// scaleRecords are n archived records, each with its copy at scaleKey(id).
type scaleRecords struct{ n int64 }

func (s scaleRecords) Records(_ context.Context, after int64, limit int) ([]reconcile.Record, error) {
	var out []reconcile.Record
	for id := after + 1; id <= s.n && len(out) < limit; id++ {
		out = append(out, reconcile.Record{ID: id, LMSID: id, State: reconcile.StateArchived, TrashKey: scaleKey(id),
			Source: reconcile.Object{Bucket: "src", Key: fmt.Sprintf("k/%d", id)},
			Copy:   reconcile.Object{Bucket: "trash", Key: scaleKey(id), Size: 10, ETag: "e"}})
	}
	return out, nil
}

// tempDirEmpty points the audit's temporary files at a directory of the
// test's and returns a check that nothing was left in it.
func tempDirEmpty(t *testing.T) func() {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return func() {
		t.Helper()
		left, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Errorf("the audit left %d files in its temporary directory, want none", len(left))
		}
	}
}

// The inventory audit reads the trash report once, however many records it
// checks: with a partition of 2^16 places, 2^19 records are joined with the
// report in 8 partitions through temporary files (removed at the end), and
// every record is found intact in the report without a request. Reading the
// report once per chunk of records instead would read it hundreds of times
// at 10^8 records.
func TestAuditInventoryReadsReportOnce(t *testing.T) {
	checkTemp := tempDirEmpty(t)
	for _, part := range []int{1 << 16, 0} { // partitions on disk; all in memory
		const n = 4 << 17
		var streams atomic.Int64
		sum, err := reconcile.InventoryAudit{
			Records: scaleRecords{n}, Reports: countingReports{n: n, created: time.Now(), streams: &streams},
			TrashBucket: "trash", ArchiveClass: "GLACIER", Concurrency: 1, MaxAge: time.Hour, PartitionSize: part,
		}.Run(t.Context(), func(rec reconcile.Record, result reconcile.AuditResult, detail string) {
			t.Errorf("record %d: %s %s", rec.ID, result, detail)
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum.FromReports != n || sum.Checked != n || sum.Headed != 0 {
			t.Fatalf("partition %d: summary %+v, want all %d records checked from the report, none looked at with HEAD", part, sum, n)
		}
		if got := streams.Load(); got != 1 {
			t.Errorf("partition %d: the trash report was streamed %d times for %d records, want once", part, got, n)
		}
	}
	checkTemp()
}

// scaleLMS are n live LMS rows, each naming scaleKey(id) in bucket src.
type scaleLMS struct{ n int64 }

func (s scaleLMS) LMSObjects(_ context.Context, after int64, limit int) ([]reconcile.LMSObject, error) {
	var out []reconcile.LMSObject
	if after < 0 {
		after = 0
	}
	for id := after + 1; id <= s.n && len(out) < limit; id++ {
		out = append(out, reconcile.LMSObject{LMSID: id, Bucket: "src", Key: scaleKey(id)})
	}
	return out, nil
}

// The two-way audit reads the source bucket's report once, however many LMS
// rows it checks, and the strays come out of the same join: 2^19 LMS rows
// joined in 8 partitions with a report that also lists 3 objects no row
// names, which are counted, summed and listed oldest first.
func TestAuditLMSReadsSourceReportOnce(t *testing.T) {
	checkTemp := tempDirEmpty(t)
	for _, part := range []int{1 << 16, 0} {
		const n = 4 << 17
		var streams atomic.Int64
		sum, err := reconcile.LMSAudit{
			Rows: scaleLMS{n}, Reports: countingReports{n: n, strays: 3, created: time.Now(), streams: &streams},
			TrashBucket: "trash", Prices: reconcile.DefaultPrices, Buckets: []string{"src"}, Oldest: 2, Concurrency: 1, MaxAge: time.Hour, PartitionSize: part,
		}.Run(t.Context(), func(row reconcile.LMSObject, detail string) {
			t.Errorf("row %d: %s", row.LMSID, detail)
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != n || sum.Headed != 0 || len(sum.Buckets) != 1 {
			t.Fatalf("partition %d: summary %+v", part, sum)
		}
		b := sum.Buckets[0]
		if b.Objects != n+3 || b.Strays != 3 || b.StrayBytes != 3*10 || b.StrayCost <= 0 {
			t.Errorf("partition %d: bucket %+v, want %d objects and 3 strays of 10 bytes", part, b, n+3)
		}
		if len(b.Oldest) != 2 || b.Oldest[0].Key != scaleKey(n+3) || b.Oldest[1].Key != scaleKey(n+2) ||
			!b.Oldest[0].LastModified.Equal(strayTime(n+3)) {
			t.Errorf("partition %d: oldest strays %+v, want %s then %s", part, b.Oldest, scaleKey(n+3), scaleKey(n+2))
		}
		if got := streams.Load(); got != 1 {
			t.Errorf("partition %d: the source report was streamed %d times for %d LMS rows, want once", part, got, n)
		}
	}
	checkTemp()
}
