package reconcile_test

import (
	"errors"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// Findings of a review of the delete and overwrite paths: each test plays
// one interleaving through the real servers and the fault layer, and fails
// while trashd loses a file there or records something false.

// A source delete that took effect but whose answer was lost leaves the
// record copied, its source gone. A content-addressed LMS then inserts a
// row naming the same object (it stores the same file again). The next
// attempt must give that row its file back (from the verified trash copy),
// as the look at the LMS right after a delete does; recording the record
// shared — "the object stays where it is" — leaves the live row naming a
// key that holds nothing.
func TestReviewResumedCopiedRecordBringsTheObjectBackForANewLiveRow(t *testing.T) {
	t.Parallel()
	w := newFaultWorld(t)
	body := testworld.Body("resumed-shared", 700)
	id := w.AddFile(t, "hash/aa/bb/resumed", body, true, 0)
	// The delete reaches the server; its answer never comes back.
	w.setRule(s3test.When(s3test.Deletes(w.Source, "hash/aa/bb/resumed"), s3test.Fault{LoseResponse: errors.New("connection reset after the delete")}))
	run(t, w.Runner(t, noRetry(w.Config("owner-a"))))
	if w.deletes(w.Source, "hash/aa/bb/resumed") == 0 {
		t.Fatal("no delete of the source was sent in the first pass")
	}
	if rec := ruleRecord(t, w.Env, id); rec.State != reconcile.StateCopied {
		t.Fatalf("after the first pass %s (%q), want copied", rec.State, rec.LastError)
	}
	wantNoObject(t, w.Env, w.Source, "hash/aa/bb/resumed", "the delete took effect")

	live := w.AddSharedRow(t, id, false)
	w.setRule(nil)
	makeDue(t, w.Env)
	run(t, w.Runner(t, w.Config("owner-b")))

	wantObject(t, w.Env, w.Source, "hash/aa/bb/resumed", body, "the object LMS row "+itoa(live)+" names")
	if rec := ruleRecord(t, w.Env, id); rec.State == reconcile.StateShared {
		if _, ok := objectAt(t, w.Env, w.Source, "hash/aa/bb/resumed"); !ok {
			t.Errorf("record of row %d says shared (the object stays at its key) but the key holds nothing", id)
		}
	}
	w.CheckInvariant(t)
}
