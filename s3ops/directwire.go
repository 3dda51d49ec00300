package s3ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyauth "github.com/aws/smithy-go/auth"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// emptyPayloadHash is the SHA-256 of no bytes: the SDK computes the payload
// hash of HeadObject and CopyObject, which have no body, whether or not the
// connection is TLS, and signs it in x-amz-content-sha256.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// maxCopyAnswer bounds the CopyObject answer read: a CopyObjectResult is a
// few hundred bytes (after the blanks S3 sends to keep a long copy's
// connection open).
const maxCopyAnswer = 1 << 20

// head sends in direct. Its status is the answer's HTTP status, 0 when
// there was none.
func (d *direct) head(ctx context.Context, in *s3.HeadObjectInput) (*s3.HeadObjectOutput, int, error) {
	params := d.params
	params.Bucket, params.Key = in.Bucket, in.Key
	h := make(http.Header, 8)
	if in.ChecksumMode != "" {
		h["X-Amz-Checksum-Mode"] = []string{string(in.ChecksumMode)}
	}
	if in.IfMatch != nil {
		h["If-Match"] = []string{*in.IfMatch}
	}
	if in.IfNoneMatch != nil {
		h["If-None-Match"] = []string{*in.IfNoneMatch}
	}
	q := url.Values{}
	if in.PartNumber != nil {
		q["partNumber"] = []string{strconv.FormatInt(int64(*in.PartNumber), 10)}
	}
	if in.VersionId != nil {
		q["versionId"] = []string{*in.VersionId}
	}
	resp, err := d.send(ctx, http.MethodHead, params, *in.Key, q.Encode(), h, d.headAgent)
	if err != nil {
		return nil, 0, err
	}
	defer drain(resp)
	if !succeeded(resp) {
		return nil, resp.StatusCode, errNotSuccess
	}
	out, err := headOutput(resp.Header)
	return out, resp.StatusCode, err
}

// copy sends in direct, as head does.
func (d *direct) copy(ctx context.Context, in *s3.CopyObjectInput) (*s3.CopyObjectOutput, int, error) {
	params := d.params
	params.Bucket, params.Key, params.CopySource = in.Bucket, in.Key, in.CopySource
	params.DisableS3ExpressSessionAuth = aws.Bool(true) // as the SDK binds it for CopyObject
	h := make(http.Header, 12)
	// The SDK sends the copy source as the caller wrote it (copySource
	// escapes it).
	h["X-Amz-Copy-Source"] = []string{*in.CopySource}
	set := func(name string, v *string) {
		if v != nil {
			h[name] = []string{*v}
		}
	}
	set("X-Amz-Copy-Source-If-Match", in.CopySourceIfMatch)
	set("X-Amz-Copy-Source-If-None-Match", in.CopySourceIfNoneMatch)
	set("If-Match", in.IfMatch)
	set("If-None-Match", in.IfNoneMatch)
	setEnum := func(name, v string) {
		if v != "" {
			h[name] = []string{v}
		}
	}
	setEnum("X-Amz-Checksum-Algorithm", string(in.ChecksumAlgorithm))
	setEnum("X-Amz-Metadata-Directive", string(in.MetadataDirective))
	setEnum("X-Amz-Storage-Class", string(in.StorageClass))
	setEnum("X-Amz-Tagging-Directive", string(in.TaggingDirective))
	resp, err := d.send(ctx, http.MethodPut, params, *in.Key, "x-id=CopyObject", h, d.copyAgent)
	if err != nil {
		return nil, 0, err
	}
	defer drain(resp)
	if !succeeded(resp) {
		return nil, resp.StatusCode, errNotSuccess
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCopyAnswer))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read the answer: %w", err)
	}
	out, err := copyOutput(resp.Header, body)
	return out, resp.StatusCode, err
}

// errNotSuccess is a direct request's answer other than a 2xx.
var errNotSuccess = errors.New("not a success")

// succeeded reports whether resp is a success to take: 2xx, and the answer
// to the request itself, not to one a redirect made.
func succeeded(resp *http.Response) bool {
	return resp.StatusCode >= 200 && resp.StatusCode < 300 && !isRedirected(resp)
}

