package s3test_test

import (
	"net/http"
	"reflect"
	"testing"

	"trashd/s3ops/s3test"
)

// TestWireListsWhatWentOut: the requests written on the connections, bodies
// and all, in order.
func TestWireListsWhatWentOut(t *testing.T) {
	t.Parallel()
	plain := s3test.NewClient(t, s3test.Options(t))
	bucket := s3test.NewBucket(t, plain.S3(), "wire")
	wire := new(s3test.Wire)
	tr := &http.Transport{DialContext: wire.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	o := s3test.Options(t)
	o.HTTPClient = &http.Client{Transport: tr}
	c := s3test.NewClient(t, o)
	s3test.PutObject(t, c.S3(), bucket, "a b.txt", s3test.RandomBytes(70000))
	if _, err := c.Head(t.Context(), bucket, "a b.txt"); err != nil {
		t.Fatal(err)
	}
	want := []string{"PutObject " + bucket + "/a b.txt", "HeadObject " + bucket + "/a b.txt"}
	if got := wire.Requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("Requests() = %q, want %q", got, want)
	}
}

// TestDeleteResultRoundTrip: what Body writes, ParseDeleteResult reads back,
// CR and all.
func TestDeleteResultRoundTrip(t *testing.T) {
	t.Parallel()
	want := s3test.DeleteResult{
		Deleted: []s3test.DeleteEntry{{Key: "a\rb"}, {Key: "v", VersionID: "3"}},
		Errors:  []s3test.DeleteEntry{s3test.AWSPreconditionFailed("a\nb & <c>")},
	}
	got, err := s3test.ParseDeleteResult(want.Body())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed %+v, want %+v", got, want)
	}
}
