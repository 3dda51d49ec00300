package s3ops_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// probeBucket makes a bucket of its own for one probe test, versioned or
// not, and returns a plain client to seed and check it with.
func probeBucket(t *testing.T, versioned bool) (*s3.Client, string) {
	t.Helper()
	seed := s3test.NewClient(t, s3test.Options(t)).S3()
	bucket := s3test.NewBucket(t, seed, "s3ops-probe")
	if versioned {
		s3test.EnableVersioning(t, seed, bucket)
	}
	return seed, bucket
}

// probeEntries lists every version and delete marker in bucket, as
// "key" (and " version" on a versioned bucket).
func probeEntries(t *testing.T, seed *s3.Client, bucket string) []string {
	t.Helper()
	out, err := seed.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list the versions in %s: %v", bucket, err)
	}
	var got []string
	for _, v := range out.Versions {
		got = append(got, aws.ToString(v.Key)+" "+aws.ToString(v.VersionId))
	}
	for _, m := range out.DeleteMarkers {
		got = append(got, aws.ToString(m.Key)+" "+aws.ToString(m.VersionId)+" (delete marker)")
	}
	return got
}

// assertNothingLeft fails the test unless bucket holds no object, version,
// delete marker or unfinished upload.
func assertNothingLeft(t *testing.T, seed *s3.Client, bucket string) {
	t.Helper()
	if left := probeEntries(t, seed, bucket); len(left) > 0 {
		t.Errorf("the probe left %q behind", left)
	}
	if uploads := s3test.Uploads(t, seed, bucket); len(uploads) > 0 {
		t.Errorf("the probe left the uploads %q behind", uploads)
	}
}

// assertAnswers fails the test unless every condition got its answer in
// want, or Honoured where want says nothing, each with a reason.
func assertAnswers(t *testing.T, caps reconcile.Capabilities, want map[reconcile.Condition]reconcile.Answer) {
	t.Helper()
	for _, cond := range reconcile.Conditions() {
		w, ok := want[cond]
		if !ok {
			w = reconcile.Honoured
		}
		if got := caps.Answers[cond]; got != w {
			t.Errorf("%s: %s (%s), want %s", cond, got, caps.Why[cond], w)
		}
		if caps.Why[cond] == "" {
			t.Errorf("%s: no reason given", cond)
		}
	}
}

// TestProbeConditionsSeaweedFS: SeaweedFS honours every condition, on a
// versioned bucket as on another; the probe says which it is, dates its
// answers by the client's clock, costs 17 requests, touches nothing but
// its own keys, and leaves nothing behind.
func TestProbeConditionsSeaweedFS(t *testing.T) {
	t.Parallel()
	for _, versioned := range []bool{false, true} {
		t.Run(map[bool]string{false: "unversioned", true: "versioned"}[versioned], func(t *testing.T) {
			t.Parallel()
			seed, bucket := probeBucket(t, versioned)
			var o observer
			ft := s3test.NewFaultTransport(nil)
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			opts := s3test.Options(t)
			o.set(&opts)
			opts.HTTPClient, opts.Now = ft.Client(), func() time.Time { return at }
			caps, err := s3test.NewClient(t, opts).ProbeConditions(t.Context(), bucket)
			if err != nil {
				t.Fatalf("ProbeConditions: %v", err)
			}
			assertAnswers(t, caps, nil)
			if caps.Bucket != bucket || caps.Versioned != versioned || !caps.ProbedAt.Equal(at) {
				t.Errorf("bucket %q, versioned %v, probed at %v; want %q, %v, %v", caps.Bucket, caps.Versioned, caps.ProbedAt, bucket, versioned, at)
			}
			list := "ListObjectsV2 ok"
			if versioned {
				list = "ListObjectVersions ok"
			}
			want := []string{
				"PutObject ok", "PutObject ok",
				"CopyObject precondition_failed", "HeadObject ok",
				"CreateMultipartUpload ok", "UploadPartCopy ok", "CompleteMultipartUpload precondition_failed", "HeadObject ok", "AbortMultipartUpload ok",
				"CopyObject precondition_failed", "HeadObject not_found",
				"DeleteObject precondition_failed", "HeadObject ok",
				"DeleteObjects ok", "HeadObject ok",
				list, "DeleteObjects ok",
			}
			if got := o.take(t); !slices.Equal(got, want) {
				t.Errorf("requests:\n%q\nwant the 17 of\n%q", got, want)
			}
			for _, r := range ft.Requests() {
				if _, key, _ := strings.Cut(r, "/"); key != "" && !strings.HasPrefix(key, reconcile.ProbePrefix) {
					t.Errorf("%s: a request outside %s", r, reconcile.ProbePrefix)
				}
			}
			assertNothingLeft(t, seed, bucket)
		})
	}
}

// TestProbeConditionsCannotPut: a probe that cannot put its object probes
// nothing: an error, and Unknown for every condition.
func TestProbeConditionsCannotPut(t *testing.T) {
	t.Parallel()
	seed, bucket := probeBucket(t, false)
	c, _ := faulty(t, s3test.When(s3test.Match("PutObject", ""), s3test.Fault{Status: 403, Code: "AccessDenied", Message: "Access Denied"}))
	caps, err := c.ProbeConditions(t.Context(), bucket)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("ProbeConditions: %v, want the AccessDenied", err)
	}
	all := map[reconcile.Condition]reconcile.Answer{}
	for _, cond := range reconcile.Conditions() {
		all[cond] = reconcile.Unknown
	}
	assertAnswers(t, caps, all)
	assertNothingLeft(t, seed, bucket)
}

// newProber is a client for probing, through rule.
func newProber(t *testing.T, rule s3test.Rule, set ...func(*s3ops.Options)) *s3ops.Client {
	t.Helper()
	o := s3test.Options(t)
	o.HTTPClient = s3test.NewFaultTransport(rule).Client()
	for _, f := range set {
		f(&o)
	}
	return s3test.NewClient(t, o)
}
