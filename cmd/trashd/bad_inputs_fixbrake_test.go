package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// An LMS of 20 rows whose 10 trashed files were moved and then restored,
// and whose trash column then reads every row as trashed: 10 restored rows
// trashed again and 10 new trashed rows, each a handful, 20 of 20 rows
// together. The dry run counts and weighs both, as a pass does; a pass, and
// the pass after it, stops before recording either. Each case: the exit
// code, the message's key words, and nothing changed in MySQL or either
// bucket but the runs recorded in error.
func TestBadInputsBrakeRetrashedAndNew(t *testing.T) {
	env := testworld.New(t)
	vars := with(env.Vars(), "TRASHD_LOG_FORMAT=text", "TRASHD_LIFECYCLE_MODE=off")
	for i := range 10 {
		env.AddFile(t, fmt.Sprintf("a/%02d.txt", i), []byte("file a "+fmt.Sprint(i)), true, 0)
	}
	for i := range 10 {
		env.AddFile(t, fmt.Sprintf("b/%02d.txt", i), []byte("file b "+fmt.Sprint(i)), false, 0)
	}
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	if r := trashd(t, vars, "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	_, err := env.DB.Exec("UPDATE files SET trashed = 0")
	testworld.Must(t, err)
	for range 5 {
		if env.States(t)[reconcile.StateRestored] == 10 {
			break
		}
		if r := trashd(t, vars, "reconcile"); r.code != 0 {
			t.Fatalf("reconcile (restores): exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	if got := env.States(t); got[reconcile.StateRestored] != 10 {
		t.Fatalf("states %v, want 10 restored", got)
	}
	_, err = env.DB.Exec("UPDATE files SET trashed = 1")
	testworld.Must(t, err)

	cases := []struct {
		name  string
		args  []string
		code  int
		wants []string
		runs  int
	}{
		{name: "dry run", args: []string{"reconcile", "--dry-run"}, code: 3,
			wants: []string{"would discover 10 new trashed rows", "10 restored rows trashed again", "20 weighed together",
				"20 of 20 LMS rows", "a pass would stop", "`trashed`", "TRASHD_LMS_TRASH_COLUMN"}},
		{name: "dry run, json", args: []string{"reconcile", "--dry-run", "--json"}, code: 3,
			wants: []string{`"would_discover": 10`, `"would_move_again": 10`, "20 of 20 LMS rows"}},
		{name: "pass", args: []string{"reconcile"}, code: 1,
			wants: []string{"20 of 20 LMS rows", "most of the table looks trashed", "nothing was changed", "--allow-mass-change"}, runs: 1},
		{name: "next pass", args: []string{"reconcile"}, code: 1,
			wants: []string{"20 of 20 LMS rows", "nothing was changed"}, runs: 1},
	}
	before := takeFingerprint(t, env)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := trashdQuick(t, 30*time.Second, vars, tc.args...)
			checkOutput(t, r, tc.args, tc.code, tc.wants, nil)
			after := takeFingerprint(t, env)
			want := before.expected(t, env, after, tc.runs)
			if d := want.diff(after); d != "" {
				t.Errorf("trashd %s changed things: %s", strings.Join(tc.args, " "), d)
			}
			before = after
		})
	}
	if got := env.States(t); got[reconcile.StateRestored] != 10 || len(got) != 1 {
		t.Errorf("states %v after the braked passes, want the 10 records still restored and no other", got)
	}
}
