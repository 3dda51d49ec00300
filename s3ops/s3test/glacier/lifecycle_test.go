package glacier_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

func TestLifecycleMissing(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	_, err := b.c.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.bucket})
	wantError(t, "GET lifecycle of a bucket without one", err, http.StatusNotFound, "NoSuchLifecycleConfiguration")

	missing := s3test.BucketName("glacier-missing")
	_, err = b.c.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: &missing})
	wantError(t, "GET lifecycle of a missing bucket", err, http.StatusNotFound, "NoSuchBucket")
	_, err = b.c.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket: &missing,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("r"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)},
		}}},
	})
	wantError(t, "PUT lifecycle on a missing bucket", err, http.StatusNotFound, "NoSuchBucket")
}

// TestLifecycleRoundTrip: a configuration reads back as it was put, every
// kind of rule included, and a rule without an ID gets one.
func TestLifecycleRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	ctx := t.Context()
	midnight := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rules := []types.LifecycleRule{
		{
			ID: aws.String("archive-trash"), Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{Prefix: aws.String("trash/")},
			Transitions: []types.Transition{
				{Days: aws.Int32(0), StorageClass: types.TransitionStorageClassGlacierIr},
				{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassGlacier},
				{Days: aws.Int32(180), StorageClass: types.TransitionStorageClassDeepArchive},
			},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(3650)},
		},
		{
			ID: aws.String("sized"), Status: types.ExpirationStatusDisabled,
			Filter: &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{
				Prefix: aws.String("big/"), ObjectSizeGreaterThan: aws.Int64(1000), ObjectSizeLessThan: aws.Int64(1 << 30),
				Tags: []types.Tag{{Key: aws.String("class"), Value: aws.String("cold")}, {Key: aws.String("team"), Value: aws.String("")}},
			}},
			NoncurrentVersionTransitions: []types.NoncurrentVersionTransition{{
				NoncurrentDays: aws.Int32(10), StorageClass: types.TransitionStorageClassGlacier, NewerNoncurrentVersions: aws.Int32(2),
			}},
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(20)},
		},
		{
			ID: aws.String("uploads"), Status: types.ExpirationStatusEnabled,
			Filter:                         &types.LifecycleRuleFilter{Prefix: aws.String("")},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)},
		},
		{
			Status:      types.ExpirationStatusEnabled, // no ID: the layer names it
			Filter:      &types.LifecycleRuleFilter{ObjectSizeGreaterThan: aws.Int64(0)},
			Transitions: []types.Transition{{Date: &midnight, StorageClass: types.TransitionStorageClassGlacier}},
		},
		{
			ID: aws.String("tagged"), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Tag: &types.Tag{Key: aws.String("tmp"), Value: aws.String("yes")}},
			Expiration: &types.LifecycleExpiration{Date: &midnight},
		},
	}
	put, err := b.c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                             &b.bucket,
		LifecycleConfiguration:             &types.BucketLifecycleConfiguration{Rules: rules},
		TransitionDefaultMinimumObjectSize: types.TransitionDefaultMinimumObjectSizeVariesByStorageClass,
	})
	if err != nil {
		t.Fatalf("PutBucketLifecycleConfiguration: %v", err)
	}
	if put.TransitionDefaultMinimumObjectSize != types.TransitionDefaultMinimumObjectSizeVariesByStorageClass {
		t.Errorf("PUT answered minimum size %q", put.TransitionDefaultMinimumObjectSize)
	}
	got, err := b.c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.bucket})
	if err != nil {
		t.Fatalf("GetBucketLifecycleConfiguration: %v", err)
	}
	if got.TransitionDefaultMinimumObjectSize != types.TransitionDefaultMinimumObjectSizeVariesByStorageClass {
		t.Errorf("GET answered minimum size %q", got.TransitionDefaultMinimumObjectSize)
	}
	if len(got.Rules) == len(rules) {
		if id := aws.ToString(got.Rules[3].ID); id == "" || len(id) > 255 {
			t.Errorf("rule put without an ID came back with ID %q", id)
		}
		rules[3].ID = got.Rules[3].ID
	}
	if g, w := asJSON(t, got.Rules), asJSON(t, rules); g != w {
		t.Errorf("rules read back differ:\n got %s\nwant %s", g, w)
	}

	// The empty prefix stays an element, as it was put.
	_, raw := b.raw(t, http.MethodGet, "/"+b.bucket+"?lifecycle", nil, nil)
	if !bytes.Contains(raw, []byte("<ID>uploads</ID><Filter><Prefix></Prefix></Filter>")) {
		t.Errorf("GET lifecycle lost the empty prefix:\n%s", raw)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLifecycleLegacyPrefix: the deprecated rule-level Prefix reads back
// as it was put.
func TestLifecycleLegacyPrefix(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	doc := `<LifecycleConfiguration><Rule><ID>old</ID><Prefix>logs/</Prefix><Status>Enabled</Status>` +
		`<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>`
	if resp, body := b.raw(t, http.MethodPut, "/"+b.bucket+"?lifecycle", []byte(doc), withMD5(doc)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT lifecycle: %d %s", resp.StatusCode, body)
	}
	got, err := b.c.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != 1 || aws.ToString(got.Rules[0].Prefix) != "logs/" || got.Rules[0].Filter != nil {
		t.Errorf("rules read back: %s", asJSON(t, got.Rules))
	}
}

func TestLifecycleDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	ctx := t.Context()
	b.putLifecycle(t, types.LifecycleRule{ID: aws.String("r"), Status: types.ExpirationStatusEnabled,
		Filter: &types.LifecycleRuleFilter{}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}})
	if _, err := b.c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.bucket}); err != nil {
		t.Fatalf("GET after PUT: %v", err)
	}
	if _, err := b.c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: &b.bucket}); err != nil {
		t.Fatalf("DeleteBucketLifecycle: %v", err)
	}
	_, err := b.c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.bucket})
	wantError(t, "GET after DELETE", err, http.StatusNotFound, "NoSuchLifecycleConfiguration")
	if resp, body := b.raw(t, http.MethodDelete, "/"+b.bucket+"?lifecycle", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE of no configuration: %d %s, want 204", resp.StatusCode, body)
	}
}

