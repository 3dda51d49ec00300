package s3test_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"trashd/s3ops/s3test"
)

// TestServersHaveTheirFeatures holds each server to its Features, both
// ways: a feature it claims is there, one it does not claim is missing, so
// that SkipUnless skips exactly where a test cannot run.
func TestServersHaveTheirFeatures(t *testing.T) {
	t.Parallel()
	checks := []struct {
		feature s3test.Feature
		// has finds out, in a bucket of its own, whether the server has
		// the feature: nil if it has; an S3 error answer, or errLacks, if
		// it has not.
		has func(t *testing.T, c *s3.Client, bucket string) error
	}{
		{s3test.FeatureStorageClass, hasStorageClass},
		{s3test.FeatureArchive, hasArchive},
		{s3test.FeatureLifecycleConfig, hasLifecycleConfig},
		{s3test.FeatureVersioning, hasVersioning},
	}
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		c := s3test.NewClientFor(t, srv).S3()
		for _, check := range checks {
			t.Run(string(check.feature), func(t *testing.T) {
				t.Parallel()
				err := check.has(t, c, s3test.NewBucket(t, c, "features"))
				var apiErr smithy.APIError
				if err != nil && !errors.As(err, &apiErr) && !errors.Is(err, errLacks) {
					t.Fatalf("could not tell: %v", err)
				}
				if err != nil {
					t.Logf("%s lacks it: %v", srv.Name, err)
				}
				if has := err == nil; has != srv.Has(check.feature) {
					t.Errorf("%s has %q: %v, but its Features say %v", srv.Name, check.feature, has, srv.Has(check.feature))
				}
			})
		}
		// Found out only by waiting for a lifecycle run; no server here
		// has one.
		if srv.Has(s3test.FeatureTransitions) {
			t.Errorf("%s claims %q, which none of the test servers has", srv.Name, s3test.FeatureTransitions)
		}
	})
}

// errLacks: the server answered, but not as a server with the feature does.
var errLacks = errors.New("lacks the feature")

// hasStorageClass: GLACIER asked for on a PUT and on a copy is what HEAD
// reports of each.
func hasStorageClass(t *testing.T, c *s3.Client, bucket string) error {
	s3test.PutObject(t, c, bucket, "standard.txt", []byte("x"))
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: &bucket, Key: aws.String("put.txt"), Body: strings.NewReader("x"), StorageClass: types.StorageClassGlacier,
	}); err != nil {
		return err
	}
	if _, err := c.CopyObject(t.Context(), &s3.CopyObjectInput{
		Bucket: &bucket, Key: aws.String("copied.txt"), CopySource: aws.String(bucket + "/standard.txt"), StorageClass: types.StorageClassGlacier,
	}); err != nil {
		return err
	}
	for _, key := range []string{"put.txt", "copied.txt"} {
		out, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(key)})
		if err != nil {
			return err
		}
		if out.StorageClass != types.StorageClassGlacier {
			return fmt.Errorf("%w: HEAD of %s reports the class %q", errLacks, key, out.StorageClass)
		}
	}
	return nil
}

// hasArchive: a GLACIER object's GET is refused with InvalidObjectState,
// and a restore makes HEAD report x-amz-restore.
func hasArchive(t *testing.T, c *s3.Client, bucket string) error {
	if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: &bucket, Key: aws.String("cold.txt"), Body: strings.NewReader("x"), StorageClass: types.StorageClassGlacier,
	}); err != nil {
		return err
	}
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("cold.txt")})
	if err == nil {
		out.Body.Close()
		return fmt.Errorf("%w: GET of a GLACIER object is served", errLacks)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidObjectState" {
		return err
	}
	if _, err := c.RestoreObject(t.Context(), &s3.RestoreObjectInput{
		Bucket: &bucket, Key: aws.String("cold.txt"), RestoreRequest: &types.RestoreRequest{Days: aws.Int32(1)},
	}); err != nil {
		return err
	}
	head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("cold.txt")})
	if err != nil {
		return err
	}
	if aws.ToString(head.Restore) == "" {
		return fmt.Errorf("%w: no x-amz-restore after RestoreObject", errLacks)
	}
	return nil
}

// hasLifecycleConfig: a rule with a transition, as trashd's has, is read
// back.
func hasLifecycleConfig(t *testing.T, c *s3.Client, bucket string) error {
	if _, err := c.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket: &bucket,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID:          aws.String("features-check"),
			Status:      types.ExpirationStatusEnabled,
			Filter:      &types.LifecycleRuleFilter{Prefix: aws.String("old/")},
			Transitions: []types.Transition{{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassGlacier}},
		}}},
	}); err != nil {
		return err
	}
	out, err := c.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: &bucket})
	if err != nil {
		return err
	}
	if len(out.Rules) != 1 || aws.ToString(out.Rules[0].ID) != "features-check" || len(out.Rules[0].Transitions) != 1 {
		return fmt.Errorf("%w: read back %d rules, not the one with its transition", errLacks, len(out.Rules))
	}
	return nil
}

// hasVersioning: once versioning is enabled, an overwrite keeps the older
// version.
func hasVersioning(t *testing.T, c *s3.Client, bucket string) error {
	if _, err := c.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{
		Bucket:                  &bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		return err
	}
	s3test.PutObject(t, c, bucket, "v.txt", []byte("1"))
	s3test.PutObject(t, c, bucket, "v.txt", []byte("2"))
	out, err := c.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: &bucket, Prefix: aws.String("v.txt")})
	if err != nil {
		return err
	}
	if len(out.Versions) != 2 {
		return fmt.Errorf("%w: %d versions after two PUTs", errLacks, len(out.Versions))
	}
	return nil
}
