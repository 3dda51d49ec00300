package s3ops_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

func conditional(o *s3ops.Options) { o.ConditionalDelete = true }

// TestDeleteConditional pins SeaweedFS's If-Match on DeleteObject: 412 when
// the ETag no longer matches (the object stays), a delete when it does,
// and 412 (AWS: 404) when there is no object left to match.
func TestDeleteConditional(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	old := b.put(t, "a.txt", []byte("as copied"))
	current := b.put(t, "a.txt", []byte("overwritten since"))

	if err := b.client.Delete(t.Context(), old); !errors.Is(err, reconcile.ErrPreconditionFailed) {
		t.Fatalf("Delete with a stale ETag: %v, want ErrPreconditionFailed", err)
	}
	if got := b.head(t, b.src, "a.txt"); got.ETag != current.ETag {
		t.Fatalf("after a refused delete the object has ETag %s, want %s", got.ETag, current.ETag)
	}
	if err := b.client.Delete(t.Context(), current); err != nil {
		t.Fatalf("Delete with the current ETag: %v", err)
	}
	if _, err := b.client.Head(t.Context(), b.src, "a.txt"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("object still there after Delete: %v", err)
	}
	if err := b.client.Delete(t.Context(), current); !errors.Is(err, reconcile.ErrPreconditionFailed) {
		t.Errorf("conditional Delete of a missing object: %v, want ErrPreconditionFailed (SeaweedFS answers 412)", err)
	}
}

func TestDeleteUnconditional(t *testing.T) {
	t.Parallel()
	b := setup(t)
	old := b.put(t, "a.txt", []byte("as copied"))
	b.put(t, "a.txt", []byte("overwritten since"))
	// Without ConditionalDelete the ETag is not checked.
	if err := b.client.Delete(t.Context(), old); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.client.Head(t.Context(), b.src, "a.txt"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("object still there after Delete: %v", err)
	}
	// As in S3, deleting what is not there succeeds.
	if err := b.client.Delete(t.Context(), old); err != nil {
		t.Errorf("Delete of a missing object: %v, want nil", err)
	}
}

// TestDeleteVersion: on a versioned bucket Delete removes exactly the
// recorded version, adds no delete marker, and sends no If-Match (which AWS
// would check against the current version, not the one named).
func TestDeleteVersion(t *testing.T) {
	t.Parallel()
	ft, ifMatch := watchIfMatch(nil)
	b := setup(t, conditional, counting(ft))
	s3test.EnableVersioning(t, b.s3, b.src)
	v1 := b.put(t, "doc.txt", []byte("first"))
	v2 := b.put(t, "doc.txt", []byte("second"))
	if v1.VersionID == "" || v1.VersionID == v2.VersionID {
		t.Fatalf("versions %q and %q: want two distinct version IDs", v1.VersionID, v2.VersionID)
	}

	// The newer version goes; the older becomes current, untouched.
	if err := b.client.Delete(t.Context(), v2); err != nil {
		t.Fatalf("Delete(v2): %v", err)
	}
	assertVersions(t, b, "doc.txt", []string{v1.VersionID})
	if got := b.head(t, b.src, "doc.txt"); got != v1 {
		t.Errorf("current version after Delete(v2):\n got %+v\nwant %+v", got, v1)
	}
	if got := string(s3test.Get(t, b.s3, b.src, "doc.txt")); got != "first" {
		t.Errorf("current version holds %q, want %q", got, "first")
	}

	// Deleting it again is what the runner does after a crash: it
	// succeeds, and is not taken for a change of the source.
	if err := b.client.Delete(t.Context(), v2); err != nil {
		t.Fatalf("Delete(v2) again: %v, want nil (the version is gone)", err)
	}
	assertVersions(t, b, "doc.txt", []string{v1.VersionID})

	// Stale ETag or not, a version is deleted by its ID alone.
	v1Stale := v1
	v1Stale.ETag = v2.ETag
	if err := b.client.Delete(t.Context(), v1Stale); err != nil {
		t.Fatalf("Delete(v1): %v", err)
	}
	assertVersions(t, b, "doc.txt", nil)
	if n := ifMatch.Load(); n != 0 {
		t.Errorf("%d versioned deletes sent If-Match, want none", n)
	}
}

