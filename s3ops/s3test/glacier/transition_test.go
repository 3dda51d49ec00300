package glacier_test

import (
	"bytes"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// oneDay is a lifecycle day short enough that a rule of one day is due by
// the time the test sweeps.
const oneDay = 10 * time.Millisecond

func transitionRule(id string, filter *types.LifecycleRuleFilter, days int32, class types.TransitionStorageClass) types.LifecycleRule {
	return types.LifecycleRule{
		ID: aws.String(id), Status: types.ExpirationStatusEnabled, Filter: filter,
		Transitions: []types.Transition{{Days: aws.Int32(days), StorageClass: class}},
	}
}

// TestTransitionKeepsObject: a due transition moves objects of at least
// 128 KiB under the rule's prefix to GLACIER and leaves the object as it
// was, content, ETag, metadata, tags and checksum; smaller objects and
// other prefixes stay STANDARD.
func TestTransitionKeepsObject(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: oneDay})
	b.putLifecycle(t, transitionRule("archive", &types.LifecycleRuleFilter{Prefix: aws.String("trash/")}, 1, types.TransitionStorageClassGlacier))

	body := s3test.RandomBytes(128 << 10) // exactly S3's minimum
	s3test.PutObject(t, b.direct, b.bucket, "trash/big", body, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("application/pdf")
		in.Metadata = map[string]string{"lms-id": "42"}
		in.Tagging = aws.String("course=101")
		in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256
	})
	s3test.PutObject(t, b.direct, b.bucket, "trash/just-under", s3test.RandomBytes(128<<10-1))
	s3test.PutObject(t, b.direct, b.bucket, "trash/small", s3test.RandomBytes(100<<10))
	s3test.PutObject(t, b.direct, b.bucket, "kept/big", s3test.RandomBytes(200<<10))
	before := b.headChecksum(t, "trash/big")
	if aws.ToString(before.ChecksumSHA256) == "" {
		t.Fatal("the server keeps no SHA-256 for an object put with one: the checksum check below would prove nothing")
	}

	b.sweep(t)

	after := b.headChecksum(t, "trash/big")
	if got := string(after.StorageClass); got != "GLACIER" {
		t.Fatalf("trash/big is %q after the sweep, want GLACIER", got)
	}
	if aws.ToString(after.ETag) != aws.ToString(before.ETag) ||
		aws.ToString(after.ContentType) != "application/pdf" ||
		!maps.Equal(after.Metadata, before.Metadata) ||
		aws.ToString(after.ChecksumSHA256) != aws.ToString(before.ChecksumSHA256) ||
		aws.ToInt64(after.ContentLength) != int64(len(body)) {
		t.Errorf("transition changed the object:\nbefore ETag %s type %s meta %v sha256 %s\nafter  ETag %s type %s meta %v sha256 %s",
			aws.ToString(before.ETag), aws.ToString(before.ContentType), before.Metadata, aws.ToString(before.ChecksumSHA256),
			aws.ToString(after.ETag), aws.ToString(after.ContentType), after.Metadata, aws.ToString(after.ChecksumSHA256))
	}
	if tags := s3test.Tags(t, b.direct, b.bucket, "trash/big"); tags["course"] != "101" || len(tags) != 1 {
		t.Errorf("tags after the transition: %v", tags)
	}
	// The server itself still serves archived bytes; only the layer refuses.
	if !bytes.Equal(s3test.Get(t, b.direct, b.bucket, "trash/big"), body) {
		t.Error("content changed by the transition")
	}
	for key, want := range map[string]string{"trash/just-under": "STANDARD", "trash/small": "STANDARD", "kept/big": "STANDARD"} {
		if got := b.class(t, key); got != want {
			t.Errorf("%s is %s, want %s", key, got, want)
		}
	}
	// Through the layer, HEAD reports the class as S3 would, and the
	// LastModified the object had: S3's transitions keep it.
	head, err := b.c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String("trash/big")})
	if err != nil || head.StorageClass != types.StorageClassGlacier {
		t.Errorf("HEAD through the layer: %v, class %q", err, head.StorageClass)
	}
	if err == nil && !aws.ToTime(head.LastModified).Equal(aws.ToTime(before.LastModified)) {
		t.Errorf("LastModified through the layer %v after the transition, %v before", head.LastModified, before.LastModified)
	}
}

// TestCopyWithoutClassIsStandard: a CopyObject that names no storage class
// lands in STANDARD, as on S3, whatever the source's class (SeaweedFS alone
// keeps the source's).
func TestCopyWithoutClassIsStandard(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	b.putClass(t, "instant", []byte("x"), types.StorageClassGlacierIr)
	if _, err := b.c.CopyObject(t.Context(), &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy"),
		CopySource: aws.String(b.bucket + "/instant")}); err != nil {
		t.Fatal(err)
	}
	if got := b.class(t, "copy"); got != "STANDARD" {
		t.Errorf("a copy without a storage class is %s, want STANDARD", got)
	}
	if _, err := b.c.CopyObject(t.Context(), &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy-ir"),
		CopySource: aws.String(b.bucket + "/instant"), StorageClass: types.StorageClassGlacierIr}); err != nil {
		t.Fatal(err)
	}
	if got := b.class(t, "copy-ir"); got != "GLACIER_IR" {
		t.Errorf("a copy into GLACIER_IR is %s", got)
	}
}

