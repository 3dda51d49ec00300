package reconcile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// Restored rows trashed again and new discoveries are one change to the
// brake. An LMS of 20 rows: 10 were trashed, moved and restored; 10 are live
// and never were trashed. Then every row looks trashed (a wrong trash
// column, the flag flipped by a bad LMS migration): 10 restored rows
// trashed again and 10 new discoveries, each a handful, 20 of 20 rows
// together. The pass stops before recording either, and so does the next:
// the rows trashed again were not started over behind the brake.
func TestBrakeWeighsRetrashedAndNewRowsTogether(t *testing.T) {
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
	for pass := range 2 {
		_, err = r.Run(passCtx(t), reconcile.TriggerManual)
		if !errors.Is(err, reconcile.ErrMostTrashed) || !strings.Contains(err.Error(), "20 of 20 LMS rows") ||
			!strings.Contains(err.Error(), "nothing was changed") {
			t.Fatalf("pass %d: every row of the LMS looks trashed (10 restored trashed again, 10 new): Run = %v; want the majority rule on 20 of 20 rows", pass, err)
		}
		if got := env.States(t); got[reconcile.StateRestored] != 10 || len(got) != 1 {
			t.Errorf("pass %d: states %v after a braked pass, want the 10 records still restored and no other", pass, got)
		}
		if keys := trashObjects(t, env); len(keys) != 0 {
			t.Errorf("pass %d: %d objects in the trash bucket after a braked pass, want none", pass, len(keys))
		}
		if keys := sourceKeys(t, env); len(keys) != 20 {
			t.Errorf("pass %d: %d objects in the source bucket after a braked pass, want all 20", pass, len(keys))
		}
	}
	// The override lets both through.
	cfg.Mass.Allow = true
	if sum := run(t, env.Runner(t, cfg)); sum.Counts.Moved != 20 {
		t.Errorf("overridden pass %+v: want 20 moved", sum.Counts)
	}
	if keys := trashObjects(t, env); len(keys) != 20 {
		t.Errorf("%d objects in the trash bucket after the overridden pass, want 20", len(keys))
	}
}

// A young trash (trashd installed last week): the 12 files of one course
// in it, out of an LMS of 200 live files. The teacher restores the course:
// 12 restores are most of the trash, but small against the LMS table (under
// the count floor and 10% of its rows), a normal day. The pass restores
// them and moves the one file trashed meanwhile (its pending record is not
// a file in the trash).
func TestBrakeLetsADaysRestoreOfAYoungTrashThrough(t *testing.T) {
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
		t.Fatalf("a course of 12 files restored from a trash of 12 (LMS of 213 rows): Run = %v (counts %+v)", err, sum.Counts)
	}
	if sum.Counts.Restored != 12 || sum.Counts.Moved != 1 {
		t.Errorf("pass %+v: want the course's 12 files restored and the other file moved", sum.Counts)
	}
	if keys := trashObjects(t, env); len(keys) != 1 || !strings.Contains(keys[0], "other/one") {
		t.Errorf("trash bucket %v, want only the other file", keys)
	}
	env.CheckInvariant(t)
}

// The same restore in an LMS whose trash column now reads backwards (every
// row looks live) is most of the trash and large against the LMS table: the
// brake still holds it, before any record is touched.
func TestBrakeHoldsARestoreOfMostOfTheTrashLargeAgainstTheLMS(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 30 {
		env.AddFile(t, fmt.Sprintf("live/%02d", i), []byte("live file"), false, 0)
	}
	for i := range 12 {
		env.AddFile(t, fmt.Sprintf("course/%02d", i), []byte("course file"), true, 0)
	}
	r := env.Runner(t, atDefaults(env))
	if sum := run(t, r); sum.Counts.Moved != 12 {
		t.Fatalf("first pass %+v, want the course's 12 files moved", sum.Counts)
	}
	_, err := env.DB.Exec("UPDATE files SET trashed = 0")
	testworld.Must(t, err)
	env.AddFile(t, "other/one", []byte("another trashed file"), true, 0)
	_, err = r.Run(passCtx(t), reconcile.TriggerSchedule)
	if !errors.Is(err, reconcile.ErrMostTrashed) || !strings.Contains(err.Error(), "restore") ||
		!strings.Contains(err.Error(), "12 of 12 files in the trash") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("12 of 12 files in the trash restored at once, in an LMS of 43 rows: Run = %v; want the majority rule", err)
	}
	// Nothing was recorded: not the restores, not the discovery.
	if got := env.States(t); got[reconcile.StateInTrash] != 12 || len(got) != 1 {
		t.Errorf("states %v after a braked pass, want the 12 in_trash and no other record", got)
	}
	var marked int
	testworld.Must(t, env.DB.QueryRow("SELECT COUNT(*) FROM trash_objects WHERE restore_requested_at IS NOT NULL").Scan(&marked))
	if marked != 0 {
		t.Errorf("%d records marked for restore after a braked pass, want none", marked)
	}
}
