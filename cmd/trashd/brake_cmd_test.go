package main_test

import (
	"strings"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// Through the real binary: a dry run shows the restores and orphanings a
// pass would start and whether the mass-change brake would stop it; a pass
// stops at the brake, changing nothing, and --allow-mass-change lets one
// through.
func TestReconcileBrakeAndDryRun(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	vars := env.Vars()
	var ids []int64
	for _, key := range []string{"a.txt", "b.txt", "c.txt", "d.txt"} {
		ids = append(ids, env.AddFile(t, key, testworld.Body(key, 100), true, 0))
	}
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	if r := trashd(t, vars, "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	env.Untrash(t, ids[0])
	env.Untrash(t, ids[1])
	env.Untrash(t, ids[2])

	dry := trashd(t, vars, "reconcile", "--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, "would restore 3 files") {
		t.Errorf("dry run: exit %d, want 0 and the restores shown\n%s%s", dry.code, dry.stdout, dry.stderr)
	}

	braked := with(vars, "TRASHD_MASS_CHANGE_COUNT=2", "TRASHD_MASS_CHANGE_SHARE=0.1")
	dry = trashd(t, braked, "reconcile", "--dry-run")
	if dry.code != 3 || !strings.Contains(dry.stdout+dry.stderr, "would stop") {
		t.Errorf("dry run over the brake: exit %d, want 3 and the brake named\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	r := trashd(t, braked, "reconcile")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "--allow-mass-change") {
		t.Errorf("reconcile over the brake: exit %d, want 1 and the override named\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 4 {
		t.Errorf("states %v after a braked pass, want nothing changed", got)
	}
	if r := trashd(t, braked, "reconcile", "--allow-mass-change"); r.code != 0 || !strings.Contains(r.stdout, "restored 3") {
		t.Errorf("reconcile --allow-mass-change: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	env.CheckInvariant(t)
}
