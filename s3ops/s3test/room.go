package s3test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Every bucket takes volumes of its own on SeaweedFS, and the dev server has
// few (about 70 on a small disk): buckets left behind by runs that were
// killed, timed out or panicked (their cleanups never ran) fill it, and then
// every upload fails with 500 and tests fail that have nothing to do with
// it. So, once per test process, before its first bucket, NewBucket removes
// the test buckets that earlier runs left (older than StaleBucketAge) and
// checks that the server has room.

// StaleBucketAge is how old a test bucket (a BucketName: a prefix and 12
// hex digits) must be for a test run to remove it as left behind: no test
// runs for an hour, and a younger one may be another run's, in use.
const StaleBucketAge = time.Hour

// DefaultMinFreeVolumes is how many free volumes SeaweedFS must have when a
// test process makes its first bucket (TRASHD_TEST_WEED_MIN_FREE_VOLUMES
// sets another): a package's parallel tests have a few dozen buckets at
// once, of a volume each, and free them as they end.
const DefaultMinFreeVolumes = 8

// DefaultMaster is the master of dev-up's SeaweedFS (weed mini's master
// HTTP port), whose /dir/status counts the volumes.
const DefaultMaster = "http://127.0.0.1:9333"

// testBucket matches the names BucketName makes.
var testBucket = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*-[0-9a-f]{12}$`)

// serverRoom is the one check of a test process: package state, since the
// check is of the one shared server, and once is enough for a process.
var serverRoom struct {
	once sync.Once
	err  error
}

// checkRoom runs prepareServer once per process and returns its answer.
func checkRoom(tb testing.TB) error {
	serverRoom.once.Do(func() { serverRoom.err = prepareServer(tb) })
	return serverRoom.err
}

// prepareServer removes stale test buckets from SeaweedFS and checks that
// it has MinFreeVolumes free. A SeaweedFS that does not answer is left to
// NewBucket to report; a master that does not answer is checked no
// further, unless TRASHD_TEST_WEED_MASTER names it.
func prepareServer(tb testing.TB) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := NewClient(tb, Options(tb)).S3()
	if removed, err := RemoveStaleBuckets(ctx, c, time.Now().Add(-StaleBucketAge)); err != nil {
		tb.Logf("s3test: looking for test buckets left behind: %v", err)
	} else if len(removed) > 0 {
		tb.Logf("s3test: removed %d test buckets left behind by earlier runs (older than %s): %v", len(removed), StaleBucketAge, removed)
	}
	min, err := minFreeVolumes()
	if err != nil {
		return err
	}
	master, explicit := masterURL()
	if master == "" {
		return nil
	}
	err = CheckFreeVolumes(ctx, master, min)
	if err != nil && !explicit && !isRoomError(err) {
		tb.Logf("s3test: free volumes not checked: %v", err)
		return nil
	}
	return err
}

// masterURL is TRASHD_TEST_WEED_MASTER, or dev-up's master when the S3
// endpoint is dev-up's; explicit says it was named.
func masterURL() (url string, explicit bool) {
	if m := os.Getenv("TRASHD_TEST_WEED_MASTER"); m != "" {
		return m, true
	}
	if Endpoint() == DefaultEndpoint {
		return DefaultMaster, false
	}
	return "", false
}

func minFreeVolumes() (int, error) {
	v := os.Getenv("TRASHD_TEST_WEED_MIN_FREE_VOLUMES")
	if v == "" {
		return DefaultMinFreeVolumes, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("TRASHD_TEST_WEED_MIN_FREE_VOLUMES=%q: must be a whole number, 0 or more (default %d)", v, DefaultMinFreeVolumes)
	}
	return n, nil
}

// roomError is a server that is too full.
type roomError struct{ free, max, min int }

func (e *roomError) Error() string {
	return fmt.Sprintf("SeaweedFS has %d writable volumes left (of %d; the tests want %d): "+
		"run make dev-down && make dev-up, or delete old test buckets", e.free, e.max, e.min)
}

func isRoomError(err error) bool {
	var re *roomError
	return errors.As(err, &re)
}

// CheckFreeVolumes asks SeaweedFS's master (its /dir/status) how many
// volumes it can still make, and fails, saying what to do, when it is fewer
// than min.
func CheckFreeVolumes(ctx context.Context, master string, min int) error {
	free, max, err := FreeVolumes(ctx, master)
	if err != nil {
		return err
	}
	if free < min {
		return &roomError{free: free, max: max, min: min}
	}
	return nil
}

// FreeVolumes is how many volumes SeaweedFS's master can still make, of how
// many in all.
func FreeVolumes(ctx context.Context, master string) (free, max int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, master+"/dir/status", nil)
	if err != nil {
		return 0, 0, fmt.Errorf("SeaweedFS master %q: %w", master, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("ask SeaweedFS's master for its volumes: %w", err)
	}
	defer resp.Body.Close()
	var st struct {
		Topology *struct{ Max, Free int }
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK || st.Topology == nil {
		return 0, 0, fmt.Errorf("%s/dir/status: %s, %v: not a SeaweedFS master's status", master, resp.Status, err)
	}
	return st.Topology.Free, st.Topology.Max, nil
}

// RemoveStaleBuckets removes the test buckets (BucketName's names) created
// before cutoff, with everything in them, and returns their names. A
// bucket another run removes meanwhile is no error.
func RemoveStaleBuckets(ctx context.Context, c *s3.Client, cutoff time.Time) ([]string, error) {
	return removeBuckets(ctx, c, func(name string, created time.Time) bool { return stale(name, created, cutoff) })
}

// stale reports whether a bucket is a test bucket created before cutoff.
func stale(name string, created, cutoff time.Time) bool {
	return testBucket.MatchString(name) && !created.IsZero() && created.Before(cutoff)
}

// removeBuckets removes the buckets that pick picks.
func removeBuckets(ctx context.Context, c *s3.Client, pick func(name string, created time.Time) bool) ([]string, error) {
	out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	var removed []string
	var errs []error
	for _, b := range out.Buckets {
		name := aws.ToString(b.Name)
		if !pick(name, aws.ToTime(b.CreationDate)) {
			continue
		}
		if err := RemoveBucket(ctx, c, name); err != nil && !isCode(err, "NoSuchBucket") {
			errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}
