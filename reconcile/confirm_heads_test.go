package reconcile_test

import (
	"context"
	"iter"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"trashd/reconcile"
)

// synthWaiting are n records waiting for their transition; none is marked.
type synthWaiting struct{ n int64 }

func (s synthWaiting) WaitingCopies(_ context.Context, _ reconcile.TransitionQuery, _ string, _ time.Time, after int64, limit int) ([]reconcile.WaitingCopy, error) {
	out := make([]reconcile.WaitingCopy, 0, limit)
	for id := after + 1; id <= s.n && len(out) < limit; id++ {
		out = append(out, reconcile.WaitingCopy{ID: id, Key: "t/" + strconv.FormatInt(id, 10), Size: 1 << 20, ETag: "e"})
	}
	return out, nil
}

func (synthWaiting) MarkArchived(context.Context, []reconcile.MatchedCopy, string, time.Time) (int, error) {
	return 0, nil
}

// peakHeap runs f with a tight GC target and returns the highest heap seen.
func peakHeap(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak.Load()
}

// ConfirmFromReport keeps only headLimit of the records the report does
// not confirm and counts the rest: with a backlog the report lists in
// STANDARD or not at all (a lifecycle rule that stopped working, a report
// filtered by prefix), its memory is a chunk's, whatever the backlog.
func TestConfirmFromReportMemoryIsBoundedWithBacklog(t *testing.T) {
	empty := reconcile.InventorySnapshot{Bucket: "trash", Created: time.Now(), Where: "s3://inv/",
		Rows: func(context.Context) iter.Seq2[reconcile.InventoryRow, error] {
			return func(func(reconcile.InventoryRow, error) bool) {}
		}}
	measure := func(n int64) uint64 {
		var res reconcile.ReportConfirmation
		peak := peakHeap(func() {
			var err error
			res, err = reconcile.ConfirmFromReport(t.Context(), synthWaiting{n}, empty, reconcile.TransitionQuery{}, "GLACIER", 100)
			if err != nil {
				t.Fatal(err)
			}
		})
		if res.Unlisted != int(n) || len(res.ToHead) != 100 {
			t.Fatalf("n=%d: %d unlisted, %d to HEAD", n, res.Unlisted, len(res.ToHead))
		}
		// None was ever checked: the lowest ids, in order.
		for i, id := range res.ToHead {
			if id != int64(i+1) {
				t.Fatalf("n=%d: ToHead[%d] = %d, want %d", n, i, id, i+1)
			}
		}
		return peak
	}
	small := measure(1 << 20)
	large := measure(6 << 20)
	t.Logf("peak heap: %d MB for 2^20 waiting records, %d MB for 6*2^20", small>>20, large>>20)
	if large > small+64<<20 {
		t.Errorf("peak heap grows with the backlog: %d MB for 2^20 records, %d MB for 6*2^20 (chunks are 2^19; only 100 are kept for HEAD)",
			small>>20, large>>20)
	}
}
