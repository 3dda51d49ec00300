package s3ops_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// agents counts a client's requests as they leave it, by operation and by
// whether they went direct (the User-Agent ends in " trashd/direct"), and
// lets a test answer direct requests itself instead of the server.
type agents struct {
	mu          sync.Mutex
	direct, sdk map[string]int
	sent        []*http.Request              // each request's method, URL and headers, as sent
	fault       func(op string) s3test.Fault // for direct requests; nil passes them
}

// newAgents returns an agents and a FaultTransport over the real server
// that reports to it.
func newAgents() (*agents, *s3test.FaultTransport) {
	a := &agents{direct: map[string]int{}, sdk: map[string]int{}}
	return a, s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		op := s3test.Operation(r)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.sent = append(a.sent, &http.Request{Method: r.Method, URL: r.URL, Host: r.Host, Header: r.Header.Clone()})
		if !s3test.IsDirect(r) {
			a.sdk[op]++
			return s3test.Fault{}
		}
		a.direct[op]++
		if a.fault == nil {
			return s3test.Fault{}
		}
		return a.fault(op)
	})
}

// counts returns how many op requests went direct and through the SDK.
func (a *agents) counts(op string) (direct, sdk int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.direct[op], a.sdk[op]
}

// first is the first request a sent.
func (a *agents) first() *http.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sent) == 0 {
		return nil
	}
	return a.sent[0]
}

func (a *agents) answer(fault func(op string) s3test.Fault) {
	a.mu.Lock()
	a.fault = fault
	a.mu.Unlock()
}

// pair is a client that sends direct requests and one that sends none, to
// the same server, each with its requests counted.
type pair struct {
	direct, sdk *s3ops.Client
	da, sa      *agents
}

// tookDirect runs f, which makes one op call with p.direct, and fails the
// test unless that call was answered by one direct request alone.
func (p pair) tookDirect(t *testing.T, op string, f func()) {
	t.Helper()
	d0, s0 := p.da.counts(op)
	f()
	if d, s := p.da.counts(op); d != d0+1 || s != s0 {
		t.Errorf("%s: %d direct and %d SDK requests, want 1 and 0", op, d-d0, s-s0)
	}
}

// directAndSDK returns the pair of clients for srv, opts applied to both.
func directAndSDK(t *testing.T, srv s3test.Server, opts ...func(*s3ops.Options)) pair {
	t.Helper()
	client := func(noDirect bool) (*s3ops.Client, *agents) {
		a, ft := newAgents()
		o := s3test.OptionsFor(t, srv)
		o.HTTPClient = ft.Client()
		o.NoDirectRequests = noDirect
		for _, f := range opts {
			f(&o)
		}
		return s3test.NewClient(t, o), a
	}
	var p pair
	p.direct, p.da = client(false)
	p.sdk, p.sa = client(true)
	return p
}

// oddKeys are keys whose bytes a request must carry exactly, in its path
// and in x-amz-copy-source.
var oddKeys = []string{
	"plain.pdf",
	"with space and  two.pdf",
	"ünïcödé/日本語.pdf",
	"a+b=c&d.pdf",
	"100%25 and %.pdf",
	"what?versionId=1.pdf",
	"hash#frag.pdf",
	"/leading/slash.pdf",
	"double//slash.pdf",
	"quote'\"<>!*().pdf",
}

