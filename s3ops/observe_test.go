package s3ops_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// observation is one call of Options.Observe.
type observation struct {
	op    string
	class string
	d     time.Duration
}

// observer records what a client reports through Options.Observe.
type observer struct {
	mu  sync.Mutex
	obs []observation
}

func (o *observer) observe(op string, err error, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, observation{op: op, class: s3ops.ErrorClass(err), d: d})
}

func (o *observer) set(opts *s3ops.Options) { opts.Observe = o.observe }

// take returns what was observed since the last take, as "Op class".
func (o *observer) take(t *testing.T) []string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	var got []string
	for _, ob := range o.obs {
		if ob.d <= 0 {
			t.Errorf("%s observed with duration %v, want > 0", ob.op, ob.d)
		}
		got = append(got, ob.op+" "+ob.class)
	}
	o.obs = nil
	return got
}

func TestObserveReportsEachOperation(t *testing.T) {
	t.Parallel()
	var o observer
	b := setup(t, o.set)
	src := b.put(t, "observe/a.txt", []byte("observed"))
	o.take(t) // the HEAD inside put

	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"head", func() error { _, err := b.client.Head(t.Context(), b.src, "observe/a.txt"); return err },
			[]string{"HeadObject ok"}},
		{"head of a missing key", func() error { _, err := b.client.Head(t.Context(), b.src, "observe/none"); return err },
			[]string{"HeadObject not_found"}},
		{"copy", func() error {
			return b.client.Copy(t.Context(), src, b.trash, "observe/a.txt", reconcile.CopyOptions{})
		},
			[]string{"CopyObject ok"}},
		{"copy of a changed source", func() error {
			stale := src
			stale.ETag = "0123456789abcdef0123456789abcdef"
			return b.client.Copy(t.Context(), stale, b.trash, "observe/b.txt", reconcile.CopyOptions{})
		}, []string{"CopyObject precondition_failed"}},
		{"bucket check", func() error { return b.client.CheckBucket(t.Context(), b.trash) },
			[]string{"HeadBucket ok"}},
		{"delete", func() error { return b.client.Delete(t.Context(), src) },
			[]string{"DeleteObject ok"}},
	}
	for _, s := range steps {
		err := s.do()
		got := o.take(t)
		if !slices.Equal(got, s.want) {
			t.Errorf("%s (err %v): observed %q, want %q", s.name, err, got, s.want)
		}
		// The client's error and the observed one fall into one class.
		if class := s3ops.ErrorClass(err); len(got) == 1 && !strings.HasSuffix(got[0], " "+class) {
			t.Errorf("%s: the client's error %v is class %s, the observed one is not", s.name, err, class)
		}
	}
}

// One observation is one API operation as the caller sees it: an attempt
// the SDK's retryer repeated is inside it, and only the final result counts.
func TestObserveIncludesRetries(t *testing.T) {
	t.Parallel()
	var o observer
	first := s3test.Once(s3test.Match("HeadObject", "observe/retried"))
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if first(r) {
			return s3test.Fault{Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: "Please reduce your request rate."}
		}
		return s3test.Fault{}
	})
	b := setup(t, o.set, func(opts *s3ops.Options) { opts.HTTPClient = ft.Client() })
	s3test.PutObject(t, b.s3, b.src, "observe/retried", []byte("x"))

	if _, err := b.client.Head(t.Context(), b.src, "observe/retried"); err != nil {
		t.Fatalf("Head after one 503: %v", err)
	}
	if got, want := o.take(t), []string{"HeadObject ok"}; !slices.Equal(got, want) {
		t.Errorf("observed %q, want %q", got, want)
	}
	var heads int
	for _, r := range ft.Requests() {
		if r == fmt.Sprintf("HeadObject %s/observe/retried", b.src) {
			heads++
		}
	}
	if heads != 2 {
		t.Errorf("%d HeadObject requests reached the transport, want 2 (one retried): %q", heads, ft.Requests())
	}
}

func TestObserveNilIsOff(t *testing.T) {
	t.Parallel()
	b := setup(t) // Observe nil: the client works and nothing is called
	if _, err := b.client.Head(t.Context(), b.src, "none"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("Head of a missing key: %v, want ErrNotFound", err)
	}
}

func TestErrorClass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{nil, s3ops.ClassOK},
		{context.Canceled, s3ops.ClassCanceled},
		{fmt.Errorf("head: %w", context.Canceled), s3ops.ClassCanceled},
		// Stopped unsent by its send guard: the caller's choice, as a
		// cancellation is, and not worth a retry.
		{fmt.Errorf("operation error S3: DeleteObject: %w", reconcile.ErrStale), s3ops.ClassCanceled},
		{context.DeadlineExceeded, s3ops.ClassTransient},
		{&smithy.GenericAPIError{Code: "NoSuchKey"}, s3ops.ClassNotFound},
		{&smithy.GenericAPIError{Code: "PreconditionFailed"}, s3ops.ClassPreconditionFailed},
		{&smithy.GenericAPIError{Code: "InvalidObjectState"}, s3ops.ClassArchived},
		{&smithy.GenericAPIError{Code: "SlowDown"}, s3ops.ClassTransient},
		{&smithy.GenericAPIError{Code: "AccessDenied"}, s3ops.ClassPermanent},
		{&smithy.GenericAPIError{Code: "NoSuchBucket"}, s3ops.ClassPermanent},
		// A client's error keeps the class of its sentinel.
		{fmt.Errorf("copy: %w: %w", reconcile.ErrPreconditionFailed, errors.New("412")), s3ops.ClassPreconditionFailed},
		{fmt.Errorf("check bucket: %w: %w", reconcile.ErrPermanent, &smithy.GenericAPIError{Code: "NotFound"}), s3ops.ClassPermanent},
		// Nothing said what went wrong: retried later, as mapError does.
		{errors.New("unexpected response"), s3ops.ClassTransient},
	}
	for _, tt := range tests {
		if got := s3ops.ErrorClass(tt.err); got != tt.want {
			t.Errorf("ErrorClass(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
