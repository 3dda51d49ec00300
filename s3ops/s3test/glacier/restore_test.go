package glacier_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// oddKey needs encoding in a path and in x-amz-copy-source.
const oddKey = "cold/odd key + ü?x=1#frag.bin"

func copySource(bucket, key string) string {
	return bucket + "/" + strings.ReplaceAll(url.PathEscape(key), "%2F", "/")
}

// wantArchived fails the test unless err is S3's refusal to read an
// archived object of class.
func wantArchived(t *testing.T, what string, err error, class types.StorageClass) {
	t.Helper()
	wantError(t, what, err, http.StatusForbidden, "InvalidObjectState")
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorMessage() != "The operation is not valid for the object's storage class" {
		t.Errorf("%s: message %q", what, apiErr.ErrorMessage())
	}
	var ios *types.InvalidObjectState
	if errors.As(err, &ios) && ios.StorageClass != class {
		t.Errorf("%s: error names class %q, want %q", what, ios.StorageClass, class)
	}
}

// TestArchivedReads: GET, ranged GET, CopyObject and UploadPartCopy of a
// GLACIER or DEEP_ARCHIVE object that is not restored are refused; HEAD
// works; GLACIER_IR reads at once.
func TestArchivedReads(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: time.Hour})
	ctx := t.Context()
	body := s3test.RandomBytes(1 << 10)
	b.putClass(t, oddKey, body, types.StorageClassGlacier)
	b.putClass(t, "deep", body, types.StorageClassDeepArchive)
	b.putClass(t, "instant", body, types.StorageClassGlacierIr)

	_, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(oddKey)})
	wantArchived(t, "GET of a GLACIER object", err, types.StorageClassGlacier)
	_, err = b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(oddKey), Range: aws.String("bytes=0-9")})
	wantArchived(t, "ranged GET of a GLACIER object", err, types.StorageClassGlacier)
	_, err = b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String("deep")})
	wantArchived(t, "GET of a DEEP_ARCHIVE object", err, types.StorageClassDeepArchive)

	head, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(oddKey)})
	if err != nil || head.StorageClass != types.StorageClassGlacier || head.Restore != nil {
		t.Errorf("HEAD of a GLACIER object: %v, class %q, restore %v", err, head.StorageClass, aws.ToString(head.Restore))
	}

	_, err = b.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy"), CopySource: aws.String(copySource(b.bucket, oddKey))})
	wantArchived(t, "CopyObject from a GLACIER object", err, types.StorageClassGlacier)
	_, err = b.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy"), CopySource: aws.String("/" + b.bucket + "/deep?versionId=null")})
	wantArchived(t, "CopyObject from a DEEP_ARCHIVE object, leading slash and version", err, types.StorageClassDeepArchive)
	up, err := b.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b.bucket, Key: aws.String("parts")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b.bucket, Key: aws.String("parts"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String(copySource(b.bucket, oddKey))})
	wantArchived(t, "UploadPartCopy from a GLACIER object", err, types.StorageClassGlacier)
	if _, err := b.direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String("copy")}); httpStatus(err) != http.StatusNotFound {
		t.Errorf("a refused copy reached the server: %v", err)
	}

	if got := s3test.Get(t, b.c, b.bucket, "instant"); !bytes.Equal(got, body) {
		t.Error("GET of a GLACIER_IR object returned other bytes")
	}
	if _, err := b.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy"), CopySource: aws.String(copySource(b.bucket, "instant"))}); err != nil {
		t.Errorf("CopyObject from a GLACIER_IR object: %v", err)
	}
}

// restoreObject asks the layer to restore key and returns the HTTP status.
func (b *testBundle) restoreObject(t *testing.T, key string, days int32, tier types.Tier) (int, error) {
	t.Helper()
	out, err := b.c.RestoreObject(t.Context(), &s3.RestoreObjectInput{
		Bucket: &b.bucket, Key: aws.String(key),
		RestoreRequest: &types.RestoreRequest{Days: aws.Int32(days), GlacierJobParameters: &types.GlacierJobParameters{Tier: tier}},
	})
	if err != nil {
		return httpStatus(err), err
	}
	return awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response).StatusCode, nil
}

