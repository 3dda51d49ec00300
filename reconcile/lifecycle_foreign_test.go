package reconcile_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// putExpiringRule puts a lifecycle configuration on env's trash bucket
// with one rule that is not trashd's: it expires every object after days.
func putExpiringRule(t *testing.T, env *testworld.Env, id string, days int32) {
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

func deleteLifecycle(t *testing.T, env *testworld.Env) {
	t.Helper()
	_, err := env.SDK.DeleteBucketLifecycle(t.Context(), &s3.DeleteBucketLifecycleInput{Bucket: aws.String(env.Trash)})
	testworld.Must(t, err)
}

// A rule on the trash bucket that expires trash copies, where trashd's
// never does, stops the moves in every lifecycle mode: nothing is copied or
// deleted, and the message names the rule, what it does and the ways out.
// Once the rule is gone, the files move.
func TestForeignExpiringRuleStopsMoves(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{reconcile.LifecycleVerify, reconcile.LifecycleEnforce, reconcile.LifecycleOff} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			env := testworld.New(t)
			for i := range 3 {
				env.AddFile(t, fmt.Sprintf("doc/%d", i), []byte("trashed file"), true, 0)
			}
			putExpiringRule(t, env, "expire-after-a-week", 7)
			cfg := env.Config("owner-a")
			cfg.Archive.LifecycleMode = mode
			_, err := env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
			if !errors.Is(err, reconcile.ErrLifecycleConflict) {
				t.Fatalf("Run = %v, want the moves stopped by the expiring rule", err)
			}
			for _, want := range []string{`"expire-after-a-week"`, "after 7 days", "trashd's rule: never", "remove the rule",
				"TRASHD_EXPIRATION_DAYS=7", "No file is moved"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if keys := trashObjects(t, env); len(keys) != 0 {
				t.Errorf("trash bucket %v, want nothing moved", keys)
			}
			if keys := sourceKeys(t, env); len(keys) != 3 {
				t.Errorf("source bucket %v, want all 3 files still there", keys)
			}
			if got := env.States(t); got[reconcile.StatePending] != 3 || len(got) != 1 {
				t.Errorf("states %v, want the 3 rows recorded pending and nothing more", got)
			}
			env.CheckInvariant(t)

			if mode == reconcile.LifecycleEnforce {
				// enforce did not write a set with the rule in it.
				out, err := env.SDK.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(env.Trash)})
				testworld.Must(t, err)
				if len(out.Rules) != 1 {
					t.Errorf("enforce wrote the lifecycle configuration: %d rules", len(out.Rules))
				}
			}
			deleteLifecycle(t, env)
			cfg.Archive.LifecycleMode = mode
			if mode == reconcile.LifecycleEnforce {
				cfg.Archive.LifecycleMode = reconcile.LifecycleVerify // SeaweedFS takes no transition rule
			}
			if sum := run(t, env.Runner(t, cfg)); sum.Counts.Moved != 3 {
				t.Errorf("pass after the rule went: %+v, want 3 moved", sum.Counts)
			}
			env.CheckInvariant(t)
		})
	}
}

// A rule that expires copies no earlier than trashd's own does not stop
// anything.
func TestForeignRuleNoEarlierThanTrashdsPasses(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	env.AddFile(t, "doc/late", []byte("trashed file"), true, 0)
	putExpiringRule(t, env, "expire-after-a-year", 365)
	cfg := env.Config("owner-a")
	cfg.Archive.Rule.TransitionDays, cfg.Archive.Rule.ExpirationDays = 30, 365
	if sum := run(t, env.Runner(t, cfg)); sum.Counts.Moved != 1 {
		t.Errorf("pass %+v, want the file moved", sum.Counts)
	}
}

// A trash copy that is gone while its record says in_trash (the foreign
// rule expired it: simulated by deleting it and ageing the record past the
// rule's days) is recorded removed, with the rule named, and counted; a
// restore of it fails and says the file is gone.
func TestRemovedTrashCopyGetsAStateOfItsOwn(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	id := env.AddFile(t, "doc/gone", []byte("trashed file"), true, 0)
	kept := env.AddFile(t, "doc/kept", []byte("another trashed file"), true, 0)
	run(t, env.Runner(t, env.Config("owner-a")))
	_, trashKey, _ := recordOf(t, env, id)

	putExpiringRule(t, env, "expire-after-a-week", 7)
	_, err := env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(trashKey)})
	testworld.Must(t, err)
	_, err = env.DB.Exec("UPDATE trash_objects SET copied_at = copied_at - INTERVAL 8 DAY")
	testworld.Must(t, err)
	env.Forget(id) // the file is lost: the invariant no longer holds for it

	sum, err := env.Runner(t, env.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrLifecycleConflict) {
		t.Fatalf("Run = %v, want the moves stopped by the expiring rule", err)
	}
	if sum.Counts.Missing != 1 {
		t.Errorf("pass %+v, want the removed copy counted", sum.Counts)
	}
	st, _, _ := recordOf(t, env, id)
	if st != reconcile.StateRemoved {
		t.Fatalf("record of the gone copy is %s, want %s", st, reconcile.StateRemoved)
	}
	var reason string
	testworld.Must(t, env.DB.QueryRow("SELECT last_error FROM trash_objects WHERE lms_id = ?", id).Scan(&reason))
	for _, want := range []string{trashKey, `"expire-after-a-week"`, "cannot be restored"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q does not say %q", reason, want)
		}
	}
	if st, _, _ := recordOf(t, env, kept); st != reconcile.StateInTrash {
		t.Errorf("record whose copy is there is %s, want in_trash", st)
	}

	// The LMS clears its flag: nothing can bring it back, and a restore
	// asked for by hand says so.
	env.Untrash(t, id)
	deleteLifecycle(t, env)
	run(t, env.Runner(t, env.Config("owner-a")))
	if st, _, _ := recordOf(t, env, id); st != reconcile.StateRemoved {
		t.Errorf("after the flag was cleared the record is %s, want still removed", st)
	}
	_, err = env.Store.RequestRestore(t.Context(), id)
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), "removed") || !strings.Contains(err.Error(), "cannot be restored") {
		t.Errorf("RequestRestore of a removed record = %v, want a refusal saying the file is gone", err)
	}
	env.CheckInvariant(t)
}

