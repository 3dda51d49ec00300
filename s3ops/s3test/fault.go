package s3test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"trashd/reconcile"
)

// A Fault is what FaultTransport (or a held Proxy request) does with one
// request instead of, or before, passing it to the server. The zero Fault
// passes the request through untouched.
type Fault struct {
	// Release, when non-nil, holds the request until it is closed (or the
	// request's context ends); then the rest of the Fault applies.
	Release <-chan struct{}
	// Err fails the round trip with this error, as a broken connection
	// would; the request never reaches the server.
	Err error
	// Status answers with this HTTP status and an S3 error body with Code
	// (and Message) without reaching the server; with Body, with Body as
	// it is instead (a 200 DeleteObjects answer, an AWS error verbatim).
	Status  int
	Code    string
	Message string
	Body    string
	// LoseResponse passes the request to the server, throws its response
	// away and fails the round trip with this error: a connection that
	// broke after the server had applied the request, so that the SDK
	// retries a request that already took effect.
	LoseResponse error
	// EditResponse passes the request to the server and changes the
	// server's response before the client reads it (a header the server
	// would not send, say).
	EditResponse func(*http.Response)
}

// Rule decides the Fault for one request. It is called concurrently.
type Rule func(*http.Request) Fault

// FaultTransport is an http.RoundTripper that applies Rule to each request
// before it reaches the real server through Base. Put it under an
// s3ops.Client with Options.HTTPClient = ft.Client().
type FaultTransport struct {
	Base http.RoundTripper // nil: http.DefaultTransport
	Rule Rule              // nil: pass everything through

	mu       sync.Mutex
	requests []string
}

// NewFaultTransport returns a FaultTransport over http.DefaultTransport.
func NewFaultTransport(rule Rule) *FaultTransport {
	return &FaultTransport{Rule: rule}
}

// Client returns an *http.Client that sends through t.
func (t *FaultTransport) Client() *http.Client { return &http.Client{Transport: t} }

// Requests lists the requests seen so far, as Describe writes them.
func (t *FaultTransport) Requests() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.requests...)
}

// RoundTrip implements http.RoundTripper.
func (t *FaultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	if Operation(r) == "DeleteObjects" {
		// One entry per key named, so that a test counts the deletes of
		// a key whichever request carried them.
		bucket, _ := BucketKey(r)
		for _, o := range DeleteObjectsOf(r) {
			t.requests = append(t.requests, "DeleteObjects "+bucket+"/"+o.Key)
		}
	} else {
		t.requests = append(t.requests, Describe(r))
	}
	t.mu.Unlock()

	var f Fault
	if t.Rule != nil {
		f = t.Rule(r)
	}
	if f.Release != nil {
		select {
		case <-f.Release:
		case <-r.Context().Done():
			closeBody(r)
			return nil, r.Context().Err()
		}
	}
	switch {
	case f.Err != nil:
		closeBody(r)
		return nil, f.Err
	case f.Status != 0:
		closeBody(r)
		return errorResponse(r, f), nil
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	switch {
	case f.LoseResponse != nil:
		// Read the response to its end first: the server has finished
		// with the request, whatever it was, before the client hears
		// the connection break.
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, f.LoseResponse
	case f.EditResponse != nil:
		f.EditResponse(resp)
	}
	return resp, nil
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// errorResponse is the response S3 would send for f: f.Body or an XML error
// body, or none for HEAD.
func errorResponse(r *http.Request, f Fault) *http.Response {
	body := ""
	switch {
	case r.Method == http.MethodHead:
	case f.Body != "":
		body = f.Body
	default:
		body = ErrorBody(f.Code, f.Message)
	}
	h := make(http.Header)
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", "s3test-fault")
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status)),
		StatusCode:    f.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}
}

