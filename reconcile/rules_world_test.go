package reconcile_test

import (
	"bytes"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// faultWorld is a world whose client sends through a FaultTransport whose
// rule the test sets, and may change, once the world exists: a rule often
// needs the world, to write to S3 or the database at the moment a request
// is seen.
type faultWorld struct {
	*testworld.Env
	ft   *s3test.FaultTransport
	rule atomic.Pointer[s3test.Rule]
}

func newFaultWorld(t *testing.T, opts ...func(*s3ops.Options)) *faultWorld {
	t.Helper()
	return newFaultWorldOn(t, s3test.SeaweedFS(), opts...)
}

// newFaultWorldOn is newFaultWorld with the buckets on server.
func newFaultWorldOn(t *testing.T, server s3test.Server, opts ...func(*s3ops.Options)) *faultWorld {
	t.Helper()
	w := &faultWorld{}
	w.ft = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if rule := w.rule.Load(); rule != nil {
			return (*rule)(r)
		}
		return s3test.Fault{}
	})
	viaFaults := func(o *s3ops.Options) { o.HTTPClient = w.ft.Client() }
	w.Env = testworld.NewOn(t, server, append([]func(*s3ops.Options){viaFaults}, opts...)...)
	return w
}

// setRule replaces the rule; nil passes everything through.
func (w *faultWorld) setRule(rule s3test.Rule) {
	if rule == nil {
		w.rule.Store(nil)
		return
	}
	w.rule.Store(&rule)
}

// sent counts the requests of operation op on bucket/key that the client has
// sent so far, SDK retries included.
func (w *faultWorld) sent(op, bucket, key string) int {
	want := op + " " + bucket + "/" + key
	n := 0
	for _, r := range w.ft.Requests() {
		if r == want {
			n++
		}
	}
	return n
}

// deletes counts the deletes of bucket/key sent so far: DeleteObject
// requests, and DeleteObjects requests that name the key.
func (w *faultWorld) deletes(bucket, key string) int {
	return w.sent("DeleteObject", bucket, key) + w.sent("DeleteObjects", bucket, key)
}

// request matches requests of operation op on bucket/key.
func request(op, bucket, key string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		b, k := s3test.BucketKey(r)
		return s3test.Operation(r) == op && b == bucket && k == key
	}
}

var serviceUnavailable = s3test.Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "injected"}

// recordRow is what a test reads back of one record.
type recordRow struct {
	State       reconcile.State
	Attempts    int
	LastError   string
	Token       string
	Owner       string
	SourceETag  string
	TrashKey    string
	TrashETag   string
	RestoredKey string
	Requested   bool
}

func ruleRecord(t *testing.T, env *testworld.Env, lmsID int64) recordRow {
	t.Helper()
	var r recordRow
	var lastError, token, owner, etag, trashKey, trashETag, restoredKey sql.NullString
	testworld.Must(t, env.DB.QueryRow(`SELECT state, attempts, last_error, lease_token, lease_owner, source_etag,
		trash_key, trash_etag, restored_key, restore_requested_at IS NOT NULL FROM trash_objects WHERE lms_id = ?`, lmsID).
		Scan(&r.State, &r.Attempts, &lastError, &token, &owner, &etag, &trashKey, &trashETag, &restoredKey, &r.Requested))
	r.LastError, r.Token, r.Owner, r.SourceETag = lastError.String, token.String, owner.String, etag.String
	r.TrashKey, r.TrashETag, r.RestoredKey = trashKey.String, trashETag.String, restoredKey.String
	return r
}

// makeDue makes every record claimable now, its backoff over.
func makeDue(t *testing.T, env *testworld.Env) {
	t.Helper()
	_, err := env.DB.Exec("UPDATE trash_objects SET next_attempt_at = NOW(6)")
	testworld.Must(t, err)
}

// objectAt returns bucket/key's bytes, read past the test's faults, and
// whether there is an object at all.
func objectAt(t *testing.T, env *testworld.Env, bucket, key string) ([]byte, bool) {
	t.Helper()
	out, err := env.SDK.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() == http.StatusNotFound {
		return nil, false
	}
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	testworld.Must(t, err)
	return b, true
}

// wantObject fails t unless bucket/key holds exactly want.
func wantObject(t *testing.T, env *testworld.Env, bucket, key string, want []byte, what string) {
	t.Helper()
	got, ok := objectAt(t, env, bucket, key)
	switch {
	case !ok:
		t.Errorf("%s: s3://%s/%s is gone", what, bucket, key)
	case !bytes.Equal(got, want):
		t.Errorf("%s: s3://%s/%s holds %q, want %q", what, bucket, key, clipped(got), clipped(want))
	}
}

// wantNoObject fails t if bucket/key exists.
func wantNoObject(t *testing.T, env *testworld.Env, bucket, key string, what string) {
	t.Helper()
	if got, ok := objectAt(t, env, bucket, key); ok {
		t.Errorf("%s: s3://%s/%s still holds %q", what, bucket, key, clipped(got))
	}
}

func clipped(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// putBehind writes body at bucket/key behind trashd's back. It may be called from
// a fault rule, off the test's goroutine, so it reports with t.Error.
func putBehind(t *testing.T, env *testworld.Env, bucket, key string, body []byte) {
	_, err := env.SDK.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Errorf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// deleteBehind deletes bucket/key behind trashd's back; from a fault rule too.
func deleteBehind(t *testing.T, env *testworld.Env, bucket, key string) {
	_, err := env.SDK.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Errorf("delete s3://%s/%s: %v", bucket, key, err)
	}
}

// execBehind runs an UPDATE behind trashd's back; from a fault rule too.
func execBehind(t *testing.T, env *testworld.Env, query string, args ...any) {
	if _, err := env.DB.Exec(query, args...); err != nil {
		t.Errorf("%s: %v", query, err)
	}
}

// answerNoSuchKey turns the server's response into S3's 404 NoSuchKey, as
// AWS answers a conditional delete of a key that is gone.
func answerNoSuchKey(resp *http.Response) {
	resp.Body.Close()
	body := s3test.ErrorBody("NoSuchKey", "The specified key does not exist.")
	resp.StatusCode, resp.Status = http.StatusNotFound, "404 Not Found"
	resp.Body = io.NopCloser(strings.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Set("Content-Type", "application/xml")
}