func (b *testBundle) headChecksum(t *testing.T, key string) *s3.HeadObjectOutput {
	t.Helper()
	out, err := b.direct.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	return out
}

// TestTransitionSizeFilters: a size filter of the rule's own replaces the
// 128 KiB default, as does varies_by_storage_class for the Glacier classes.
func TestTransitionSizeFilters(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: oneDay})
	b.putLifecycle(t,
		transitionRule("any-size", &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{
			Prefix: aws.String("small/"), ObjectSizeGreaterThan: aws.Int64(0)}}, 1, types.TransitionStorageClassGlacier),
		transitionRule("under-1k", &types.LifecycleRuleFilter{ObjectSizeLessThan: aws.Int64(1024)}, 1, types.TransitionStorageClassDeepArchive),
	)
	s3test.PutObject(t, b.direct, b.bucket, "small/100k", s3test.RandomBytes(100<<10))
	s3test.PutObject(t, b.direct, b.bucket, "small/empty", nil)
	s3test.PutObject(t, b.direct, b.bucket, "tiny", s3test.RandomBytes(10))
	s3test.PutObject(t, b.direct, b.bucket, "medium", s3test.RandomBytes(10<<10))
	b.sweep(t)
	for key, want := range map[string]string{
		"small/100k":  "GLACIER",      // ObjectSizeGreaterThan 0 lets it go
		"small/empty": "DEEP_ARCHIVE", // not > 0, but < 1024
		"tiny":        "DEEP_ARCHIVE",
		"medium":      "STANDARD", // no rule matches 10 KiB outside small/
	} {
		if got := b.class(t, key); got != want {
			t.Errorf("%s is %s, want %s", key, got, want)
		}
	}

	// A second bucket, whose configuration lets small objects go to the
	// Glacier classes but not elsewhere.
	other := s3test.NewBucket(t, b.direct, "glacier-varies")
	if _, err := b.c.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                             &other,
		TransitionDefaultMinimumObjectSize: types.TransitionDefaultMinimumObjectSizeVariesByStorageClass,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{
			transitionRule("glacier", &types.LifecycleRuleFilter{Prefix: aws.String("g/")}, 1, types.TransitionStorageClassGlacier),
			transitionRule("ir", &types.LifecycleRuleFilter{Prefix: aws.String("ir/")}, 1, types.TransitionStorageClassGlacierIr),
		}},
	}); err != nil {
		t.Fatal(err)
	}
	s3test.PutObject(t, b.direct, other, "g/small", s3test.RandomBytes(1<<10))
	s3test.PutObject(t, b.direct, other, "ir/small", s3test.RandomBytes(1<<10))
	b.sweep(t)
	for key, want := range map[string]string{"g/small": "GLACIER", "ir/small": "STANDARD"} {
		h, err := b.direct.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &other, Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(h.StorageClass); got != want && !(want == "STANDARD" && got == "") {
			t.Errorf("%s is %q, want %s", key, got, want)
		}
	}
}

// TestTransitionDeepestDue: of the transitions due, the deepest class wins,
// and an object never moves back up; a multipart object keeps its ETag.
func TestTransitionDeepestDue(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: oneDay})
	b.putLifecycle(t, types.LifecycleRule{
		ID: aws.String("waterfall"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
		Transitions: []types.Transition{
			{Days: aws.Int32(1), StorageClass: types.TransitionStorageClassGlacier},
			{Days: aws.Int32(2), StorageClass: types.TransitionStorageClassDeepArchive},
		},
	})
	mp := s3test.PutMultipart(t, b.direct, b.bucket, "multi", s3test.RandomBytes(11<<20), 5<<20)
	b.sweep(t)
	h := b.head(t, "multi")
	if h.StorageClass != types.StorageClassDeepArchive || aws.ToString(h.ETag) != aws.ToString(mp.ETag) {
		t.Errorf("multi is %s with ETag %s; want DEEP_ARCHIVE with ETag %s", h.StorageClass, aws.ToString(h.ETag), aws.ToString(mp.ETag))
	}
	b.putLifecycle(t, transitionRule("up", &types.LifecycleRuleFilter{Prefix: aws.String("")}, 1, types.TransitionStorageClassGlacierIr))
	b.sweep(t)
	if got := b.class(t, "multi"); got != "DEEP_ARCHIVE" {
		t.Errorf("multi moved up to %s", got)
	}
}

