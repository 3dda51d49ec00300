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
