package s3test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The room check asks the dev server's real master: a minimum above what it
// has fails, saying what to do; one it has passes.
func TestCheckFreeVolumes(t *testing.T) {
	master, _ := masterURL()
	if master == "" {
		t.Fatal("no SeaweedFS master to ask: set TRASHD_TEST_WEED_MASTER (dev-up writes it to .dev/env)")
	}
	free, max, err := FreeVolumes(t.Context(), master)
	if err != nil || max <= 0 || free < 0 || free > max {
		t.Fatalf("FreeVolumes: %d of %d, %v; want a count of the master's volumes", free, max, err)
	}
	if err := CheckFreeVolumes(t.Context(), master, 0); err != nil {
		t.Errorf("a minimum of 0: %v", err)
	}
	err = CheckFreeVolumes(t.Context(), master, max+1)
	if err == nil {
		t.Fatalf("a minimum of %d with %d of %d free: no error", max+1, free, max)
	}
	for _, want := range []string{"SeaweedFS has ", " writable volumes left", "make dev-down && make dev-up", "delete old test buckets"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The S3 port is not the master: said, not read as a count.
	if _, _, err := FreeVolumes(t.Context(), Endpoint()); err == nil || !strings.Contains(err.Error(), "not a SeaweedFS master's status") {
		t.Errorf("FreeVolumes of the S3 endpoint: %v; want it refused as no master", err)
	}
}

func TestMinFreeVolumesSetting(t *testing.T) {
	t.Setenv("TRASHD_TEST_WEED_MIN_FREE_VOLUMES", "")
	if n, err := minFreeVolumes(); n != DefaultMinFreeVolumes || err != nil {
		t.Errorf("unset: %d, %v; want the default %d", n, err, DefaultMinFreeVolumes)
	}
	t.Setenv("TRASHD_TEST_WEED_MIN_FREE_VOLUMES", "3")
	if n, err := minFreeVolumes(); n != 3 || err != nil {
		t.Errorf("3: %d, %v", n, err)
	}
	t.Setenv("TRASHD_TEST_WEED_MIN_FREE_VOLUMES", "some")
	if _, err := minFreeVolumes(); err == nil || !strings.Contains(err.Error(), "TRASHD_TEST_WEED_MIN_FREE_VOLUMES") || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("some: %v; want an error naming the setting and what it takes", err)
	}
}

// Only test buckets (BucketName's names) older than the cutoff are stale:
// the demo's and the bench's fixed names never are.
func TestStaleBuckets(t *testing.T) {
	cutoff := time.Now().Add(-StaleBucketAge)
	old, young := cutoff.Add(-time.Minute), cutoff.Add(time.Minute)
	for _, c := range []struct {
		name    string
		created time.Time
		want    bool
	}{
		{BucketName("s3ops-trash"), old, true},
		{BucketName("src"), old, true},
		{BucketName("src"), young, false},
		{"lms-trash", old, false},
		{"bench-a-src", old, false},
		{"benchdisco-trash", old, false},
		{"trash-0123456789ab-x", old, false},
		{BucketName("src"), time.Time{}, false},
	} {
		if got := stale(c.name, c.created, cutoff); got != c.want {
			t.Errorf("stale(%q, created %v) = %v, want %v", c.name, c.created, got, c.want)
		}
	}
}

// removeBuckets removes what it picks, with its objects, and nothing else.
func TestRemoveBuckets(t *testing.T) {
	c := NewClient(t, Options(t)).S3()
	ctx := t.Context()
	mine, kept := BucketName("room-removed"), BucketName("room-kept")
	for _, b := range []string{mine, kept} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("create bucket %s: %v", b, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := RemoveBucket(ctx, c, b); err != nil && !isCode(err, "NoSuchBucket") {
				t.Errorf("remove bucket %s: %v", b, err)
			}
		})
		PutObject(t, c, b, "left/behind", []byte("left behind"))
	}
	removed, err := removeBuckets(ctx, c, func(name string, _ time.Time) bool { return name == mine })
	if err != nil || !slices.Equal(removed, []string{mine}) {
		t.Fatalf("removeBuckets: %v, %v; want [%s]", removed, err, mine)
	}
	var re *awshttp.ResponseError
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(mine)}); !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
		t.Errorf("HEAD of the removed bucket: %v, want 404", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(kept)}); err != nil {
		t.Errorf("HEAD of the bucket not picked: %v, want it there", err)
	}
}

// With a tag, a run's buckets start with it and are still test buckets.
func TestBucketNameTag(t *testing.T) {
	t.Setenv("TRASHD_TEST_BUCKET_TAG", "leak1a2b")
	name := BucketName("s3ops-trash")
	if !strings.HasPrefix(name, "leak1a2b-s3ops-trash-") || !testBucket.MatchString(name) {
		t.Errorf("BucketName with a tag: %q; want leak1a2b-s3ops-trash-<12 hex>", name)
	}
}