// TestDirectAnswersAsSDK: on each server, a direct HEAD and CopyObject give
// what the SDK's give, field for field, for plain and odd keys, versions,
// storage classes, checksums and metadata; a missing key, a copy whose
// source ETag no longer matches and a copy over an existing object (where
// the server refuses it) fail the same way; and the direct client's
// requests really went direct, while a client with NoDirectRequests sent
// none.
func TestDirectAnswersAsSDK(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		p := directAndSDK(t, srv)
		direct, sdk := p.direct, p.sdk
		seed := s3test.NewClientFor(t, srv).S3()
		bucket := s3test.NewBucket(t, seed, "s3ops-direct")
		ctx := t.Context()

		keys := slices.Clone(oddKeys)
		for i, key := range oddKeys {
			s3test.PutObject(t, seed, bucket, key, []byte("odd key "+key), func(in *s3.PutObjectInput) {
				in.ContentType = aws.String("application/pdf")
				in.Metadata = map[string]string{"lms-id": "42", "Mixed-Case": "yes"}
				if i%2 == 0 {
					in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
				}
			})
		}
		if srv.Has(s3test.FeatureStorageClass) {
			for _, class := range []types.StorageClass{types.StorageClassStandardIa, types.StorageClassGlacier} {
				key := "class/" + string(class) + ".pdf"
				s3test.PutObject(t, seed, bucket, key, []byte(class), func(in *s3.PutObjectInput) { in.StorageClass = class })
				keys = append(keys, key)
			}
		}
		if srv.Has(s3test.FeatureVersioning) {
			versioned := s3test.NewBucket(t, seed, "s3ops-direct-v")
			s3test.EnableVersioning(t, seed, versioned)
			first := s3test.PutObject(t, seed, versioned, "twice.pdf", []byte("first"))
			s3test.PutObject(t, seed, versioned, "twice.pdf", []byte("second, longer"))
			compareHead(t, p, versioned, "twice.pdf", "")
			compareHead(t, p, versioned, "twice.pdf", aws.ToString(first.VersionId))
			compareCopy(t, p, versioned, "twice.pdf", aws.ToString(first.VersionId))
		}
		for _, key := range keys {
			compareHead(t, p, bucket, key, "")
			compareCopy(t, p, bucket, key, "")
		}

		// Failures go to the SDK and are mapped as before.
		_, derr := direct.Head(ctx, bucket, "missing.pdf")
		_, serr := sdk.Head(ctx, bucket, "missing.pdf")
		sameFailure(t, "Head of a missing key", derr, serr, reconcile.ErrNotFound)
		src, err := sdk.Head(ctx, bucket, "plain.pdf")
		if err != nil {
			t.Fatalf("Head: %v", err)
		}
		if srv.Honours(reconcile.CondCopySourceIfMatch) {
			stale := src
			stale.ETag = "0123456789abcdef0123456789abcdef"
			_, derr = direct.CopyOnce(ctx, stale, bucket, "stale-d.pdf", reconcile.CopyOptions{})
			_, serr = sdk.CopyOnce(ctx, stale, bucket, "stale-s.pdf", reconcile.CopyOptions{})
			sameFailure(t, "CopyOnce of a changed source", derr, serr, reconcile.ErrPreconditionFailed)
		}
		if srv.Honours(reconcile.CondCopyIfNoneMatch) {
			_, derr = direct.CopyOnce(ctx, src, bucket, "a+b=c&d.pdf", reconcile.CopyOptions{NoOverwrite: true})
			_, serr = sdk.CopyOnce(ctx, src, bucket, "a+b=c&d.pdf", reconcile.CopyOptions{NoOverwrite: true})
			sameFailure(t, "CopyOnce over an existing object", derr, serr, reconcile.ErrPreconditionFailed)
		}

		for _, op := range []string{"HeadObject", "CopyObject"} {
			if n, _ := p.da.counts(op); n == 0 {
				t.Errorf("no %s went direct from the direct client", op)
			}
			if n, _ := p.sa.counts(op); n != 0 {
				t.Errorf("%d %s went direct from the client with NoDirectRequests", n, op)
			}
		}
		// The failures above, each sent again through the SDK, did not
		// turn the direct path off.
		before, _ := p.da.counts("HeadObject")
		if _, err := direct.Head(ctx, bucket, "plain.pdf"); err != nil {
			t.Fatalf("Head: %v", err)
		}
		if after, _ := p.da.counts("HeadObject"); after != before+1 {
			t.Errorf("a HEAD after the failures sent %d direct requests, want 1", after-before)
		}
	})
}