// drain reads a little of what is left of resp's body and closes it, so
// that the connection can carry the next request.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// send builds the request for key with query and header at the endpoint
// the SDK's resolver names for params, signs it as the SDK would, and sends
// it over the SDK's HTTP client.
func (d *direct) send(ctx context.Context, method string, params s3.EndpointParameters, key, query string, header http.Header, agent string) (*http.Response, error) {
	ep, err := d.resolver.ResolveEndpoint(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("resolve the endpoint: %w", err)
	}
	name, region, ok := sigV4Scope(ep.Properties, d.region)
	if !ok {
		return nil, fmt.Errorf("%w: the endpoint is not signed with SigV4", errNotDirect)
	}
	creds, err := d.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if creds.AccessKeyID == "" {
		return nil, fmt.Errorf("%w: anonymous credentials", errNotDirect)
	}

	// As the SDK joins them: the endpoint's path (the bucket, path
	// style), then "/" and the key, escaped but for its slashes.
	rawBase := ep.URI.RawPath
	if rawBase == "" {
		rawBase = ep.URI.Path
	}
	u := &url.URL{
		Scheme:   ep.URI.Scheme,
		Host:     ep.URI.Host,
		Path:     smithyhttp.JoinPath(ep.URI.Path, "/"+key),
		RawPath:  smithyhttp.JoinPath(rawBase, "/"+httpbinding.EscapePath(key, false)),
		RawQuery: query,
	}
	for k := range ep.Headers {
		header.Set(k, ep.Headers.Get(k))
	}
	header["X-Amz-Content-Sha256"] = []string{emptyPayloadHash}
	header["Accept-Encoding"] = []string{"identity"}
	req := (&http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
	}).WithContext(ctx)
	if err := d.signer.SignHTTP(ctx, creds, req, emptyPayloadHash, name, region, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	// Not signed, as the SDK's is not.
	header["User-Agent"] = []string{agent}
	return d.http.Do(req)
}

// sigV4Scope is the signing name and region the endpoint's auth scheme
// asks for; false unless that scheme is plain SigV4 with the path signed
// as sent (S3 Express and multi-region access points sign otherwise).
func sigV4Scope(props smithy.Properties, region string) (name, signingRegion string, ok bool) {
	name, signingRegion = "s3", region
	opts, _ := smithyauth.GetAuthOptions(&props)
	if len(opts) == 0 {
		return name, signingRegion, true
	}
	// The endpoint rules name it "sigv4", the SDK's schemes
	// "aws.auth#sigv4".
	o := opts[0]
	if o.SchemeID != "sigv4" && o.SchemeID != smithyauth.SchemeIDSigV4 {
		return "", "", false
	}
	if v, ok := smithyhttp.GetSigV4SigningName(&o.SignerProperties); ok {
		name = v
	}
	if v, ok := smithyhttp.GetSigV4SigningRegion(&o.SignerProperties); ok {
		signingRegion = v
	}
	if v, ok := smithyhttp.GetDisableDoubleEncoding(&o.SignerProperties); ok && !v {
		return "", "", false
	}
	return name, signingRegion, true
}

// headDirectable reports whether the direct path sends every field set in
// in, as the SDK would.
func headDirectable(in *s3.HeadObjectInput) bool {
	if in == nil || !plainBucketKey(in.Bucket, in.Key) {
		return false
	}
	rest := *in
	rest.Bucket, rest.Key, rest.VersionId, rest.PartNumber = nil, nil, nil, nil
	rest.IfMatch, rest.IfNoneMatch, rest.ChecksumMode = nil, nil, ""
	return reflect.ValueOf(rest).IsZero()
}

// copyDirectable reports whether the direct path sends every field set in
// in, as the SDK would. SSE-C keys, metadata and tags to replace, object
// lock settings and the rest stay with the SDK.
func copyDirectable(in *s3.CopyObjectInput) bool {
	if in == nil || !plainBucketKey(in.Bucket, in.Key) || aws.ToString(in.CopySource) == "" {
		return false
	}
	rest := *in
	rest.Bucket, rest.Key, rest.CopySource = nil, nil, nil
	rest.CopySourceIfMatch, rest.CopySourceIfNoneMatch, rest.IfMatch, rest.IfNoneMatch = nil, nil, nil, nil
	rest.ChecksumAlgorithm, rest.MetadataDirective, rest.StorageClass, rest.TaggingDirective = "", "", "", ""
	return reflect.ValueOf(rest).IsZero()
}

// plainBucketKey reports whether bucket is a bucket's name (not an access
// point's ARN, which the SDK rewrites before the endpoint rules) and key is
// set.
func plainBucketKey(bucket, key *string) bool {
	b := aws.ToString(bucket)
	return b != "" && aws.ToString(key) != "" && !strings.HasPrefix(b, "arn:")
}

// errUserAgentRead stops the call sdkUserAgent makes.
var errUserAgentRead = errors.New("user agent read")

// sdkUserAgent returns the User-Agent header the SDK writes for the call
// that call makes with the option it is given, which stops the call once
// the header is written, before credentials, signing or sending. Only that
// stop is among the call's API options, so nothing else (Observe) sees it.
func sdkUserAgent(call func(func(*s3.Options)) error) string {
	var agent string
	read := middleware.BuildMiddlewareFunc("trashd.readUserAgent",
		func(_ context.Context, in middleware.BuildInput, _ middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if r, ok := in.Request.(*smithyhttp.Request); ok {
				agent = r.Header.Get("User-Agent")
			}
			return middleware.BuildOutput{}, middleware.Metadata{}, errUserAgentRead
		})
	err := call(func(o *s3.Options) {
		o.APIOptions = []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			return s.Build.Add(read, middleware.After)
		}}
	})
	if !errors.Is(err, errUserAgentRead) {
		return ""
	}
	return agent
}
