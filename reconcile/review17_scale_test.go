package reconcile_test

import (
	"context"
	"fmt"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"trashd/reconcile"
)

// countingReports serves one synthetic report of n rows, every key listed
// intact, and counts how often it is streamed.
type countingReports struct {
	n       int64
	created time.Time
	streams *atomic.Int64
}

func scaleKey(id int64) string { return fmt.Sprintf("t/%d/file", id) }

func (c countingReports) Newest(_ context.Context, bucket string) (reconcile.InventorySnapshot, error) {
	return reconcile.InventorySnapshot{Bucket: bucket, Created: c.created, Where: "s3://inv/" + bucket + "/",
		Rows: func(context.Context) iter.Seq2[reconcile.InventoryRow, error] {
			c.streams.Add(1)
			return func(yield func(reconcile.InventoryRow, error) bool) {
				for id := int64(1); id <= c.n; id++ {
					if !yield(reconcile.InventoryRow{Key: scaleKey(id), IsLatest: true, Size: 10, ETag: "e", StorageClass: "GLACIER"}, nil) {
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

// The inventory audit reads the whole trash report once per 131,072
// records: the number of full streams grows with the records, so an audit of
// N records against a report of N rows reads N^2/131072 rows. At 10^8
// records (and a 10^8-row report) that is about 763 streams of the whole
// report, some 7.6*10^10 rows and 763 downloads of every data file: days,
// not the one pass the issue asks for.
func TestReview17AuditInventoryStreamsReportOncePerChunk(t *testing.T) {
	const n = 4 << 17 // four audit chunks
	var streams atomic.Int64
	sum, err := reconcile.InventoryAudit{
		Records: scaleRecords{n}, Reports: countingReports{n: n, created: time.Now(), streams: &streams},
		TrashBucket: "trash", ArchiveClass: "GLACIER", Concurrency: 1, MaxAge: time.Hour,
	}.Run(t.Context(), func(rec reconcile.Record, result reconcile.AuditResult, detail string) {
		t.Errorf("record %d: %s %s", rec.ID, result, detail)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.FromReports != n {
		t.Fatalf("FromReports = %d, want %d", sum.FromReports, n)
	}
	if got := streams.Load(); got > 1 {
		t.Errorf("the trash report was streamed %d times for %d records (rows read: %d); at 10^8 records this is ~%d full streams",
			got, n, got*n, int64(1e8)/(1<<17))
	}
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

// The two-way audit likewise streams the source bucket's report once per
// 131,072 LMS rows (and once more for the strays).
func TestReview17AuditLMSStreamsSourceReportOncePerChunk(t *testing.T) {
	const n = 4 << 17
	var streams atomic.Int64
	sum, err := reconcile.LMSAudit{
		Rows: scaleLMS{n}, Reports: countingReports{n: n, created: time.Now(), streams: &streams},
		TrashBucket: "trash", Buckets: []string{"src"}, Concurrency: 1, MaxAge: time.Hour,
	}.Run(t.Context(), func(row reconcile.LMSObject, detail string) {
		t.Errorf("row %d: %s", row.LMSID, detail)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != n || len(sum.Buckets) != 1 || sum.Buckets[0].Strays != 0 {
		t.Fatalf("summary: %+v", sum)
	}
	if got := streams.Load(); got > 2 {
		t.Errorf("the source report was streamed %d times for %d LMS rows; at 10^8 rows this is ~%d full streams", got, n, int64(1e8)/(1<<17))
	}
}
