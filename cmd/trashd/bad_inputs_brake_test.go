package main_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/internal/testworld"
)

// brakeWorld is a small LMS, as a school's might be: 40 live files, 3
// trashed files already moved, one more record whose trash copy a rule that
// is not trashd's removed (recorded removed), and columns that a wrong
// setting could take for the trash flag: visible (1 on every row) and
// published_at (set on every row).
type brakeWorld struct {
	env     *testworld.Env
	vars    []string
	moved   []int64
	removed int64
}

func newBrakeWorld(t *testing.T) *brakeWorld {
	t.Helper()
	env := testworld.New(t)
	w := &brakeWorld{env: env}
	w.vars = with(env.Vars(), "TRASHD_LOG_FORMAT=text", "TRASHD_LIFECYCLE_MODE=off")
	for i := range 40 {
		env.AddFile(t, fmt.Sprintf("live/%02d.txt", i), []byte("live "+strconv.Itoa(i)), false, 0)
	}
	for i := range 4 {
		w.moved = append(w.moved, env.AddFile(t, fmt.Sprintf("moved/%d.txt", i), []byte("moved "+strconv.Itoa(i)), true, 0))
	}
	if r := trashd(t, w.vars, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	if r := trashd(t, w.vars, "reconcile"); r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The last one's copy is gone, and an audit recorded it removed.
	w.removed, w.moved = w.moved[3], w.moved[:3]
	var key string
	testworld.Must(t, env.DB.QueryRow("SELECT trash_key FROM trash_objects WHERE lms_id = ?", w.removed).Scan(&key))
	_, err := env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(key)})
	testworld.Must(t, err)
	env.Forget(w.removed)
	if r := trashd(t, w.vars, "audit"); r.code != 3 || !strings.Contains(r.stdout, "recorded removed") {
		t.Fatalf("audit of a gone copy: exit %d, want 3 and the record removed\n%s%s", r.code, r.stdout, r.stderr)
	}
	_, err = env.DB.Exec("ALTER TABLE files ADD COLUMN visible TINYINT NOT NULL DEFAULT 1, ADD COLUMN published_at DATETIME NULL DEFAULT CURRENT_TIMESTAMP")
	testworld.Must(t, err)
	return w
}

func putTrashRule(t *testing.T, env *testworld.Env, id string, days int32) {
	t.Helper()
	_, err := env.SDK.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket: aws.String(env.Trash),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String(id), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(days)},
		}}},
	})
	testworld.Must(t, err)
}

// A plausible mistake is refused before it changes anything: a trash column
// under which every row of a small LMS looks trashed, a trash bucket whose
// own lifecycle rule would delete the trash, a restore of a file that is
// gone. Each case: the exit code, the message naming the thing and what to
// do, and nothing changed in MySQL or either bucket but the run recorded
// in error.
func TestBadInputsBrake(t *testing.T) {
	w := newBrakeWorld(t)
	env := w.env
	removedID := strconv.FormatInt(w.removed, 10)
	visible := []string{"TRASHD_LMS_TRASH_COLUMN=visible"}
	published := []string{"TRASHD_LMS_TRASH_COLUMN=published_at", "TRASHD_LMS_TRASH_KIND=timestamp"}
	cases := []struct {
		name  string
		rule  string // a lifecycle rule put on the trash bucket for the case, expiring after 7 days
		vars  []string
		args  []string
		code  int
		wants []string
		runs  int
	}{
		{name: "trash column 1 on every row", vars: visible, args: []string{"reconcile"}, code: 1,
			wants: []string{"40 of 44 LMS rows", "`visible`", "kind flag", "TRASHD_LMS_TRASH_COLUMN", "TRASHD_LMS_TRASH_KIND", "nothing was changed", "--allow-mass-change"}, runs: 1},
		{name: "trash column 1 on every row, dry run", vars: visible, args: []string{"reconcile", "--dry-run"}, code: 3,
			wants: []string{"would discover 40", "a pass would stop", "`visible`", "TRASHD_LMS_TRASH_COLUMN"}},
		{name: "timestamp column set on every row", vars: published, args: []string{"reconcile"}, code: 1,
			wants: []string{"`published_at`", "kind timestamp", "non-NULL means trashed", "TRASHD_LMS_TRASH_KIND"}, runs: 1},
		{name: "trash column, brake overridden by count", vars: append([]string{"TRASHD_MASS_CHANGE_COUNT=1000"}, visible...), args: []string{"reconcile"}, code: 1,
			wants: []string{"`visible`", "most of the table looks trashed"}, runs: 1},
		{name: "foreign expiring rule, mode off", rule: "expire-weekly", args: []string{"reconcile"}, code: 1,
			wants: []string{`rule "expire-weekly"`, "after 7 days", "trashd's rule: never", "remove the rule", "TRASHD_EXPIRATION_DAYS=7", "No file is moved"}, runs: 1},
		{name: "foreign expiring rule, mode verify", rule: "expire-weekly", vars: []string{"TRASHD_LIFECYCLE_MODE=verify"}, args: []string{"reconcile"}, code: 1,
			wants: []string{`rule "expire-weekly"`, "after 7 days", "No file is moved"}, runs: 1},
		{name: "foreign expiring rule, mode enforce", rule: "expire-weekly", vars: []string{"TRASHD_LIFECYCLE_MODE=enforce"}, args: []string{"reconcile"}, code: 1,
			wants: []string{`rule "expire-weekly"`, "after 7 days", "No file is moved"}, runs: 1},
		{name: "foreign expiring rule, dry run", rule: "expire-weekly", args: []string{"reconcile", "--dry-run"}, code: 3,
			wants: []string{`rule "expire-weekly"`, "a pass would stop"}},
		{name: "foreign rule expiring before trashd's", rule: "expire-weekly", vars: []string{"TRASHD_TRANSITION_DAYS=1", "TRASHD_EXPIRATION_DAYS=30"},
			args: []string{"reconcile"}, code: 1, wants: []string{`rule "expire-weekly"`, "trashd's rule: after 30 days"}, runs: 1},
		{name: "restore of a removed file", args: []string{"restore", removedID}, code: 1,
			wants: []string{"LMS row " + removedID + " cannot be restored", "removed", "cannot be restored"}},
	}
	before := takeFingerprint(t, env)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.rule != "" {
				putTrashRule(t, env, tc.rule, 7)
				t.Cleanup(func() {
					_, err := env.SDK.DeleteBucketLifecycle(context.Background(), &s3.DeleteBucketLifecycleInput{Bucket: aws.String(env.Trash)})
					testworld.Must(t, err)
				})
			}
			r := trashdQuick(t, 30*time.Second, with(w.vars, tc.vars...), tc.args...)
			checkOutput(t, r, tc.args, tc.code, tc.wants, nil)
			after := takeFingerprint(t, env)
			want := before.expected(t, env, after, tc.runs)
			if d := want.diff(after); d != "" {
				t.Errorf("trashd %s with %q changed things: %s", strings.Join(tc.args, " "), tc.vars, d)
			}
			before = after
		})
	}
	env.CheckInvariant(t)
}
