package main_test

import (
	"strings"
	"testing"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/reconcile"
)

// A row whose key S3 cannot hold is failed at discovery: the pass counts
// it failed and exits 3; the rest of the trash is moved.
func TestReconcileExitsThreeForADiscoveryFailure(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	env.AddFile(t, "fine.txt", []byte("fine"), true, 0)
	dbtest.InsertFile(t, env.DB, "", strings.Repeat("é", 600), true) // 1,200 bytes: over S3's 1,024
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := trashd(t, env.Vars(), "reconcile")
	if r.code != 3 || !strings.Contains(r.stdout, "moved 1") || !strings.Contains(r.stdout, "failed 1") {
		t.Errorf("reconcile: exit %d, want 3 with moved 1 and failed 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "1 failed") || !strings.Contains(r.stderr, "trashd status --failed") {
		t.Errorf("reconcile: stderr does not say what failed and what to do:\n%s", r.stderr)
	}
	if got := env.States(t); got[reconcile.StateFailed] != 1 || got[reconcile.StateInTrash] != 1 {
		t.Errorf("states %v, want 1 failed and 1 in_trash", got)
	}
	// The next pass has nothing new to fail: 0.
	if r := trashd(t, env.Vars(), "reconcile"); r.code != 0 {
		t.Errorf("second reconcile: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// An object left in place because an untrashed row still uses it is a
// normal outcome: exit 0.
func TestReconcileExitsZeroForASharedObject(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	id := env.AddFile(t, "shared.txt", []byte("shared"), true, 0)
	env.AddSharedRow(t, id, false)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := trashd(t, env.Vars(), "reconcile")
	if r.code != 0 || !strings.Contains(r.stdout, "shared 1") {
		t.Errorf("reconcile: exit %d, want 0 with shared 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	env.CheckInvariant(t)
}

// An audit that cannot reach S3 failed to audit (1); it found no problems.
func TestAuditExitsOneWhenS3IsUnreachable(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	env.AddFile(t, "a.txt", []byte("a"), true, 0)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := trashd(t, env.Vars(), "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s", r.code, r.stderr)
	}
	r := trashd(t, with(env.Vars(), "TRASHD_S3_ENDPOINT=http://127.0.0.1:1"), "audit")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot reach the trash bucket") {
		t.Errorf("audit without S3: exit %d, want 1 and a message naming the trash bucket\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := trashd(t, env.Vars(), "audit"); r.code != 0 {
		t.Errorf("audit: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A Canvas-style LMS: file_state = 'deleted' marks a row trashed. The
// deleted row's file moves; a live row's stays.
func TestReconcileTrashKindValue(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	if _, err := env.DB.Exec("ALTER TABLE files ADD COLUMN file_state VARCHAR(16) NULL"); err != nil {
		t.Fatal(err)
	}
	gone := env.AddFile(t, "canvas/deleted.pdf", []byte("deleted"), false, 0)
	env.AddFile(t, "canvas/available.pdf", []byte("available"), false, 0)
	if _, err := env.DB.Exec("UPDATE files SET file_state = IF(id = ?, 'deleted', 'available')", gone); err != nil {
		t.Fatal(err)
	}
	vars := with(env.Vars(), "TRASHD_LMS_TRASH_COLUMN=file_state", "TRASHD_LMS_TRASH_KIND=value", "TRASHD_LMS_TRASH_VALUES=deleted, purged")
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := trashd(t, vars, "reconcile")
	if r.code != 0 || !strings.Contains(r.stdout, "moved 1") {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 1 || len(got) != 1 {
		t.Errorf("states %v, want the deleted row's record only", got)
	}
	// The kind is checked against the column's type, and values are required.
	for _, tc := range []struct {
		vars []string
		want string
	}{
		{[]string{"TRASHD_LMS_TRASH_KIND=value", "TRASHD_LMS_TRASH_VALUES=deleted"}, "a string type"}, // trashed is TINYINT
		{[]string{"TRASHD_LMS_TRASH_COLUMN=file_state", "TRASHD_LMS_TRASH_KIND=value"}, "TRASHD_LMS_TRASH_VALUES"},
		{[]string{"TRASHD_LMS_TRASH_COLUMN=file_state", "TRASHD_LMS_TRASH_KIND=value", "TRASHD_LMS_TRASH_VALUES=it's"}, "TRASHD_LMS_TRASH_VALUES"},
	} {
		if r := trashd(t, with(env.Vars(), tc.vars...), "reconcile"); r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 naming %q\n%s", tc.vars, r.code, tc.want, r.stderr)
		}
	}
}