// restoreHeader is x-amz-restore as HEAD through the layer gives it.
func (b *testBundle) restoreHeader(t *testing.T, key string) string {
	t.Helper()
	h, err := b.c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(key)})
	if err != nil {
		t.Fatalf("HEAD %s: %v", key, err)
	}
	return aws.ToString(h.Restore)
}

// expiryOf reads the expiry-date of a finished restore's x-amz-restore.
func expiryOf(t *testing.T, header string) time.Time {
	t.Helper()
	const done = `ongoing-request="false", expiry-date="`
	if !strings.HasPrefix(header, done) || !strings.HasSuffix(header, `"`) {
		t.Fatalf("x-amz-restore %q is not a finished restore", header)
	}
	e, err := time.Parse(http.TimeFormat, strings.TrimSuffix(strings.TrimPrefix(header, done), `"`))
	if err != nil {
		t.Fatalf("x-amz-restore %q: %v", header, err)
	}
	return e
}

// TestRestore: a restore is accepted (202), refused while it runs (409)
// with HEAD saying so, and once done makes the object readable until its
// expiry, which a new request moves (200).
func TestRestore(t *testing.T) {
	t.Parallel()
	day := time.Hour
	// The restore takes a minute of the layer's clock: it is done when the
	// test moves the clock on, however slow the machine.
	b := setup(t, glacier.Config{DayLength: day, Restore: map[string]time.Duration{glacier.TierStandard: time.Minute}})
	ctx := t.Context()
	body := s3test.RandomBytes(1 << 10)
	b.putClass(t, oddKey, body, types.StorageClassGlacier)

	asked := b.clock.Now()
	if status, err := b.restoreObject(t, oddKey, 1, types.TierStandard); status != http.StatusAccepted {
		t.Fatalf("first restore: %d %v, want 202", status, err)
	}
	_, err := b.restoreObject(t, oddKey, 1, types.TierStandard)
	wantError(t, "restore while one runs", err, http.StatusConflict, "RestoreAlreadyInProgress")
	if got := b.restoreHeader(t, oddKey); got != `ongoing-request="true"` {
		t.Errorf("x-amz-restore while restoring: %q", got)
	}
	_, err = b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(oddKey)})
	wantArchived(t, "GET while restoring", err, types.StorageClassGlacier)

	b.clock.Advance(time.Minute)
	header := b.restoreHeader(t, oddKey)
	expiry := expiryOf(t, header)
	// One day from the request, rounded up to the day boundary: S3
	// counts a restore's days from when it was asked for.
	if lo, hi := ceil(asked.Add(day), day), ceil(asked.Add(time.Second+day), day); expiry.Before(lo.Truncate(time.Second)) || expiry.After(hi) {
		t.Errorf("expiry %v, want between %v and %v", expiry, lo, hi)
	}

	if got := s3test.Get(t, b.c, b.bucket, oddKey); !bytes.Equal(got, body) {
		t.Error("GET of the restored object returned other bytes")
	}
	got, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(oddKey)})
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if aws.ToString(got.Restore) != header {
		t.Errorf("GET's x-amz-restore %q, HEAD's %q", aws.ToString(got.Restore), header)
	}
	if _, err := b.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("back"),
		CopySource: aws.String(copySource(b.bucket, oddKey)), StorageClass: types.StorageClassStandard}); err != nil {
		t.Errorf("CopyObject of the restored object: %v", err)
	}

	if status, err := b.restoreObject(t, oddKey, 3, types.TierStandard); status != http.StatusOK {
		t.Fatalf("restore of a restored object: %d %v, want 200", status, err)
	}
	if later := expiryOf(t, b.restoreHeader(t, oddKey)); !later.After(expiry.Add(day)) {
		t.Errorf("expiry after asking for 3 days: %v, was %v", later, expiry)
	}
}