// ErrorBody is an S3 XML error document.
func ErrorBody(code, message string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><RequestId>s3test-fault</RequestId></Error>`,
		xmlEscape(code), xmlEscape(message))
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Operation names the S3 operation of a request to a path-style endpoint,
// from its method, query and headers: "HeadObject", "CopyObject",
// "UploadPartCopy", "DeleteObject", "DeleteObjects", "RestoreObject", ...
// ("" when it is none of those this package's tests and scripts/s3proxy
// look for).
func Operation(r *http.Request) string {
	q := r.URL.Query()
	bucket, key := BucketKey(r)
	copying := r.Header.Get("X-Amz-Copy-Source") != ""
	switch {
	case key == "" && r.Method == http.MethodHead:
		return "HeadBucket"
	case key == "" && r.Method == http.MethodPut && len(q) == 0:
		return "CreateBucket"
	case key == "" && r.Method == http.MethodDelete && len(q) == 0:
		return "DeleteBucket"
	case key == "" && r.Method == http.MethodPost && q.Has("delete"):
		return "DeleteObjects"
	case key == "" && r.Method == http.MethodGet && q.Has("lifecycle"):
		return "GetBucketLifecycleConfiguration"
	case key == "" && r.Method == http.MethodPut && q.Has("lifecycle"):
		return "PutBucketLifecycleConfiguration"
	case key == "" && q.Has("uploads"):
		return "ListMultipartUploads"
	case key == "" && q.Has("versions"):
		return "ListObjectVersions"
	case key == "" && r.Method == http.MethodGet:
		return "ListObjects"
	case bucket == "":
		return ""
	case r.Method == http.MethodHead:
		return "HeadObject"
	case r.Method == http.MethodGet && q.Has("tagging"):
		return "GetObjectTagging"
	case r.Method == http.MethodGet:
		return "GetObject"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodPost && q.Has("restore"):
		return "RestoreObject"
	case r.Method == http.MethodPut && q.Has("uploadId") && copying:
		return "UploadPartCopy"
	case r.Method == http.MethodPut && q.Has("uploadId"):
		return "UploadPart"
	case r.Method == http.MethodPut && q.Has("tagging"):
		return "PutObjectTagging"
	case r.Method == http.MethodPut && copying:
		return "CopyObject"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == http.MethodDelete:
		return "DeleteObject"
	}
	return ""
}

// BucketKey splits a path-style request's path into bucket and key.
func BucketKey(r *http.Request) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return bucket, key
}

// Describe writes a request as "Operation bucket/key" for logs and
// assertions.
func Describe(r *http.Request) string {
	bucket, key := BucketKey(r)
	op := Operation(r)
	if op == "" {
		op = r.Method
	}
	if key == "" {
		return op + " " + bucket
	}
	return op + " " + bucket + "/" + key
}

// Match returns a predicate for requests of operation op (as Operation
// names it) on key ("" for any key).
func Match(op, key string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		_, k := BucketKey(r)
		return Operation(r) == op && (key == "" || k == key)
	}
}

// Once returns a predicate that is true for the first request match
// accepts and false for every other one.
func Once(match func(*http.Request) bool) func(*http.Request) bool {
	var done atomic.Bool
	return func(r *http.Request) bool {
		return match(r) && done.CompareAndSwap(false, true)
	}
}

// Nth returns a predicate that is true for the nth request (counting from
// 1) that match accepts.
func Nth(n int64, match func(*http.Request) bool) func(*http.Request) bool {
	var seen atomic.Int64
	return func(r *http.Request) bool {
		return match(r) && seen.Add(1) == n
	}
}

// When returns a Rule that applies f to the requests match accepts and
// passes every other one through.
func When(match func(*http.Request) bool, f Fault) Rule {
	return func(r *http.Request) Fault {
		if match(r) {
			return f
		}
		return Fault{}
	}
}

// DeletedObject is one object named in a DeleteObjects request.
type DeletedObject struct {
	Key       string
	VersionID string `xml:"VersionId"`
	ETag      string
}

// DeleteObjectsOf lists the objects a DeleteObjects request names, reading
// its body and putting it back for the server.
func DeleteObjectsOf(r *http.Request) []DeletedObject {
	if r.Body == nil {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	var d struct {
		Objects []DeletedObject `xml:"Object"`
	}
	if err := xml.Unmarshal(body, &d); err != nil {
		return nil
	}
	return d.Objects
}

// Deletes returns a predicate for a delete of bucket/key: a DeleteObject
// of it, or a DeleteObjects request on bucket that names it.
func Deletes(bucket, key string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		b, k := BucketKey(r)
		switch Operation(r) {
		case "DeleteObject":
			return b == bucket && k == key
		case "DeleteObjects":
			if b != bucket {
				return false
			}
			for _, o := range DeleteObjectsOf(r) {
				if o.Key == key {
					return true
				}
			}
		}
		return false
	}
}

// IsDelete reports whether r deletes objects, a probe's aside: DeleteObject
// or DeleteObjects.
func IsDelete(r *http.Request) bool {
	op := Operation(r)
	return (op == "DeleteObject" || op == "DeleteObjects") && !IsProbe(r)
}

// IsProbe reports whether r is a request of a probe of the server's
// conditions: every key it names, or the copy source or listing prefix it
// names, is under reconcile.ProbePrefix.
func IsProbe(r *http.Request) bool {
	if Operation(r) == "DeleteObjects" {
		objs := DeleteObjectsOf(r)
		for _, o := range objs {
			if !strings.HasPrefix(o.Key, reconcile.ProbePrefix) {
				return false
			}
		}
		return len(objs) > 0
	}
	_, k := BucketKey(r)
	src, _ := url.PathUnescape(r.Header.Get("X-Amz-Copy-Source"))
	return strings.HasPrefix(k, reconcile.ProbePrefix) || strings.Contains(src, "/"+reconcile.ProbePrefix) ||
		strings.HasPrefix(r.URL.Query().Get("prefix"), strings.TrimSuffix(reconcile.ProbePrefix, "/"))
}

// IsDirect reports whether r is a HeadObject or CopyObject that an
// s3ops.Client sent itself rather than through the SDK (its User-Agent ends
// in " trashd/direct"). An answer other than a success makes the client send
// the same request again through the SDK: a test that counts what trashd
// asked counts the requests that are not direct.
func IsDirect(r *http.Request) bool {
	return strings.HasSuffix(r.Header.Get("User-Agent"), " trashd/direct")
}
