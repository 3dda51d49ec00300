package reconcile_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// versionsRefused is a world whose listings of object versions are refused
// (a role that was not granted s3:ListBucketVersions).
func versionsRefused(t *testing.T) *testworld.Env {
	t.Helper()
	return testworld.New(t, func(o *s3ops.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
			if r.Method == http.MethodGet && r.URL.Query().Has("versions") {
				return accessDenied
			}
			return s3test.Fault{}
		}).Client()
	})
}

// hideCopy moves env's only trash file in (by a pass of r), then deletes its
// copy, which a versioned bucket keeps beneath a delete marker, and ages
// the record past a 7-day expiring rule's reach. It returns the record's
// trash key, and the version beneath the marker ("" on an unversioned
// bucket).
func hideCopy(t *testing.T, env *testworld.Env, r *reconcile.Runner, id int64) (trashKey, version string) {
	t.Helper()
	run(t, r)
	_, trashKey, _ = recordOf(t, env, id)
	putExpiringRule(t, env, "expire-after-a-week", 7)
	_, err := env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(trashKey)})
	testworld.Must(t, err)
	vs, err := env.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(env.Trash), Prefix: aws.String(trashKey)})
	testworld.Must(t, err)
	for _, v := range vs.Versions {
		if aws.ToString(v.VersionId) != "null" {
			version = aws.ToString(v.VersionId)
		}
	}
	_, err = env.DB.Exec("UPDATE trash_objects SET copied_at = copied_at - INTERVAL 8 DAY")
	testworld.Must(t, err)
	env.Forget(id)
	return trashKey, version
}

// A versioned trash bucket: another rule's expiration (here a delete) puts a
// delete marker over the copy, which is still there beneath it. A host
// whose role was not granted s3:ListBucketVersions is refused the listing:
// whether the copy is there is not known, so the record stays in_trash (not
// removed, "the file cannot be restored"), and the log names the
// permission.
func TestHiddenCopyStaysRecordedWhenVersionListingRefused(t *testing.T) {
	t.Parallel()
	env := versionsRefused(t)
	_, err := env.SDK.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String(env.Trash),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	testworld.Must(t, err)
	id := env.AddFile(t, "doc/hidden", []byte("trashed file"), true, 0)
	trashKey, version := hideCopy(t, env, env.Runner(t, env.Config("owner-a")), id)
	if version == "" {
		t.Skip("the server kept no version beneath the delete marker")
	}
	var logs bytes.Buffer
	r, err := reconcile.NewRunner(env.Store, env.S3, env.Config("owner-a"), slog.New(slog.NewTextHandler(&logs, nil)))
	testworld.Must(t, err)
	sum, _ := r.Run(passCtx(t), reconcile.TriggerManual) // the lifecycle brake
	if st, _, _ := recordOf(t, env, id); st != reconcile.StateInTrash {
		t.Errorf("record %s while version %s of %s still holds the copy; the version listing was refused, not empty: want in_trash", st, version, trashKey)
	}
	if sum.Counts.Missing != 0 {
		t.Errorf("pass %+v counts a copy missing", sum.Counts)
	}
	for _, want := range []string{"s3:ListBucketVersions", "the record is left as it is", trashKey} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, logs.String())
		}
	}

	// The audit leaves it too, and reports why.
	found := map[int64]auditFinding{}
	asum, err := reconcile.Audit(t.Context(), env.Store, env.S3, env.Trash, 4, func(rec reconcile.Record, result reconcile.AuditResult, detail string) {
		found[rec.LMSID] = auditFinding{result, detail}
	}, reconcile.RecordGone(env.Store, 0))
	testworld.Must(t, err)
	if asum.Problems != 1 || found[id].result != reconcile.AuditProblem {
		t.Errorf("audit %+v, findings %v: want the copy reported", asum, found)
	}
	for _, want := range []string{"s3:ListBucketVersions", "left in_trash", trashKey} {
		if !strings.Contains(found[id].detail, want) {
			t.Errorf("finding %q does not say %q", found[id].detail, want)
		}
	}
	if st, _, _ := recordOf(t, env, id); st != reconcile.StateInTrash {
		t.Errorf("record %s after the audit, want in_trash", st)
	}
}

// On a trash bucket the runner's probe found unversioned, a refused
// listing hides nothing: nothing can lie beneath, and the gone copy is
// recorded removed.
func TestGoneCopyRecordedRemovedOnAnUnversionedBucketWithoutListing(t *testing.T) {
	t.Parallel()
	env := versionsRefused(t)
	id := env.AddFile(t, "doc/gone", []byte("trashed file"), true, 0)
	r := env.Runner(t, env.Config("owner-a")) // its probe of the trash bucket is kept
	hideCopy(t, env, r, id)
	sum, _ := r.Run(passCtx(t), reconcile.TriggerManual) // the lifecycle brake
	if st, _, _ := recordOf(t, env, id); st != reconcile.StateRemoved || sum.Counts.Missing != 1 {
		t.Errorf("record %s, pass %+v: want removed and counted missing", st, sum.Counts)
	}
}