// TestRestoreExpires: the restored copy goes away at its expiry; the object
// is then archived again and a new restore starts over. An object
// overwritten under the same key is not restored.
func TestRestoreExpires(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: time.Hour, Restore: map[string]time.Duration{glacier.TierStandard: 0}})
	ctx := t.Context()
	b.putClass(t, "obj", []byte("archived"), types.StorageClassDeepArchive)
	if status, err := b.restoreObject(t, "obj", 1, types.TierStandard); status != http.StatusAccepted {
		t.Fatalf("restore: %d %v", status, err)
	}
	expiry := expiryOf(t, b.restoreHeader(t, "obj"))

	b.clock.Set(expiry.Add(-time.Second))
	if got := s3test.Get(t, b.c, b.bucket, "obj"); string(got) != "archived" {
		t.Errorf("GET a second before expiry: %q", got)
	}
	b.clock.Set(expiry)
	if got := b.restoreHeader(t, "obj"); got != "" {
		t.Errorf("x-amz-restore after expiry: %q", got)
	}
	_, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String("obj")})
	wantArchived(t, "GET after expiry", err, types.StorageClassDeepArchive)
	if status, err := b.restoreObject(t, "obj", 1, types.TierStandard); status != http.StatusAccepted {
		t.Fatalf("restore after expiry: %d %v, want 202", status, err)
	}

	// Overwritten through the layer, by an object that is archived too.
	s3test.PutObject(t, b.c, b.bucket, "obj", []byte("new"), func(in *s3.PutObjectInput) { in.StorageClass = types.StorageClassGlacier })
	_, err = b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String("obj")})
	wantArchived(t, "GET of the object that replaced a restored one", err, types.StorageClassGlacier)
}

// TestRestoreRefused: S3's answers to restores it does not start.
func TestRestoreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	s3test.PutObject(t, b.direct, b.bucket, "standard", []byte("x"))
	b.putClass(t, "instant", []byte("x"), types.StorageClassGlacierIr)
	b.putClass(t, "cold", []byte("x"), types.StorageClassGlacier)

	_, err := b.restoreObject(t, "standard", 1, types.TierStandard)
	wantError(t, "restore of a STANDARD object", err, http.StatusForbidden, "InvalidObjectState")
	_, err = b.restoreObject(t, "instant", 1, types.TierStandard)
	wantError(t, "restore of a GLACIER_IR object", err, http.StatusForbidden, "InvalidObjectState")
	_, err = b.restoreObject(t, "missing", 1, types.TierStandard)
	wantError(t, "restore of a missing key", err, http.StatusNotFound, "NoSuchKey")
	gone := s3test.BucketName("glacier-gone")
	_, err = b.c.RestoreObject(t.Context(), &s3.RestoreObjectInput{Bucket: &gone, Key: aws.String("k"),
		RestoreRequest: &types.RestoreRequest{Days: aws.Int32(1)}})
	wantError(t, "restore in a missing bucket", err, http.StatusNotFound, "NoSuchBucket")

	for _, c := range []struct{ name, doc, code string }{
		{"not XML", "<RestoreRequest>", "MalformedXML"},
		{"unknown tier", "<RestoreRequest><Days>1</Days><GlacierJobParameters><Tier>Fast</Tier></GlacierJobParameters></RestoreRequest>", "MalformedXML"},
		{"no days", "<RestoreRequest><GlacierJobParameters><Tier>Bulk</Tier></GlacierJobParameters></RestoreRequest>", "InvalidArgument"},
		{"zero days", "<RestoreRequest><Days>0</Days></RestoreRequest>", "InvalidArgument"},
		{"top-level tier", "<RestoreRequest><Days>1</Days><Tier>Bulk</Tier></RestoreRequest>", "MalformedXML"},
	} {
		resp, body := b.raw(t, http.MethodPost, "/"+b.bucket+"/cold?restore", []byte(c.doc), nil)
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("<Code>"+c.code+"</Code>")) {
			t.Errorf("%s: %d %s, want 400 %s", c.name, resp.StatusCode, body, c.code)
		}
	}
	// Without a tier the restore is Standard.
	resp, body := b.raw(t, http.MethodPost, "/"+b.bucket+"/cold?restore", []byte("<RestoreRequest><Days>1</Days></RestoreRequest>"), nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("restore without a tier: %d %s, want 202", resp.StatusCode, body)
	}
}

