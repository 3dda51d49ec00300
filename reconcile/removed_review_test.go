package reconcile_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// A versioned trash bucket: another rule's expiration (here a delete) puts a
// delete marker over the copy, which is still there beneath it. trashd's
// IAM policy gained s3:ListBucketVersions with this change; a host whose
// role was not updated is refused the listing. The record is then made
// removed, terminal, "the file cannot be restored", and restores are
// refused, while the copy is there to bring back.
func TestReviewHiddenCopyRecordedRemovedWhenListingRefused(t *testing.T) {
	t.Parallel()
	env := testworld.New(t, func(o *s3ops.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
			if r.Method == http.MethodGet && r.URL.Query().Has("versions") {
				return s3test.Fault{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
			}
			return s3test.Fault{}
		}).Client()
	})
	_, err := env.SDK.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String(env.Trash),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	testworld.Must(t, err)
	id := env.AddFile(t, "doc/hidden", []byte("trashed file"), true, 0)
	run(t, env.Runner(t, env.Config("owner-a")))
	_, trashKey, _ := recordOf(t, env, id)

	putExpiringRule(t, env, "expire-after-a-week", 7)
	_, err = env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(env.Trash), Key: aws.String(trashKey)})
	testworld.Must(t, err)
	vs, err := env.SDK.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(env.Trash), Prefix: aws.String(trashKey)})
	testworld.Must(t, err)
	if len(vs.Versions) == 0 {
		t.Skip("the server kept no version beneath the delete marker")
	}
	_, err = env.DB.Exec("UPDATE trash_objects SET copied_at = copied_at - INTERVAL 8 DAY")
	testworld.Must(t, err)
	env.Forget(id)
	env.Runner(t, env.Config("owner-a")).Run(passCtx(t), reconcile.TriggerManual) //nolint:errcheck // the lifecycle brake
	if st, _, _ := recordOf(t, env, id); st == reconcile.StateRemoved {
		t.Errorf("record %s (\"the file cannot be restored\") while version %s of %s still holds the copy; the version listing was refused, not empty",
			st, aws.ToString(vs.Versions[0].VersionId), trashKey)
	}
}