// TestLifecycleRefused: configurations S3 refuses are refused with S3's
// error code, and nothing is stored.
func TestLifecycleRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	rule := func(body string) string {
		return "<LifecycleConfiguration>" + body + "</LifecycleConfiguration>"
	}
	const glacierIn1 = `<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>`
	var many strings.Builder
	for i := range 1001 {
		fmt.Fprintf(&many, `<Rule><ID>r%d</ID><Filter><Prefix>p%d/</Prefix></Filter><Status>Enabled</Status>%s</Rule>`, i, i, glacierIn1)
	}
	cases := []struct {
		name, doc, code string
		header          http.Header
	}{
		{name: "not XML", doc: "<LifecycleConfiguration><Rule>", code: "MalformedXML"},
		{name: "empty body", doc: "", code: "MalformedXML"},
		{name: "wrong root", doc: "<Lifecycle><Rule><ID>a</ID></Rule></Lifecycle>", code: "MalformedXML"},
		{name: "unknown element", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Colour>red</Colour>` + glacierIn1 + `</Rule>`), code: "MalformedXML"},
		{name: "no status", doc: rule(`<Rule><ID>a</ID><Filter/>` + glacierIn1 + `</Rule>`), code: "MalformedXML"},
		{name: "bad status", doc: rule(`<Rule><ID>a</ID><Filter/><Status>On</Status>` + glacierIn1 + `</Rule>`), code: "MalformedXML"},
		{name: "unknown storage class", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>COLD</StorageClass></Transition></Rule>`), code: "MalformedXML"},
		{name: "days not a number", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Transition><Days>one</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`), code: "MalformedXML"},
		{name: "neither filter nor prefix", doc: rule(`<Rule><ID>a</ID><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "MalformedXML"},
		{name: "two predicates without And", doc: rule(`<Rule><ID>a</ID><Filter><Prefix>x/</Prefix><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "MalformedXML"},
		{name: "negative transition days", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Transition><Days>-1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`), code: "InvalidArgument"},
		{name: "expiration after 0 days", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>`), code: "InvalidArgument"},
		{name: "expiration before transition", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status>` + glacierIn1 + `<Expiration><Days>1</Days></Expiration></Rule>`), code: "InvalidArgument"},
		{name: "STANDARD_IA before 30 days", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Transition><Days>10</Days><StorageClass>STANDARD_IA</StorageClass></Transition></Rule>`), code: "InvalidArgument"},
		{name: "date not at midnight", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration></Rule>`), code: "InvalidArgument"},
		{name: "duplicate IDs", doc: rule(`<Rule><ID>a</ID><Filter><Prefix>x/</Prefix></Filter><Status>Enabled</Status>` + glacierIn1 + `</Rule><Rule><ID>a</ID><Filter><Prefix>y/</Prefix></Filter><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "InvalidArgument"},
		{name: "ID too long", doc: rule(`<Rule><ID>` + strings.Repeat("x", 256) + `</ID><Filter/><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "InvalidArgument"},
		{name: "no action", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status></Rule>`), code: "InvalidRequest"},
		{name: "abort without days", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload/></Rule>`), code: "MalformedXML"},
		{name: "abort after 0 days", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), code: "InvalidArgument"},
		{name: "abort with a size filter", doc: rule(`<Rule><ID>a</ID><Filter><And><Prefix>x/</Prefix><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), code: "InvalidRequest"},
		{name: "abort with a tag filter", doc: rule(`<Rule><ID>a</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`), code: "InvalidRequest"},
		{name: "no rules", doc: rule(``), code: "InvalidRequest"},
		{name: "1001 rules", doc: rule(many.String()), code: "InvalidRequest"},
		{name: "same class twice", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status>` + glacierIn1 + `<Transition><Days>5</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`), code: "InvalidRequest"},
		{name: "size range upside down", doc: rule(`<Rule><ID>a</ID><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "InvalidRequest"},
		{name: "rule-level prefix in a Filter configuration", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status>` + glacierIn1 + `</Rule><Rule><ID>b</ID><Prefix>x/</Prefix><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "InvalidRequest"},
		{name: "Filter rule after a rule-level prefix", doc: rule(`<Rule><ID>a</ID><Prefix>x/</Prefix><Status>Enabled</Status>` + glacierIn1 + `</Rule><Rule><ID>b</ID><Filter><Prefix>y/</Prefix></Filter><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "InvalidRequest"},
		{name: "overlapping legacy prefixes", doc: rule(`<Rule><ID>a</ID><Prefix>x/</Prefix><Status>Enabled</Status>` + glacierIn1 + `</Rule><Rule><ID>b</ID><Prefix>x/y/</Prefix><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "InvalidRequest"},
		{name: "unknown default minimum size", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "InvalidRequest",
			header: http.Header{"X-Amz-Transition-Default-Minimum-Object-Size": {"tiny"}}},
		{name: "wrong Content-MD5", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "BadDigest",
			header: http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(make([]byte, 16))}}},
		{name: "wrong CRC32", doc: rule(`<Rule><ID>a</ID><Filter/><Status>Enabled</Status>` + glacierIn1 + `</Rule>`), code: "BadDigest",
			header: http.Header{"X-Amz-Checksum-Crc32": {"AAAAAA=="}}},
	}
	for _, c := range cases {
		if c.header.Get("Content-Md5") == "" && c.header.Get("X-Amz-Checksum-Crc32") == "" {
			h := withMD5(c.doc)
			for k, v := range c.header {
				h[k] = v
			}
			c.header = h
		}
		resp, body := b.raw(t, http.MethodPut, "/"+b.bucket+"?lifecycle", []byte(c.doc), c.header)
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("<Code>"+c.code+"</Code>")) {
			t.Errorf("%s: %d %s; want 400 %s", c.name, resp.StatusCode, body, c.code)
		}
	}
	_, err := b.c.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.bucket})
	wantError(t, "GET after refused PUTs", err, http.StatusNotFound, "NoSuchLifecycleConfiguration")

	// At the limits: 1,000 rules, with a matching Content-MD5.
	doc := []byte(rule(strings.Join(strings.SplitAfter(many.String(), "</Rule>")[:1000], "")))
	sum := md5.Sum(doc)
	resp, body := b.raw(t, http.MethodPut, "/"+b.bucket+"?lifecycle", doc,
		http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT of 1000 rules: %d %s", resp.StatusCode, body)
	}
	got, err := b.c.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.bucket})
	if err != nil || len(got.Rules) != 1000 {
		t.Fatalf("GET after 1000 rules: %v, %d rules", err, len(got.Rules))
	}
}

// withMD5 is a Content-MD5 header for doc: S3 requires it (or a checksum)
// on PutBucketLifecycleConfiguration.
func withMD5(doc string) http.Header {
	sum := md5.Sum([]byte(doc))
	return http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}}
}

// TestLifecycleNeedsDigest: a PUT lifecycle without Content-MD5 or an
// x-amz-checksum-* is refused, as S3 refuses it.
func TestLifecycleNeedsDigest(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	doc := `<LifecycleConfiguration><Rule><ID>a</ID><Filter/><Status>Enabled</Status>` +
		`<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`
	resp, body := b.raw(t, http.MethodPut, "/"+b.bucket+"?lifecycle", []byte(doc), nil)
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("<Code>InvalidRequest</Code>")) ||
		!bytes.Contains(body, []byte("Missing required header for this request: Content-Md5")) {
		t.Errorf("PUT without a digest: %d %s; want 400 InvalidRequest", resp.StatusCode, body)
	}
	crc := crc32.ChecksumIEEE([]byte(doc))
	h := http.Header{"X-Amz-Checksum-Crc32": {base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc))}}
	if resp, body := b.raw(t, http.MethodPut, "/"+b.bucket+"?lifecycle", []byte(doc), h); resp.StatusCode != http.StatusOK {
		t.Errorf("PUT with a CRC32 checksum: %d %s", resp.StatusCode, body)
	}
}

// TestLifecyclePropagation: with LifecyclePropagation, a new configuration
// (or its deletion) is seen by GET and sweeps only once it has propagated;
// until then the one before is.
func TestLifecyclePropagation(t *testing.T) {
	t.Parallel()
	const propagation = 10 * time.Minute
	b := setup(t, glacier.Config{DayLength: time.Hour, LifecyclePropagation: propagation})
	ctx := t.Context()
	get := func() (string, error) {
		out, err := b.c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.bucket})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Rules[0].ID), nil
	}
	rule := func(id string) types.LifecycleRule {
		return types.LifecycleRule{ID: aws.String(id), Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}}
	}
	start := time.Now()
	b.putLifecycle(t, rule("first"))
	_, err := get()
	wantError(t, "GET right after the first PUT", err, http.StatusNotFound, "NoSuchLifecycleConfiguration")
	b.clock.Set(start.Add(propagation + time.Second))
	if id, err := get(); id != "first" {
		t.Errorf("GET once propagated: %q, %v; want the first rule", id, err)
	}
	b.putLifecycle(t, rule("second"))
	if id, err := get(); id != "first" {
		t.Errorf("GET right after the second PUT: %q, %v; want the first rule still", id, err)
	}
	b.clock.Set(start.Add(2*propagation + 2*time.Second))
	if id, err := get(); id != "second" {
		t.Errorf("GET once the second propagated: %q, %v", id, err)
	}
	if _, err := b.c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: &b.bucket}); err != nil {
		t.Fatal(err)
	}
	if id, err := get(); id != "second" {
		t.Errorf("GET right after DELETE: %q, %v; want the second rule still", id, err)
	}
	b.clock.Set(start.Add(3*propagation + 3*time.Second))
	_, err = get()
	wantError(t, "GET once the DELETE propagated", err, http.StatusNotFound, "NoSuchLifecycleConfiguration")
}