// TestRestoreExpiryFromRequest: S3 counts a restore's days from the
// request, not from when the restored copy is ready ("adding the number of
// days that you specify to the time you requested to restore the object,
// and then rounding to the next day at midnight UTC").
func TestRestoreExpiryFromRequest(t *testing.T) {
	t.Parallel()
	day := time.Hour
	b := setup(t, glacier.Config{DayLength: day, Restore: map[string]time.Duration{glacier.TierStandard: 30 * time.Minute}})
	b.putClass(t, "cold", []byte("x"), types.StorageClassGlacier)
	// 40 minutes into a day: ready 10 minutes into the next one.
	asked := time.Now().Truncate(day).Add(day + 40*time.Minute)
	b.clock.Set(asked)
	if status, err := b.restoreObject(t, "cold", 1, types.TierStandard); status != http.StatusAccepted {
		t.Fatalf("restore: %d %v", status, err)
	}
	b.clock.Set(asked.Add(31 * time.Minute))
	if got, want := expiryOf(t, b.restoreHeader(t, "cold")), asked.Truncate(day).Add(2*day); !got.Equal(want) {
		t.Errorf("expiry %v, want %v: one day after the request, rounded up (from when it was ready it would be %v)",
			got, want, want.Add(day))
	}
}

// TestRestoreHeaderLingers: with LingerRestoreHeader, an expired restore's
// x-amz-restore, with its past expiry-date, is still sent for a while,
// while reads are refused and a new restore starts over (202).
func TestRestoreHeaderLingers(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: time.Hour, LingerRestoreHeader: 30 * time.Minute,
		Restore: map[string]time.Duration{glacier.TierStandard: 0}})
	b.putClass(t, "cold", []byte("x"), types.StorageClassGlacier)
	if status, err := b.restoreObject(t, "cold", 1, types.TierStandard); status != http.StatusAccepted {
		t.Fatalf("restore: %d %v", status, err)
	}
	header := b.restoreHeader(t, "cold")
	expiry := expiryOf(t, header)
	b.clock.Set(expiry.Add(10 * time.Minute))
	if got := b.restoreHeader(t, "cold"); got != header {
		t.Errorf("x-amz-restore 10 minutes after the expiry: %q, want it to linger as %q", got, header)
	}
	_, err := b.c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String("cold")})
	wantArchived(t, "GET after the expiry, header lingering", err, types.StorageClassGlacier)
	_, err = b.c.CopyObject(t.Context(), &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy"), CopySource: aws.String(b.bucket + "/cold")})
	wantArchived(t, "copy after the expiry, header lingering", err, types.StorageClassGlacier)
	b.clock.Set(expiry.Add(31 * time.Minute))
	if got := b.restoreHeader(t, "cold"); got != "" {
		t.Errorf("x-amz-restore after the linger: %q, want none", got)
	}
	b.clock.Set(expiry.Add(10 * time.Minute))
	if status, err := b.restoreObject(t, "cold", 1, types.TierStandard); status != http.StatusAccepted {
		t.Errorf("restore while the header lingers: %d %v, want 202 (a new restore)", status, err)
	}
}

// TestRestoreTiers: Expedited is refused for DEEP_ARCHIVE, and answers 503
// GlacierExpeditedRetrievalNotAvailable while S3 has no capacity for it;
// Standard goes on.
func TestRestoreTiers(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	b.putClass(t, "deep", []byte("x"), types.StorageClassDeepArchive)
	b.putClass(t, "cold", []byte("x"), types.StorageClassGlacier)
	_, err := b.restoreObject(t, "deep", 1, types.TierExpedited)
	wantError(t, "Expedited restore of DEEP_ARCHIVE", err, http.StatusBadRequest, "InvalidArgument")
	b.layer.SetExpeditedAvailable(false)
	_, err = b.restoreObject(t, "cold", 1, types.TierExpedited)
	wantError(t, "Expedited restore without capacity", err, http.StatusServiceUnavailable, "GlacierExpeditedRetrievalNotAvailable")
	if status, err := b.restoreObject(t, "cold", 1, types.TierStandard); status != http.StatusAccepted {
		t.Errorf("Standard restore without Expedited capacity: %d %v", status, err)
	}
	b.layer.SetExpeditedAvailable(true)
	if status, err := b.restoreObject(t, "deep", 1, types.TierStandard); status != http.StatusAccepted {
		t.Errorf("Standard restore of DEEP_ARCHIVE: %d %v", status, err)
	}
}

