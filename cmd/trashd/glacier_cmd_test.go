package main_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// trashd lifecycle before and after --apply, status --overdue and --cost,
// and trashd restore of an archived file, against the Glacier emulation.
func TestLifecycleStatusRestoreCommands(t *testing.T) {
	t.Parallel()
	// S3's days are an hour long here and its restores a minute, on a
	// clock the test moves on: nothing happens while a loaded machine is
	// slow, and the restore is done when the test says so.
	srv := glacier.Start(t, glacier.Config{Target: s3test.Endpoint(), DayLength: time.Hour,
		Restore: map[string]time.Duration{"Expedited": time.Minute}, Clock: glacier.NewClock()})
	env := testworld.New(t, func(o *s3ops.Options) { o.Endpoint = srv.URL })
	id := env.AddFile(t, "thesis/final.pdf", testworld.Body("thesis", 200<<10), true, 0)
	vars := with(env.Vars(), "TRASHD_S3_ENDPOINT="+srv.URL, "TRASHD_ARCHIVE_MODE=direct",
		"TRASHD_RESTORE_TIER=Expedited", "TRASHD_RESTORE_POLL=1ms", "TRASHD_LIFECYCLE_DAY_LENGTH=1s")
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}

	before := trashd(t, vars, "lifecycle")
	if before.code != 3 || !strings.Contains(before.stdout, `no rule with id "trashd-archive"`) {
		t.Errorf("lifecycle before --apply: exit %d\n%s%s", before.code, before.stdout, before.stderr)
	}
	apply := trashd(t, vars, "lifecycle", "--apply")
	if apply.code != 0 || !strings.Contains(apply.stdout, "applied") || !strings.Contains(apply.stdout, "drift: none") {
		t.Errorf("lifecycle --apply: exit %d\n%s%s", apply.code, apply.stdout, apply.stderr)
	}
	if after := trashd(t, vars, "lifecycle"); after.code != 0 || !strings.Contains(after.stdout, "drift: none") {
		t.Errorf("lifecycle after --apply: exit %d\n%s%s", after.code, after.stdout, after.stderr)
	}

	if r := trashd(t, vars, "reconcile"); r.code != 0 || !strings.Contains(r.stdout, "archived 1") {
		t.Fatalf("reconcile in direct mode: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	st := trashd(t, vars, "status", "--overdue", "--cost")
	for _, want := range []string{"archived", "overdue transitions (0 in all", "GLACIER", "USD/month", "saving"} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status --overdue --cost lacks %q:\n%s%s", want, st.stdout, st.stderr)
		}
	}

	// While the LMS still flags it, a restore is refused: the next pass
	// would move it again, undoing the restore without a word.
	if r := trashd(t, vars, "restore", strconv.FormatInt(id, 10)); r.code == 0 || !strings.Contains(r.stderr, "clear its trash flag in the LMS first") {
		t.Fatalf("restore of a flagged row: exit %d, want a refusal that says to clear the flag\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Once the LMS has cleared the flag, ops bring it back at once.
	env.Untrash(t, id)
	r := trashd(t, vars, "restore", strconv.FormatInt(id, 10))
	if r.code != 0 || !strings.Contains(r.stdout, "restoring it from the archive class") {
		t.Fatalf("restore of an archived file: exit %d, want it restoring from the archive class\n%s%s", r.code, r.stdout, r.stderr)
	}
	testworld.Must(t, srv.Advance(t.Context(), time.Minute))
	r = trashd(t, vars, "restore", strconv.FormatInt(id, 10))
	if r.code != 0 || !strings.Contains(r.stdout, "restored to s3://") {
		t.Fatalf("restore once S3 restored the copy: exit %d, want it restored\n%s%s", r.code, r.stdout, r.stderr)
	}
	env.CheckInvariant(t)
}
