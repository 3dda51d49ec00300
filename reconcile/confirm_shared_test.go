package reconcile_test

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"testing"
	"time"

	"trashd/reconcile"
)

// sharedWaiting are n records waiting for their transition whose copies
// are shared, per records, by a content-addressed LMS (AdoptCopy): record
// id's copy is at "t/" + (id-1)/per.
type sharedWaiting struct {
	n, per int64
	marked *int
}

func (s sharedWaiting) WaitingCopies(_ context.Context, _ reconcile.TransitionQuery, _ string, _ time.Time, after int64, limit int) ([]reconcile.WaitingCopy, error) {
	var out []reconcile.WaitingCopy
	for id := after + 1; id <= s.n && len(out) < limit; id++ {
		out = append(out, reconcile.WaitingCopy{ID: id, Key: "t/" + strconv.FormatInt((id-1)/s.per, 10), Size: 1 << 20, ETag: "e"})
	}
	return out, nil
}

func (s sharedWaiting) MarkArchived(_ context.Context, copies []reconcile.MatchedCopy, _ string, _ time.Time) (int, error) {
	for _, c := range copies {
		if c.KeyHash != reconcile.CopyKeyHash("t/"+strconv.FormatInt((c.ID-1)/s.per, 10)) {
			return 0, fmt.Errorf("record %d marked with another copy's key", c.ID)
		}
	}
	*s.marked += len(copies)
	return len(copies), nil
}

// Records that share one trash copy (several LMS rows naming one object,
// which the design expects of content-addressed LMSs) are all confirmed by
// the report's row of that copy, none sent to HEAD.
func TestConfirmFromReportSharedCopies(t *testing.T) {
	const n, per = 1000, 4
	snap := reconcile.InventorySnapshot{Bucket: "trash", Created: time.Now(), Where: "s3://inv/",
		Rows: func(context.Context) iter.Seq2[reconcile.InventoryRow, error] {
			return func(yield func(reconcile.InventoryRow, error) bool) {
				for k := int64(0); k < n/per; k++ {
					if !yield(reconcile.InventoryRow{Key: "t/" + strconv.FormatInt(k, 10), IsLatest: true, Size: 1 << 20, ETag: "e", StorageClass: "GLACIER"}, nil) {
						return
					}
				}
			}
		}}
	var marked int
	res, err := reconcile.ConfirmFromReport(t.Context(), sharedWaiting{n, per, &marked}, snap, reconcile.TransitionQuery{}, "GLACIER", n)
	if err != nil {
		t.Fatal(err)
	}
	if res.Confirmed != n || marked != n || len(res.ToHead) != 0 {
		t.Errorf("%d records sharing %d archived copies: %d confirmed, %d disagreed, %d sent to HEAD; want all confirmed, none to HEAD",
			n, n/per, res.Confirmed, res.Disagreed, len(res.ToHead))
	}
}