// compareHead HEADs bucket/key (version) with both clients, through the
// raw call and through Head, and fails the test where they differ.
func compareHead(t *testing.T, p pair, bucket, key, version string) {
	t.Helper()
	direct, sdk := p.direct, p.sdk
	in := func() *s3.HeadObjectInput {
		in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled}
		if version != "" {
			in.VersionId = aws.String(version)
		}
		return in
	}
	var (
		dout *s3.HeadObjectOutput
		derr error
	)
	p.tookDirect(t, "HeadObject", func() { dout, derr = s3ops.HeadObject(direct, t.Context(), in()) })
	sout, serr := s3ops.HeadObject(sdk, t.Context(), in())
	if derr != nil || serr != nil {
		t.Errorf("HeadObject %q %q: direct %v, SDK %v", key, version, derr, serr)
		return
	}
	dout.ResultMetadata, sout.ResultMetadata = middleware.Metadata{}, middleware.Metadata{}
	if !reflect.DeepEqual(dout, sout) {
		t.Errorf("HeadObject %q %q:\n direct %s\n SDK    %s", key, version, awsText(dout), awsText(sout))
	}
	dobj, derr := direct.HeadVersion(t.Context(), bucket, key, version)
	sobj, serr := sdk.HeadVersion(t.Context(), bucket, key, version)
	if derr != nil || serr != nil || !reflect.DeepEqual(dobj, sobj) {
		t.Errorf("HeadVersion %q %q: direct %+v, %v; SDK %+v, %v", key, version, dobj, derr, sobj, serr)
	}
}

// compareCopy copies bucket/key (version) to a key of each client's with
// both, conditional on the source's ETag, and fails the test where the
// answers, or the copies' HEADs, differ in more than what each copy has of
// its own (its version and time).
func compareCopy(t *testing.T, p pair, bucket, key, version string) {
	t.Helper()
	direct, sdk := p.direct, p.sdk
	src, err := sdk.HeadVersion(t.Context(), bucket, key, version)
	if err != nil {
		t.Fatalf("HeadVersion %q: %v", key, err)
	}
	in := func(dst string) *s3.CopyObjectInput {
		in := &s3.CopyObjectInput{
			Bucket:            aws.String(bucket),
			Key:               aws.String(dst),
			CopySource:        aws.String(s3ops.CopySourceOf(bucket, key, version)),
			CopySourceIfMatch: aws.String(`"` + src.ETag + `"`),
			MetadataDirective: types.MetadataDirectiveCopy,
			StorageClass:      types.StorageClassStandard,
		}
		if src.Checksum.Algorithm != "" {
			in.ChecksumAlgorithm = types.ChecksumAlgorithm(src.Checksum.Algorithm)
		}
		return in
	}
	dkey, skey := "copies/direct/"+key, "copies/sdk/"+key
	d0, s0 := p.da.counts("CopyObject")
	dout, derr := s3ops.CopyObject(direct, t.Context(), in(dkey))
	sout, serr := s3ops.CopyObject(sdk, t.Context(), in(skey))
	if d, s := p.da.counts("CopyObject"); d != d0+1 || (derr == nil && s != s0) {
		t.Errorf("CopyObject %q: %d direct and %d SDK requests, want 1 direct, and no SDK request for a success", key, d-d0, s-s0)
	}
	if derr != nil || serr != nil {
		// An archived source, or a key the server cannot copy
		// (versitygw reads a "?" in the decoded copy source as the
		// start of a query): both must fail alike.
		sameFailure(t, fmt.Sprintf("CopyObject %q", key), derr, serr, nil)
		return
	}
	for _, out := range []*s3.CopyObjectOutput{dout, sout} {
		out.ResultMetadata, out.VersionId = middleware.Metadata{}, nil
		if out.CopyObjectResult != nil {
			out.CopyObjectResult.LastModified = nil
		}
	}
	if !reflect.DeepEqual(dout, sout) {
		t.Errorf("CopyObject %q:\n direct %s\n SDK    %s", key, awsText(dout), awsText(sout))
	}
	dcopy, derr := sdk.Head(t.Context(), bucket, dkey)
	scopy, serr := sdk.Head(t.Context(), bucket, skey)
	if derr != nil || serr != nil {
		t.Fatalf("Head of the copies of %q: direct's %v, SDK's %v", key, derr, serr)
	}
	for _, c := range []*reconcile.Object{&dcopy, &scopy} {
		c.Key, c.VersionID, c.LastModified = "", "", time.Time{}
	}
	if !reflect.DeepEqual(dcopy, scopy) {
		t.Errorf("the copies of %q differ: direct's %+v, SDK's %+v", key, dcopy, scopy)
	}
}

