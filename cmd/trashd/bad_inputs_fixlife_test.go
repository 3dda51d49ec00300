package main_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/s3ops/s3test"
)

// The lifecycle brake where the trash bucket's lifecycle configuration
// cannot be read (every pass of `trashd reconcile` is a process's first),
// or where trashd's own rule was edited to expire copies: the pass moves
// nothing into the trash bucket, ends in error (exit 1, the run recorded
// error), and says why; a dry run says a pass would stop (exit 3).
// Nothing changes in either bucket; the first pass discovers the trashed
// rows (discovery goes on), and nothing else changes in MySQL.
func TestBadInputsLifecycleBrakeUnreadOrOwnRule(t *testing.T) {
	w := newBadWorld(t)
	env := w.env
	var fault atomic.Pointer[s3test.Fault]
	proxy := s3test.NewProxy(t, s3test.Endpoint())
	held := proxy.Hold(func(r *http.Request) bool {
		return fault.Load() != nil && r.Method == http.MethodGet && r.URL.Query().Has("lifecycle")
	})
	go func() {
		for h := range held {
			f := fault.Load()
			if f == nil {
				h.Release()
				continue
			}
			h.Fail(f.Status, f.Code, f.Message)
		}
	}()
	vars := with(w.vars, "TRASHD_S3_ENDPOINT="+proxy.URL)
	internal := &s3test.Fault{Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error"}
	denied := &s3test.Fault{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
	unread := []string{"lifecycle brake", "could not be read", env.Trash, "no file is moved into the trash bucket", "restores and checks go on"}
	cases := []struct {
		name  string
		fault *s3test.Fault
		own   bool // trashd's own rule on the bucket, edited to expire after 7 days
		vars  []string
		args  []string
		code  int
		wants []string
		runs  int
	}{
		{name: "unreadable (500), mode verify", fault: internal, vars: []string{"TRASHD_LIFECYCLE_MODE=verify"}, args: []string{"reconcile"}, code: 1,
			wants: append([]string{"InternalError", "the next pass reads it again"}, unread...), runs: 1},
		{name: "refused, mode verify", fault: denied, vars: []string{"TRASHD_LIFECYCLE_MODE=verify"}, args: []string{"reconcile"}, code: 1,
			wants: append([]string{"AccessDenied", "s3:GetLifecycleConfiguration", "TRASHD_LIFECYCLE_MODE=off"}, unread...), runs: 1},
		{name: "unreadable (500), mode enforce", fault: internal, vars: []string{"TRASHD_LIFECYCLE_MODE=enforce"}, args: []string{"reconcile"}, code: 1,
			wants: unread, runs: 1},
		{name: "unreadable (500), mode off", fault: internal, args: []string{"reconcile"}, code: 1,
			wants: unread, runs: 1},
		{name: "unreadable (500), dry run", fault: internal, vars: []string{"TRASHD_LIFECYCLE_MODE=verify"}, args: []string{"reconcile", "--dry-run"}, code: 3,
			wants: []string{"a pass would stop", "could not be read", env.Trash}},
		{name: "trashd's own rule edited to expire, mode verify", own: true, vars: []string{"TRASHD_LIFECYCLE_MODE=verify"}, args: []string{"reconcile"}, code: 1,
			wants: []string{`rule "trashd-archive"`, "trashd's own id", "after 7 days (trashd's rule: never)", "trashd lifecycle --apply", "No file is moved"}, runs: 1},
		{name: "trashd's own rule edited to expire, mode off", own: true, args: []string{"reconcile"}, code: 1,
			wants: []string{`rule "trashd-archive"`, "trashd's own id", "trashd lifecycle --apply"}, runs: 1},
	}
	before := takeFingerprint(t, env)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fault.Store(tc.fault)
			t.Cleanup(func() { fault.Store(nil) })
			if tc.own {
				// SeaweedFS keeps no transitions: the rule as edited
				// holds the expiration alone.
				putTrashRule(t, env, "trashd-archive", 7)
				t.Cleanup(func() {
					_, err := env.SDK.DeleteBucketLifecycle(context.Background(), &s3.DeleteBucketLifecycleInput{Bucket: aws.String(env.Trash)})
					testworld.Must(t, err)
				})
			}
			r := trashdQuick(t, 30*time.Second, with(vars, tc.vars...), tc.args...)
			checkOutput(t, r, tc.args, tc.code, tc.wants, nil)
			after := takeFingerprint(t, env)
			want := before.expected(t, env, after, tc.runs)
			if i == 0 {
				// Discovery goes on: the trashed rows get records, none
				// of them moved.
				want.tables["trash_objects"] = after.tables["trash_objects"]
				var moved int
				testworld.Must(t, env.DB.QueryRow("SELECT COUNT(*) FROM trash_objects WHERE state NOT IN ('pending')").Scan(&moved))
				if moved != len(w.moved) {
					t.Errorf("%d records past pending, want only the %d moved before", moved, len(w.moved))
				}
			}
			if d := want.diff(after); d != "" {
				t.Errorf("trashd %s with %q changed things: %s", strings.Join(tc.args, " "), tc.vars, d)
			}
			before = after
		})
	}
}
