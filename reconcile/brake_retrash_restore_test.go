package reconcile_test

import (
	"errors"
	"fmt"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// An LMS of 20 rows: 10 were trashed, moved and restored; 10 are live and
// never were trashed. Then every row looks trashed (a wrong trash column,
// the flag flipped by a bad LMS migration): 10 restored rows "trashed
// again" and 10 new discoveries, 20 of 20 rows. Each half is a handful
// (10), so neither is weighed, and the sum never is.
func TestReviewBrakeRetrashPlusNewNotWeighedTogether(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 10 {
		env.AddFile(t, fmt.Sprintf("a/%02d", i), []byte("file a"), true, 0)
	}
	for i := range 10 {
		env.AddFile(t, fmt.Sprintf("b/%02d", i), []byte("file b"), false, 0)
	}
	cfg := atDefaults(env)
	r := env.Runner(t, cfg)
	if sum := run(t, r); sum.Counts.Moved != 10 {
		t.Fatalf("first pass %+v, want 10 moved", sum.Counts)
	}
	_, err := env.DB.Exec("UPDATE files SET trashed = 0")
	testworld.Must(t, err)
	for range 3 {
		run(t, r)
	}
	if got := env.States(t); got[reconcile.StateRestored] != 10 {
		t.Fatalf("states %v, want 10 restored", got)
	}
	_, err = env.DB.Exec("UPDATE files SET trashed = 1")
	testworld.Must(t, err)
	_, err = r.Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrMassChange) {
		t.Errorf("every row of the LMS looks trashed (10 restored trashed again, 10 new): Run = %v, states %v, %d objects in the trash bucket; want the brake",
			err, env.States(t), len(trashObjects(t, env)))
	}
}

// A young trash (trashd installed last week): 12 files of one course in
// it, out of an LMS of 200 live files. The teacher restores the course.
// 12 restores of 12 files in the trash trip the majority rule, and the pass
// stops before any restore and before any move: every later pass too, until
// an operator lets one through.
func TestReviewBrakeStopsADaysRestoreOfAYoungTrash(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 200 {
		env.AddFile(t, fmt.Sprintf("live/%03d", i), []byte("live file"), false, 0)
	}
	for i := range 12 {
		env.AddFile(t, fmt.Sprintf("course/%02d", i), []byte("course file"), true, 0)
	}
	r := env.Runner(t, atDefaults(env))
	if sum := run(t, r); sum.Counts.Moved != 12 {
		t.Fatalf("first pass %+v, want the course's 12 files moved", sum.Counts)
	}
	_, err := env.DB.Exec("UPDATE files SET trashed = 0 WHERE s3_key LIKE 'course/%'")
	testworld.Must(t, err)
	env.AddFile(t, "other/one", []byte("another trashed file"), true, 0)
	sum, err := r.Run(passCtx(t), reconcile.TriggerSchedule)
	if err != nil {
		t.Errorf("a course of 12 files restored from a trash of 12 (LMS of 213 rows): Run = %v (counts %+v)", err, sum.Counts)
	}
}