// watchIfMatch returns a FaultTransport that applies rule (nil: none) and
// counts the DeleteObject requests that carry If-Match.
func watchIfMatch(rule s3test.Rule) (*s3test.FaultTransport, *atomic.Int64) {
	n := new(atomic.Int64)
	return s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) == "DeleteObject" && r.Header.Get("If-Match") != "" {
			n.Add(1)
		}
		if rule == nil {
			return s3test.Fault{}
		}
		return rule(r)
	}), n
}

// TestDeleteVersionResponseLost: the server deletes the version but the
// response never reaches the client, so the SDK sends the delete again. The
// older version is current by then; the retry must neither fail as if the
// source had changed nor touch that older version.
func TestDeleteVersionResponseLost(t *testing.T) {
	t.Parallel()
	ft, ifMatch := watchIfMatch(s3test.When(s3test.Once(s3test.Match("DeleteObject", "doc.txt")),
		s3test.Fault{LoseResponse: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}))
	b := setup(t, conditional, counting(ft))
	s3test.EnableVersioning(t, b.s3, b.src)
	v1 := b.put(t, "doc.txt", []byte("older, kept"))
	v2 := b.put(t, "doc.txt", []byte("trashed"))

	// The SDK does not retry a delete (a retry would go out without a fresh
	// fence): the lost response is an error, and the caller's own retry
	// finds the version gone.
	if err := b.client.Delete(t.Context(), v2); !errors.Is(err, reconcile.ErrTransient) {
		t.Fatalf("Delete whose response was lost: %v, want a transient error", err)
	}
	if n := countOps(ft, "DeleteObject"); n != 1 {
		t.Errorf("%d DeleteObject requests, want 1: the SDK must not retry a delete: %v", n, ft.Requests())
	}
	err := b.client.Delete(t.Context(), v2)
	if errors.Is(err, reconcile.ErrPreconditionFailed) {
		t.Fatalf("Delete after a lost response: %v: taken for a change of the source", err)
	}
	if err != nil && !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("Delete after a lost response: %v, want nil or ErrNotFound", err)
	}
	if n := ifMatch.Load(); n != 0 {
		t.Errorf("%d versioned deletes sent If-Match, want none", n)
	}
	assertVersions(t, b, "doc.txt", []string{v1.VersionID})
	if got := b.head(t, b.src, "doc.txt"); got != v1 {
		t.Errorf("current version after the delete:\n got %+v\nwant %+v", got, v1)
	}
	if _, err := b.client.HeadVersion(t.Context(), b.src, "doc.txt", v2.VersionID); !errors.Is(err, reconcile.ErrNotFound) {
		t.Errorf("HeadVersion of the deleted version: %v, want ErrNotFound", err)
	}
}

func assertVersions(t *testing.T, b *testBundle, key string, want []string) {
	t.Helper()
	out, err := b.s3.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: &b.src, Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range out.Versions {
		got = append(got, aws.ToString(v.VersionId))
	}
	if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) || len(out.DeleteMarkers) != 0 {
		t.Errorf("versions %v and %d delete markers, want %v and none", got, len(out.DeleteMarkers), want)
	}
}

// TestDeleteWithoutConditionalSupport: a server that refuses If-Match on
// DeleteObject with 501 NotImplemented gets the delete without it.
func TestDeleteWithoutConditionalSupport(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) == "DeleteObject" && r.Header.Get("If-Match") != "" {
			return s3test.Fault{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "A header you provided implies functionality that is not implemented"}
		}
		return s3test.Fault{}
	})
	b := setup(t, conditional, counting(ft))
	obj := b.put(t, "a.txt", []byte("a"))
	// Unversioned: no delete without the condition, and a message that says
	// what to choose.
	err := b.client.Delete(t.Context(), obj)
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), "TRASHD_S3_DELETE_AFTER_HEAD") {
		t.Fatalf("Delete = %v, want a permanent error naming TRASHD_S3_DELETE_AFTER_HEAD", err)
	}
	if _, err := b.client.Head(t.Context(), b.src, "a.txt"); err != nil {
		t.Fatalf("object gone after a refused delete: %v", err)
	}
	if n := countOps(ft, "DeleteObject"); n != 1 {
		t.Errorf("%d DeleteObject requests, want 1: %v", n, ft.Requests())
	}
}
