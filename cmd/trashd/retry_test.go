package main_test

import (
	"fmt"
	"strings"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// A row discovered while TRASHD_SOURCE_BUCKET was unset fails for want of a
// bucket; status --failed lists it with the reason, retry --dry-run changes
// nothing, and retry picks up the bucket once it is set: the next pass
// moves the file.
func TestRetryPicksUpTheSourceBucket(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	id := env.AddFile(t, "no-bucket.txt", []byte("no bucket"), true, 0)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	unset := with(env.Vars(), "TRASHD_LMS_BUCKET_COLUMN=bucket", "TRASHD_SOURCE_BUCKET=")
	if r := trashd(t, unset, "reconcile"); r.code != 3 {
		t.Fatalf("reconcile without a bucket: exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateFailed] != 1 {
		t.Fatalf("states %v, want 1 failed", got)
	}
	row := fmt.Sprintf("LMS row %d", id)

	st := trashd(t, env.Vars(), "status", "--failed")
	if st.code != 0 || !strings.Contains(st.stdout, "failed and missing records") ||
		!strings.Contains(st.stdout, fmt.Sprintf("\n%d ", id)) || !strings.Contains(st.stdout, "trashd retry") {
		t.Errorf("status --failed: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}

	dry := trashd(t, env.Vars(), "retry", "--dry-run", "--all")
	if dry.code != 0 || !strings.Contains(dry.stdout, row) || !strings.Contains(dry.stdout, "would re-queue 1") {
		t.Errorf("retry --dry-run --all: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if got := env.States(t); got[reconcile.StateFailed] != 1 {
		t.Errorf("after a dry run: states %v, want 1 failed still", got)
	}

	for _, bad := range [][]string{{"retry"}, {"retry", "--all", "--state", "failed"}, {"retry", "--state", "pending"}, {"retry", "x"}} {
		if r := trashd(t, env.Vars(), bad...); r.code != 2 || !strings.Contains(r.stderr, "usage: trashd retry") {
			t.Errorf("trashd %q: exit %d, want 2 with the usage\n%s", bad, r.code, r.stderr)
		}
	}
	if r := trashd(t, env.Vars(), "retry", "999999"); r.code != 3 || !strings.Contains(r.stderr, "no record for LMS row 999999") {
		t.Errorf("retry of an unknown row: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r := trashd(t, env.Vars(), "retry", fmt.Sprint(id))
	if r.code != 0 || !strings.Contains(r.stdout, "failed -> pending (source bucket now "+env.Source+")") || !strings.Contains(r.stdout, "re-queued 1") {
		t.Fatalf("retry: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := trashd(t, env.Vars(), "reconcile"); r.code != 0 || !strings.Contains(r.stdout, "moved 1") {
		t.Errorf("reconcile after the retry: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 1 {
		t.Errorf("states %v, want 1 in_trash", got)
	}
	env.CheckInvariant(t)
}
