package reconcile_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// A restore removes only the recorded trash copy, never whatever is at the
// trash key: other bytes put there after the copy back (another writer, a
// replaced copy) are left alone, and the restore still completes.
func TestRestoreLeavesOtherBytesAtTheTrashKey(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	r := w.Runner(t, w.Config("owner-a"))
	body := []byte("the trashed file")
	id, trashKey := movedThenUntrashed(t, w, r, "keep/replaced.txt", body)
	// The restore HEADs the trash copy before the copy back and again
	// right before removing it: by the second, other bytes are there.
	other := []byte("not the copy trashd made")
	beforeRemoval := s3test.Nth(2, request("HeadObject", w.Trash, trashKey))
	var replaced atomic.Bool
	w.setRule(func(req *http.Request) s3test.Fault {
		if beforeRemoval(req) {
			putBehind(t, w.Env, w.Trash, trashKey, other)
			replaced.Store(true)
		}
		return s3test.Fault{}
	})

	sum := run(t, r)
	if !replaced.Load() {
		t.Fatalf("the trash copy was not looked at twice (requests %v)", w.ft.Requests())
	}
	if sum.Counts.Restored != 1 {
		t.Errorf("restore pass %+v: want restored", sum.Counts)
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateRestored || rec.RestoredKey != "keep/replaced.txt" {
		t.Errorf("record %s at %q (%q): want restored at the original key", rec.State, rec.RestoredKey, rec.LastError)
	}
	wantObject(t, w.Env, w.Source, "keep/replaced.txt", body, "the restored file")
	wantObject(t, w.Env, w.Trash, trashKey, other, "the other bytes at the trash key")
	if n := w.deletes(w.Trash, trashKey); n != 0 {
		t.Errorf("%d deletes of the trash key sent, want none: it no longer holds the recorded copy", n)
	}
	w.CheckInvariant(t)
}