// TestTransitionWaitsForItsDay: a transition is due only once its days have
// passed on the layer's clock (rounded up to the day boundary, as S3 rounds
// up to midnight); disabled rules and rules with tag filters do nothing.
func TestTransitionWaitsForItsDay(t *testing.T) {
	t.Parallel()
	day := time.Hour
	b := setup(t, glacier.Config{DayLength: day})
	tagged := transitionRule("tagged", &types.LifecycleRuleFilter{Tag: &types.Tag{Key: aws.String("k"), Value: aws.String("v")}}, 0, types.TransitionStorageClassGlacier)
	disabled := transitionRule("disabled", &types.LifecycleRuleFilter{Prefix: aws.String("")}, 0, types.TransitionStorageClassDeepArchive)
	disabled.Status = types.ExpirationStatusDisabled
	b.putLifecycle(t, transitionRule("two-days", &types.LifecycleRuleFilter{Prefix: aws.String("")}, 2, types.TransitionStorageClassGlacier), tagged, disabled)
	s3test.PutObject(t, b.direct, b.bucket, "obj", s3test.RandomBytes(200<<10), func(in *s3.PutObjectInput) { in.Tagging = aws.String("k=v") })
	created := aws.ToTime(b.head(t, "obj").LastModified)
	due := ceil(created.Add(2*day), day) // two days, then up to the next day boundary

	b.sweep(t)
	b.clock.Set(due.Add(-time.Second))
	b.sweep(t)
	if got := b.class(t, "obj"); got != "STANDARD" {
		t.Fatalf("obj is %s a second before its transition is due", got)
	}
	b.clock.Set(due)
	b.sweep(t)
	if got := b.class(t, "obj"); got != "GLACIER" {
		t.Fatalf("obj is %s once its transition is due, want GLACIER", got)
	}
}

// TestExpiration: an expiration deletes the rule's objects once due,
// counting days from when the object was created, not from the transition
// copy that changed its LastModified.
func TestExpiration(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: time.Second})
	b.putLifecycle(t,
		types.LifecycleRule{
			ID: aws.String("archive-then-expire"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("trash/")},
			Transitions: []types.Transition{{Days: aws.Int32(1), StorageClass: types.TransitionStorageClassGlacier}},
			Expiration:  &types.LifecycleExpiration{Days: aws.Int32(3)},
		},
		types.LifecycleRule{
			ID: aws.String("tmp"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)},
		},
	)
	s3test.PutObject(t, b.direct, b.bucket, "trash/a", s3test.RandomBytes(200<<10))
	s3test.PutObject(t, b.direct, b.bucket, "tmp/a", []byte("x"))
	s3test.PutObject(t, b.direct, b.bucket, "kept/a", []byte("x"))
	created := aws.ToTime(b.head(t, "trash/a").LastModified)

	// The one wait on real time in these tests, and its subject: the
	// transition copy's LastModified must be at least a day (one second)
	// after the creation, and the server stamps LastModified from its own
	// clock in whole seconds, which no test clock can move. Everything
	// after it runs on the layer's clock.
	time.Sleep(time.Until(created.Add(time.Second + 50*time.Millisecond)))
	b.sweep(t)
	h := b.head(t, "trash/a")
	copied := aws.ToTime(h.LastModified)
	if h.StorageClass != types.StorageClassGlacier || copied.Before(created.Add(time.Second)) {
		t.Fatalf("trash/a: %s, last modified %v (created %v); want GLACIER, modified a day later", h.StorageClass, copied, created)
	}
	b.clock.Set(created.Add(3*time.Second - 100*time.Millisecond))
	b.sweep(t)
	if got := b.class(t, "trash/a"); got != "GLACIER" {
		t.Fatalf("trash/a is %s before its expiration", got)
	}
	// Three days after creation, and less than three after the copy.
	b.clock.Set(created.Add(3 * time.Second))
	if !b.layerNowBefore(copied.Add(3 * time.Second)) {
		t.Fatal("the test took too long: the clock is past three days after the copy")
	}
	b.sweep(t)
	if _, err := b.direct.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String("trash/a")}); httpStatus(err) != http.StatusNotFound {
		t.Errorf("trash/a three days after its creation: %v, want it expired", err)
	}
	if _, err := b.direct.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String("tmp/a")}); httpStatus(err) != http.StatusNotFound {
		t.Errorf("tmp/a after its day: %v, want it gone", err)
	}
	if got := b.class(t, "kept/a"); got != "STANDARD" {
		t.Errorf("kept/a is %s", got)
	}
}

// ceil rounds t up to a multiple of d.
func ceil(t time.Time, d time.Duration) time.Time {
	if r := t.Truncate(d); !r.Equal(t) {
		return r.Add(d)
	}
	return t
}

func (b *testBundle) layerNowBefore(t time.Time) bool { return b.clock.Now().Before(t) }