// TestArchivedCopyError: with ArchivedCopyError set to the code of AWS's
// API model, a copy from an archived source is refused with it.
func TestArchivedCopyError(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{ArchivedCopyError: glacier.CodeObjectNotInActiveTier})
	b.putClass(t, "cold", []byte("x"), types.StorageClassGlacier)
	_, err := b.c.CopyObject(t.Context(), &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy"), CopySource: aws.String(b.bucket + "/cold")})
	wantError(t, "copy from GLACIER", err, http.StatusForbidden, "ObjectNotInActiveTierError")
	var typed *types.ObjectNotInActiveTierError
	if !errors.As(err, &typed) {
		t.Errorf("the SDK does not read %v as its ObjectNotInActiveTierError", err)
	}
}

// TestIntelligentTiering: an INTELLIGENT_TIERING object in an archive tier
// says so in x-amz-archive-status, cannot be read, and is restored without
// Days (Days and, for Deep Archive Access, Expedited are refused); once
// restored it reads like any object. One in an access tier that reads at
// once has nothing to restore.
func TestIntelligentTiering(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{DayLength: time.Hour, Restore: map[string]time.Duration{glacier.TierStandard: time.Minute}})
	ctx := t.Context()
	b.putClass(t, "it", []byte("tiered"), types.StorageClassIntelligentTiering)
	_, err := b.restoreObject(t, "it", 1, types.TierStandard)
	wantError(t, "restore of an object in the Frequent Access tier", err, http.StatusForbidden, "ObjectAlreadyInActiveTierError")
	if err := b.layer.ArchiveIntelligentTiering(ctx, b.bucket, "it", glacier.AccessTierDeepArchive); err != nil {
		t.Fatal(err)
	}
	h, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String("it")})
	if err != nil || h.ArchiveStatus != types.ArchiveStatusDeepArchiveAccess || h.Restore != nil {
		t.Fatalf("HEAD in Deep Archive Access: %v, archive status %q, restore %v", err, h.ArchiveStatus, aws.ToString(h.Restore))
	}
	_, err = b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String("it")})
	wantArchived(t, "GET in Deep Archive Access", err, types.StorageClassIntelligentTiering)
	var ios *types.InvalidObjectState
	if errors.As(err, &ios) && ios.AccessTier != types.IntelligentTieringAccessTierDeepArchiveAccess {
		t.Errorf("InvalidObjectState names access tier %q", ios.AccessTier)
	}
	_, err = b.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy"), CopySource: aws.String(b.bucket + "/it")})
	wantArchived(t, "copy from Deep Archive Access", err, types.StorageClassIntelligentTiering)

	_, err = b.restoreObject(t, "it", 1, types.TierStandard)
	wantError(t, "restore with Days", err, http.StatusBadRequest, "InvalidArgument")
	noDays := func(tier types.Tier) error {
		_, err := b.c.RestoreObject(ctx, &s3.RestoreObjectInput{Bucket: &b.bucket, Key: aws.String("it"),
			RestoreRequest: &types.RestoreRequest{GlacierJobParameters: &types.GlacierJobParameters{Tier: tier}}})
		return err
	}
	wantError(t, "Expedited restore from Deep Archive Access", noDays(types.TierExpedited), http.StatusBadRequest, "InvalidArgument")
	asked := time.Now()
	if err := noDays(types.TierStandard); err != nil {
		t.Fatalf("restore without Days: %v", err)
	}
	if got := b.restoreHeader(t, "it"); got != `ongoing-request="true"` {
		t.Errorf("x-amz-restore while restoring: %q", got)
	}
	b.clock.Set(asked.Add(2 * time.Minute))
	h, err = b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String("it")})
	if err != nil || h.ArchiveStatus != "" {
		t.Errorf("HEAD after the restore: %v, archive status %q; want none (back in Frequent Access)", err, h.ArchiveStatus)
	}
	if got := s3test.Get(t, b.c, b.bucket, "it"); string(got) != "tiered" {
		t.Errorf("GET after the restore: %q", got)
	}
}
