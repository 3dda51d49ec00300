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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// lifecycleFaults is a world whose reads of the trash bucket's lifecycle
// configuration get fault while failing is set.
func lifecycleFaults(t *testing.T, fault s3test.Fault, failing *atomic.Bool) *testworld.Env {
	t.Helper()
	return testworld.New(t, func(o *s3ops.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
			if failing.Load() && r.Method == http.MethodGet && r.URL.Query().Has("lifecycle") {
				return fault
			}
			return s3test.Fault{}
		}).Client()
	})
}

var (
	internalError = s3test.Fault{Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error"}
	accessDenied  = s3test.Fault{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
)

// A rule on the trash bucket expires every copy after 7 days. The first
// pass of a process (every pass of `trashd reconcile` from a timer) cannot
// read the lifecycle configuration: with no earlier read to go by, it moves
// nothing into the bucket, like the lifecycle brake, and says why, naming
// the bucket and the error; the run is recorded as an error. In off mode
// the same holds for a read that failed (a 500), not for one refused.
func TestLifecycleUnreadOnFirstPassHoldsMoves(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode  string
		fault s3test.Fault
	}{
		{reconcile.LifecycleVerify, internalError},
		{reconcile.LifecycleVerify, accessDenied},
		{reconcile.LifecycleEnforce, internalError},
		{reconcile.LifecycleOff, internalError},
	} {
		t.Run(tt.mode+"/"+tt.fault.Code, func(t *testing.T) {
			t.Parallel()
			var failing atomic.Bool
			failing.Store(true)
			env := lifecycleFaults(t, tt.fault, &failing)
			putExpiringRule(t, env, "expire-after-a-week", 7)
			for i := range 3 {
				env.AddFile(t, fmt.Sprintf("doc/%d", i), []byte("trashed file"), true, 0)
			}
			cfg := env.Config("owner-a")
			cfg.Archive.LifecycleMode = tt.mode
			sum, err := env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
			if keys := trashObjects(t, env); len(keys) != 0 {
				t.Errorf("configuration unreadable (%s), rule expiring copies after 7 days: %d files moved into the trash bucket (Run err %v, counts %+v)",
					tt.fault.Code, len(keys), err, sum.Counts)
			}
			if !errors.Is(err, reconcile.ErrLifecycleConflict) || !errors.Is(err, reconcile.ErrLifecycleUnread) {
				t.Fatalf("Run = %v, want the lifecycle brake for an unread configuration", err)
			}
			for _, want := range []string{env.Trash, "could not be read", tt.fault.Code, "no file is moved", "restores and checks go on"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Run error does not say %q: %v", want, err)
				}
			}
			if tt.fault.Code == "AccessDenied" && !strings.Contains(err.Error(), "s3:GetLifecycleConfiguration") {
				t.Errorf("Run error does not name the permission: %v", err)
			}
			if sum.Status != reconcile.RunError || sum.Counts.Moved != 0 || sum.Counts.Discovered != 3 {
				t.Errorf("pass %s %+v, want an error, the 3 files discovered and none moved", sum.Status, sum.Counts)
			}
			var status string
			testworld.Must(t, env.DB.QueryRow("SELECT status FROM trash_runs ORDER BY id DESC LIMIT 1").Scan(&status))
			if status != string(reconcile.RunError) {
				t.Errorf("run recorded %q, want %q", status, reconcile.RunError)
			}

			// Once it can be read, the rule it finds stops the moves.
			failing.Store(false)
			_, err = env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
			if !errors.Is(err, reconcile.ErrLifecycleConflict) || errors.Is(err, reconcile.ErrLifecycleUnread) || !strings.Contains(err.Error(), "expire-after-a-week") {
				t.Errorf("readable again: Run = %v, want the expiring rule named", err)
			}
			if keys := trashObjects(t, env); len(keys) != 0 {
				t.Errorf("%d files moved into a bucket that expires them", len(keys))
			}
		})
	}
}

// A read that fails after an earlier read by the same process found no
// rule that deletes trash copies lets the moves through, and the log says
// so.
func TestLifecycleUnreadAfterACleanReadLetsMovesThrough(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	env := lifecycleFaults(t, internalError, &failing)
	var logs bytes.Buffer
	r, err := reconcile.NewRunner(env.Store, env.S3, env.Config("owner-a"), slog.New(slog.NewTextHandler(&logs, nil)))
	testworld.Must(t, err)
	env.AddFile(t, "doc/first", []byte("trashed file"), true, 0)
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Fatalf("pass 1 %+v, want the file moved", sum.Counts)
	}
	failing.Store(true)
	env.AddFile(t, "doc/second", []byte("another trashed file"), true, 0)
	if sum := run(t, r); sum.Counts.Moved != 1 {
		t.Errorf("pass 2, configuration unreadable after a clean read: %+v, want the file moved", sum.Counts)
	}
	if !strings.Contains(logs.String(), "an earlier read found no rule that deletes trash copies") || !strings.Contains(logs.String(), "InternalError") {
		t.Errorf("the failed read is not logged as such:\n%s", logs.String())
	}
	env.CheckInvariant(t)
}

// trashd's own rule, edited to expire copies after 7 days while trashd's
// never does: a verifying pass stops the moves and says how to put the rule
// back; an enforcing pass puts it back, and the files move. (The Glacier
// emulation keeps transition rules, which SeaweedFS refuses.)
func TestLifecycleTrashdsOwnRuleEditedToExpire(t *testing.T) {
	t.Parallel()
	env, srv := glacierEnv(t)
	opts := s3test.Options(t)
	sdk := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), Region: opts.Region, Credentials: opts.Credentials, UsePathStyle: true})
	cfg := archiveConfig(env, reconcile.ArchiveConfig{Rule: reconcile.LifecycleRule{TransitionDays: 1}})
	edited := s3ops.DesiredRule(cfg.Archive.Rule)
	edited.Expiration = &types.LifecycleExpiration{Days: aws.Int32(7)}
	_, err := sdk.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket: aws.String(env.Trash), LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{edited}},
	})
	testworld.Must(t, err)
	env.AddFile(t, "doc/kept", []byte("trashed file"), true, 0)

	cfg.Archive.LifecycleMode = reconcile.LifecycleVerify
	_, err = env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
	if !errors.Is(err, reconcile.ErrLifecycleConflict) {
		t.Fatalf("verify: Run = %v, want the moves stopped by trashd's own rule expiring copies", err)
	}
	for _, want := range []string{`"trashd-archive"`, "trashd's own id", "after 7 days (trashd's rule: never)", "trashd lifecycle --apply"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("verify: Run error does not say %q: %v", want, err)
		}
	}
	if keys := trashObjects(t, env); len(keys) != 0 {
		t.Errorf("verify: %d files moved into a bucket that expires them", len(keys))
	}

	cfg.Archive.LifecycleMode = reconcile.LifecycleEnforce
	if sum := run(t, env.Runner(t, cfg)); sum.Counts.Moved != 1 {
		t.Errorf("enforce: pass %+v, want trashd's rule put back and the file moved", sum.Counts)
	}
	out, err := sdk.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(env.Trash)})
	testworld.Must(t, err)
	if len(out.Rules) != 1 || out.Rules[0].Expiration != nil {
		t.Errorf("enforce: the bucket holds %d rules, the first %s; want trashd's without an expiration", len(out.Rules), s3ops.DescribeRule(out.Rules[0]))
	}
	env.CheckInvariant(t)
}