// The audit finds a trash copy gone while its record says in_trash: it
// reports the problem and records the record removed (a copy old enough for
// trashd's own expiration, expired), so that it no longer says the file is
// in the trash; the next audit skips it. A copy that is there is left alone.
func TestAuditRecordsAGoneTrashCopy(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	gone := env.AddFile(t, "doc/gone", []byte("trashed file"), true, 0)
	old := env.AddFile(t, "doc/old", []byte("old trashed file"), true, 0)
	kept := env.AddFile(t, "doc/kept", []byte("another trashed file"), true, 0)
	run(t, env.Runner(t, env.Config("owner-a")))
	for _, id := range []int64{gone, old} {
		_, trashKey, _ := recordOf(t, env, id)
		_, err := env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(trashKey)})
		testworld.Must(t, err)
		env.Forget(id)
	}
	// old's copy was made long enough ago for trashd's own expiration.
	_, err := env.DB.Exec("UPDATE trash_objects SET copied_at = copied_at - INTERVAL 400 DAY WHERE lms_id = ?", old)
	testworld.Must(t, err)

	auditOnce := func() (reconcile.AuditSummary, map[int64]auditFinding) {
		found := map[int64]auditFinding{}
		sum, err := reconcile.Audit(t.Context(), env.Store, env.S3, env.Trash, 4, func(rec reconcile.Record, result reconcile.AuditResult, detail string) {
			found[rec.LMSID] = auditFinding{result, detail}
		}, reconcile.RecordGone(env.Store, 365*24*time.Hour))
		testworld.Must(t, err)
		return sum, found
	}
	sum, found := auditOnce()
	if sum.Problems != 1 || found[gone].result != reconcile.AuditProblem {
		t.Fatalf("audit %+v, findings %v: want the gone copy a problem", sum, found)
	}
	for _, want := range []string{"is gone", "recorded removed", "cannot be restored"} {
		if !strings.Contains(found[gone].detail, want) {
			t.Errorf("finding %q does not say %q", found[gone].detail, want)
		}
	}
	if _, ok := found[old]; ok {
		t.Errorf("the copy trashd's rule expired was reported: %v", found[old])
	}
	for id, want := range map[int64]reconcile.State{gone: reconcile.StateRemoved, old: reconcile.StateExpired, kept: reconcile.StateInTrash} {
		if st, _, _ := recordOf(t, env, id); st != want {
			t.Errorf("LMS row %d is %s after the audit, want %s", id, st, want)
		}
	}
	if sum, found := auditOnce(); sum.Problems != 0 || sum.Skipped != 2 || len(found) != 0 {
		t.Errorf("second audit %+v, %v: want both lost records skipped", sum, found)
	}
	env.CheckInvariant(t)
}

// With the lifecycle mode off, an operator may not have granted
// s3:GetLifecycleConfiguration: the pass says once that it cannot look for
// rules that delete trash, and the moves go on.
func TestLifecycleOffWithoutReadPermissionWarnsOnce(t *testing.T) {
	t.Parallel()
	var denied atomic.Int32
	env := testworld.New(t, func(o *s3ops.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
			if r.Method == http.MethodGet && r.URL.Query().Has("lifecycle") {
				denied.Add(1)
				return s3test.Fault{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
			}
			return s3test.Fault{}
		}).Client()
	})
	var logs bytes.Buffer
	cfg := env.Config("owner-a")
	cfg.Archive.LifecycleMode = reconcile.LifecycleOff
	r, err := reconcile.NewRunner(env.Store, env.S3, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	testworld.Must(t, err)
	for i := range 2 {
		env.AddFile(t, fmt.Sprintf("doc/%d", i), []byte("trashed file"), true, 0)
		if sum := run(t, r); sum.Counts.Moved != 1 {
			t.Errorf("pass %d: %+v, want the file moved", i+1, sum.Counts)
		}
	}
	if n := denied.Load(); n != 2 {
		t.Errorf("the configuration was asked for %d times, want once per pass", n)
	}
	if n := strings.Count(logs.String(), "cannot be read"); n != 1 {
		t.Errorf("the warning was logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "s3:GetLifecycleConfiguration") {
		t.Errorf("the warning does not name the permission:\n%s", logs.String())
	}
	env.CheckInvariant(t)
}