// sameFailure fails the test unless derr and serr are both errors of the
// same class, and of want where it is set.
func sameFailure(t *testing.T, what string, derr, serr, want error) {
	t.Helper()
	if derr == nil || serr == nil || s3ops.ErrorClass(derr) != s3ops.ErrorClass(serr) || (want != nil && !errors.Is(derr, want)) {
		t.Errorf("%s: direct client %v, SDK client %v; want the same failure (%v)", what, derr, serr, want)
	}
}

// awsText writes an SDK output with its pointers followed.
func awsText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// TestDirectFallsBackToSDK: a direct request the server does not answer with
// a success (a 503, a broken connection, a CopyObject's 200 with an <Error>
// body) is made again through the SDK, whose answer is the call's; the
// direct path stays on. A 4xx where the SDK then succeeds turns it off for
// the client, with one warning. Observe hears of each operation once.
func TestDirectFallsBackToSDK(t *testing.T) {
	t.Parallel()
	var (
		logs     bytes.Buffer
		mu       sync.Mutex
		observed []string
	)
	p := directAndSDK(t, s3test.SeaweedFS(), func(o *s3ops.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.Observe = func(op string, err error, _ time.Duration) {
			mu.Lock()
			observed = append(observed, op+" "+s3ops.ErrorClass(err))
			mu.Unlock()
		}
	})
	direct, da := p.direct, p.da
	seed := s3test.NewClient(t, s3test.Options(t)).S3()
	bucket := s3test.NewBucket(t, seed, "s3ops-direct-fall")
	s3test.PutObject(t, seed, bucket, "a.pdf", []byte("fall back"))
	ctx := t.Context()

	// sent does f and returns how many HEADs and copies went direct and
	// through the SDK meanwhile, and what Observe heard.
	sent := func(f func()) (heads, copies [2]int, heard []string) {
		t.Helper()
		hd0, hs0 := da.counts("HeadObject")
		cd0, cs0 := da.counts("CopyObject")
		mu.Lock()
		n := len(observed)
		mu.Unlock()
		f()
		hd, hs := da.counts("HeadObject")
		cd, cs := da.counts("CopyObject")
		mu.Lock()
		defer mu.Unlock()
		return [2]int{hd - hd0, hs - hs0}, [2]int{cd - cd0, cs - cs0}, append([]string(nil), observed[n:]...)
	}
	head := func() reconcile.Object {
		t.Helper()
		obj, err := direct.Head(ctx, bucket, "a.pdf")
		if err != nil {
			t.Fatalf("Head: %v", err)
		}
		return obj
	}

	heads, _, heard := sent(func() { head() })
	if heads != [2]int{1, 0} || !reflect.DeepEqual(heard, []string{"HeadObject ok"}) {
		t.Fatalf("a plain HEAD: %v direct and SDK requests, Observe heard %q; want [1 0], one HeadObject ok", heads, heard)
	}
	obj := head()

	for _, tc := range []struct {
		name  string
		fault s3test.Fault
	}{
		{"503", s3test.Fault{Status: http.StatusServiceUnavailable, Code: "SlowDown"}},
		{"broken connection", s3test.Fault{Err: errors.New("connection reset by peer")}},
	} {
		da.answer(func(op string) s3test.Fault { return tc.fault })
		heads, _, heard := sent(func() { head() })
		if heads != [2]int{1, 1} || !reflect.DeepEqual(heard, []string{"HeadObject ok"}) {
			t.Errorf("HEAD answered %s when direct: %v direct and SDK requests, Observe heard %q; want [1 1], one HeadObject ok", tc.name, heads, heard)
		}
	}

	da.answer(func(op string) s3test.Fault {
		if op != "CopyObject" {
			return s3test.Fault{}
		}
		return s3test.Fault{Status: http.StatusOK, Body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>`}
	})
	_, copies, heard := sent(func() {
		rep, err := direct.CopyOnce(ctx, obj, bucket, "b.pdf", reconcile.CopyOptions{})
		if err != nil || rep.ETag != obj.ETag {
			t.Errorf("CopyOnce, its direct copy answered 200 <Error>: %+v, %v; want the copy, with the source's ETag", rep, err)
		}
	})
	if copies != [2]int{1, 1} || !reflect.DeepEqual(heard, []string{"CopyObject ok"}) {
		t.Errorf("a copy answered 200 <Error> when direct: %v direct and SDK requests, Observe heard %q; want [1 1], one CopyObject ok", copies, heard)
	}
	if strings.Contains(logs.String(), "turned off") {
		t.Errorf("the direct path was turned off by a server error: %s", logs.String())
	}

	// A 400 that the SDK's request does not get: the direct request is
	// wrong for this server.
	da.answer(func(string) s3test.Fault { return s3test.Fault{Status: http.StatusBadRequest, Code: "InvalidRequest"} })
	heads, _, _ = sent(func() { head() })
	if heads != [2]int{1, 1} {
		t.Errorf("HEAD answered 400 when direct: %v direct and SDK requests, want [1 1]", heads)
	}
	heads, copies, _ = sent(func() {
		head()
		if _, err := direct.CopyOnce(ctx, obj, bucket, "c.pdf", reconcile.CopyOptions{}); err != nil {
			t.Errorf("CopyOnce: %v", err)
		}
	})
	if heads != [2]int{0, 1} || copies != [2]int{0, 1} {
		t.Errorf("after a direct 400: HEAD %v and copy %v direct and SDK requests, want [0 1] each: the direct path is off", heads, copies)
	}
	if n := strings.Count(logs.String(), "direct requests turned off"); n != 1 || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("the client logged %d warnings that direct requests are off, want 1:\n%s", n, logs.String())
	}
}

// TestDirectNotForGuardedRequests: a request whose context carries a send
// guard or a send-by time goes through the SDK, where the guard is asked
// at the last moments before sending.
func TestDirectNotForGuardedRequests(t *testing.T) {
	t.Parallel()
	p := directAndSDK(t, s3test.SeaweedFS())
	direct, da := p.direct, p.da
	seed := s3test.NewClient(t, s3test.Options(t)).S3()
	bucket := s3test.NewBucket(t, seed, "s3ops-direct-guard")
	s3test.PutObject(t, seed, bucket, "a.pdf", []byte("guarded"))
	asked := 0
	for name, ctx := range map[string]context.Context{
		"send guard": reconcile.WithSendGuard(t.Context(), func() error { asked++; return nil }),
		"send by":    reconcile.WithSendBy(t.Context(), time.Now().Add(time.Minute)),
	} {
		d0, s0 := da.counts("HeadObject")
		if _, err := direct.Head(ctx, bucket, "a.pdf"); err != nil {
			t.Fatalf("Head with a %s: %v", name, err)
		}
		if d, s := da.counts("HeadObject"); d != d0 || s != s0+1 {
			t.Errorf("Head with a %s: %d direct and %d SDK requests, want 0 and 1", name, d-d0, s-s0)
		}
	}
	if asked == 0 {
		t.Error("the send guard was never asked")
	}
}

// TestDirectRequestsAsSDK: a direct HeadObject and CopyObject with every
// field the direct path sends set, for an odd key, go out as the SDK's do:
// the same method, host, escaped path and query, and the same headers with
// the same values, signed the same, but for those that are each request's
// own (date, signature, the SDK's invocation id and attempt count) and the
// User-Agent, which is the SDK's and " trashd/direct". Both path-style and
// virtual-hosted addressing; the virtual-hosted requests reach SeaweedFS
// through a dialer, since no name server knows its buckets' hosts.
func TestDirectRequestsAsSDK(t *testing.T) {
	t.Parallel()
	const key = "dir/odd key ü+%?#=&;'.pdf"
	srv := s3test.SeaweedFS()
	for _, pathStyle := range []bool{true, false} {
		name := map[bool]string{true: "path-style", false: "virtual-hosted"}[pathStyle]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, op := range []string{"HeadObject", "CopyObject"} {
				var clients [2]*s3ops.Client
				var seen [2]*agents
				for i, noDirect := range []bool{false, true} {
					a, ft := newAgents()
					o := s3test.OptionsFor(t, srv)
					o.PathStyle, o.NoDirectRequests, o.HTTPClient = pathStyle, noDirect, ft.Client()
					if !pathStyle {
						o.Endpoint = "http://s3.trashd.test:8333"
						ft.Base = toServer(t, srv)
					}
					clients[i], seen[i] = s3test.NewClient(t, o), a
				}
				for i, c := range clients {
					var err error
					switch op {
					case "HeadObject":
						_, err = s3ops.HeadObject(c, t.Context(), &s3.HeadObjectInput{
							Bucket: aws.String("trashd-no-such-bucket"), Key: aws.String(key),
							VersionId: aws.String("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"), PartNumber: aws.Int32(1),
							IfMatch: aws.String(`"abc"`), IfNoneMatch: aws.String(`"def"`), ChecksumMode: types.ChecksumModeEnabled,
						})
					case "CopyObject":
						_, err = s3ops.CopyObject(c, t.Context(), &s3.CopyObjectInput{
							Bucket: aws.String("trashd-no-such-bucket"), Key: aws.String(key),
							CopySource:            aws.String(s3ops.CopySourceOf("trashd-no-such-source", key, "v1+/=")),
							CopySourceIfMatch:     aws.String(`"abc"`),
							CopySourceIfNoneMatch: aws.String(`"xyz"`),
							IfMatch:               aws.String(`"def"`),
							IfNoneMatch:           aws.String("*"),
							StorageClass:          types.StorageClassStandardIa,
							ChecksumAlgorithm:     types.ChecksumAlgorithmCrc32c,
							MetadataDirective:     types.MetadataDirectiveCopy,
							TaggingDirective:      types.TaggingDirectiveCopy,
						})
					}
					if err == nil {
						t.Fatalf("%s to a bucket that does not exist, client %d: no error", op, i)
					}
				}
				d, s := seen[0].first(), seen[1].first()
				if d == nil || s == nil || !strings.HasSuffix(d.Header.Get("User-Agent"), " trashd/direct") {
					t.Fatalf("%s: the direct client's first request %v is not direct, or a client sent none", op, d)
				}
				if got, want := d.Header.Get("User-Agent"), s.Header.Get("User-Agent")+" trashd/direct"; got != want {
					t.Errorf("%s User-Agent = %q, want %q", op, got, want)
				}
				if host := cmp.Or(d.Host, d.URL.Host); !pathStyle && !strings.HasPrefix(host, "trashd-no-such-bucket.") {
					t.Errorf("%s went to %s, not to the bucket's virtual host", op, host)
				}
				if got, want := requestText(d), requestText(s); got != want {
					t.Errorf("%s, direct:\n%s\nSDK:\n%s", op, got, want)
				}
			}
		})
	}
}

// requestText writes what of r must be the same, whoever sent it.
func requestText(r *http.Request) string {
	own := map[string]bool{"Authorization": true, "X-Amz-Date": true, "User-Agent": true, "Amz-Sdk-Invocation-Id": true, "Amz-Sdk-Request": true}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s ? %s\n", r.Method, cmp.Or(r.Host, r.URL.Host), r.URL.EscapedPath(), r.URL.Query().Encode())
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		if !own[name] {
			fmt.Fprintf(&b, "%s: %q\n", name, r.Header[name])
		}
	}
	// The headers signed, without the SDK's own two.
	_, signed, _ := strings.Cut(r.Header.Get("Authorization"), "SignedHeaders=")
	signed, _, _ = strings.Cut(signed, ",")
	var names []string
	for n := range strings.SplitSeq(signed, ";") {
		if !strings.HasPrefix(n, "amz-sdk-") {
			names = append(names, n)
		}
	}
	fmt.Fprintf(&b, "signed: %s\n", strings.Join(names, ";"))
	return b.String()
}

// toServer is a transport that sends every request to srv, whatever host
// its URL names.
func toServer(t *testing.T, srv s3test.Server) http.RoundTripper {
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatalf("server endpoint %q: %v", srv.Endpoint, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, u.Host)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}
