package db_test

import (
	"fmt"
	"testing"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/reconcile"
)

// TestEarlierMoveWaitsForADeleteUnderWay: a record waits for another record
// of its object whose verified copy is recorded but not yet its source's
// delete (copied, or shared with a copy), whatever that one's id: its delete
// may be under way, and a look at the source now could find it gone. Not
// for one whose restore is requested, nor one without a copy that only a
// higher id puts after it, nor one whose key differs by a trailing space.
func TestEarlierMoveWaitsForADeleteUnderWay(t *testing.T) {
	t.Parallel()
	store, sqlDB, _ := setup(t, db.TrashFlag)
	ctx := t.Context()
	const copied = "trash_bucket = 'trash', trash_key = 'trash/x', trash_etag = 'e', trash_size = 1, copied_at = NOW(6)"
	tests := []struct {
		name     string
		otherKey string // "": the same key as the waiting record's
		other    string // SET for the other record, which has the higher id
		waits    bool
	}{
		{"copied with a copy", "", "state = 'copied', " + copied, true},
		{"shared with a copy", "", "state = 'shared', " + copied, true},
		{"shared with a copy and a worker on it", "", "state = 'shared', lease_token = 'w', lease_expires_at = NOW(6) + INTERVAL 1 HOUR, " + copied, true},
		{"shared without a copy, held", "", "state = 'shared', lease_token = 'w', lease_expires_at = NOW(6) + INTERVAL 1 HOUR", false},
		{"pending", "", "state = 'pending'", false},
		{"in_trash: its delete recorded", "", "state = 'in_trash', source_deleted_at = NOW(6), " + copied, false},
		{"copied, restore requested", "", "state = 'copied', restore_requested_at = NOW(6), " + copied, false},
		{"copied, key with a trailing space", "obj ", "state = 'copied', " + copied, false},
	}
	var (
		recs  []reconcile.Record
		want  = map[int64]int64{} // record id: the LMS row it waits for
		names = map[int64]string{}
	)
	for i, tt := range tests {
		bucket, key := fmt.Sprintf("bk%d", i), "obj" // an object of each case's own
		otherKey := key
		if tt.otherKey != "" {
			otherKey = tt.otherKey
		}
		mine := dbtest.InsertFile(t, sqlDB, bucket, key, true)
		other := dbtest.InsertFile(t, sqlDB, bucket, otherKey, true)
		if _, err := store.RecordTrashed(ctx, []reconcile.TrashedRow{{LMSID: mine, Bucket: bucket, Key: key}, {LMSID: other, Bucket: bucket, Key: otherKey}}); err != nil {
			t.Fatal(err)
		}
		setRecord(t, sqlDB, other, tt.other)
		rec := recordOf(t, store, mine)
		if o := recordOf(t, store, other); o.ID < rec.ID {
			t.Fatalf("%s: the other record's id %d is below %d", tt.name, o.ID, rec.ID)
		}
		recs = append(recs, rec)
		names[rec.ID] = tt.name
		if tt.waits {
			want[rec.ID] = other
		}
	}
	batch, err := store.EarlierMoves(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		lmsID, found, err := earlierMove(t, store, rec.Source.Bucket, rec.Source.Key, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		w, waits := want[rec.ID]
		if found != waits || lmsID != w {
			t.Errorf("%s: EarlierMove = %d, %v; want %d, %v", names[rec.ID], lmsID, found, w, waits)
		}
		if got, ok := batch[rec.ID]; ok != waits || got != w {
			t.Errorf("%s: EarlierMoves = %d, %v; want %d, %v", names[rec.ID], got, ok, w, waits)
		}
	}
}
