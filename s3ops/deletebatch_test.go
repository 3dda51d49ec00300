package s3ops_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// faulty is a client with conditional deletes over a FaultTransport that
// applies rule.
func faulty(t *testing.T, rule s3test.Rule) (*s3ops.Client, *s3test.FaultTransport) {
	t.Helper()
	ft := s3test.NewFaultTransport(rule)
	o := s3test.Options(t)
	o.ConditionalDelete, o.HTTPClient = true, ft.Client()
	return s3test.NewClient(t, o), ft
}

// assertGone and assertKept check an object's real state on the server.
func (b *testBundle) assertGone(t *testing.T, key string) {
	t.Helper()
	if _, err := b.client.Head(t.Context(), b.src, key); !errors.Is(err, reconcile.ErrNotFound) {
		t.Errorf("%q: %v, want it deleted", key, err)
	}
}

func (b *testBundle) assertKept(t *testing.T, key, body string) {
	t.Helper()
	if got := string(s3test.Get(t, b.s3, b.src, key)); got != body {
		t.Errorf("%q holds %q, want %q", key, got, body)
	}
}

// crBatch puts two keys that differ only in CR against LF: "a\rb" as it was
// copied (its delete goes) and "a\nb" overwritten since (its delete is
// refused).
func crBatch(t *testing.T, b *testBundle) []reconcile.Object {
	t.Helper()
	cr := b.put(t, "a\rb", []byte("cr"))
	lf := b.put(t, "a\nb", []byte("lf as copied"))
	b.put(t, "a\nb", []byte("lf overwritten since"))
	return []reconcile.Object{cr, lf}
}

func assertCRBatch(t *testing.T, b *testBundle, errs []error) {
	t.Helper()
	if errs[0] != nil {
		t.Errorf("the CR key: %v, want it deleted", errs[0])
	}
	if !errors.Is(errs[1], reconcile.ErrPreconditionFailed) {
		t.Errorf("the LF key, overwritten since: %v, want ErrPreconditionFailed", errs[1])
	}
	b.assertGone(t, "a\rb")
	b.assertKept(t, "a\nb", "lf overwritten since")
}

// TestDeleteBatchKeysXMLCannotCarry: keys that XML would change on the way
// are deleted exactly, each answered for itself. SeaweedFS stores "a\rb",
// "a\nb" and "a\x01b" as they are and escapes CR in its answers, so both
// CR spellings in one batch come out as the server left them; "a\x01b",
// which the SDK's XML encoder would write as "a\uFFFDb", is deleted
// without touching a file that has that other name.
func TestDeleteBatchKeysXMLCannotCarry(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	objs := crBatch(t, b)
	ctl := b.put(t, "a\x01b", []byte("same bytes"))
	// Listing names it "a\uFFFDb", so the bucket's cleanup cannot.
	t.Cleanup(func() {
		_ = b.client.Delete(context.Background(), reconcile.Object{Bucket: b.src, Key: "a\x01b"})
	})
	s3test.PutObject(t, b.s3, b.src, "a\uFFFDb", []byte("same bytes")) // a live file, same ETag

	c, _ := faulty(t, nil)
	errs := c.DeleteBatch(t.Context(), b.src, append(objs, ctl))
	assertCRBatch(t, b, errs)
	if errs[2] != nil {
		t.Errorf("the key with a control character: %v, want it deleted", errs[2])
	}
	b.assertGone(t, "a\x01b")
	b.assertKept(t, "a\uFFFDb", "same bytes")
}

// TestDeleteBatchAnswerWithRawCR: a server that writes keys in its answer
// without escaping CR (an XML parser reads "a\rb" written so as "a\nb")
// cannot make one key's answer pass for the other's.
func TestDeleteBatchAnswerWithRawCR(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	objs := crBatch(t, b)
	c, _ := faulty(t, s3test.When(s3test.Match("DeleteObjects", ""), s3test.Fault{
		EditResponse: s3test.EditBody(func(body string) string { return strings.ReplaceAll(body, "&#xD;", "\r") }),
	}))
	assertCRBatch(t, b, c.DeleteBatch(t.Context(), b.src, objs))
}

// TestDeleteBatchSaysNothing: a 200 answer that says nothing of an object
// is no delete of it, whether its entry is missing or the body is empty.
func TestDeleteBatchSaysNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*http.Response)
		// othersDeleted: the answer says the other two were deleted.
		othersDeleted bool
	}{
		{"entry dropped", s3test.EditDeleteResult(t, func(r *s3test.DeleteResult) {
			var kept []s3test.DeleteEntry
			for _, d := range r.Deleted {
				if d.Key != "unsaid" {
					kept = append(kept, d)
				}
			}
			r.Deleted = kept
		}), true},
		{"empty body", s3test.Respond(http.StatusOK, ""), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, conditional)
			objs := []reconcile.Object{b.put(t, "one", []byte("1")), b.put(t, "unsaid", []byte("2")), b.put(t, "three", []byte("3"))}
			c, _ := faulty(t, s3test.When(s3test.Match("DeleteObjects", ""), s3test.Fault{EditResponse: tc.edit}))
			errs := c.DeleteBatch(t.Context(), b.src, objs)
			if errs[1] == nil || errors.Is(errs[1], reconcile.ErrNotFound) {
				t.Errorf("an object the answer says nothing of: %v, want an error other than ErrNotFound", errs[1])
			}
			if others := errs[0] == nil && errs[2] == nil; others != tc.othersDeleted {
				t.Errorf("the other two: %v and %v, want deleted (nil): %v", errs[0], errs[2], tc.othersDeleted)
			}
			for _, key := range []string{"one", "unsaid", "three"} {
				b.assertGone(t, key) // the server did delete them
			}
		})
	}
}

// TestDeleteBatchObjectErrors: each per-object error inside a 200
// DeleteObjects answer maps to its own sentinel, never to a delete. The
// fault layer answers in place of the server, which leaves every object
// where it is, as the answer says.
func TestDeleteBatchObjectErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	cases := []struct {
		key     string
		answers []s3test.DeleteEntry
		want    error
	}{
		{"denied", []s3test.DeleteEntry{{Code: "AccessDenied", Message: "Access Denied"}}, reconcile.ErrPermanent},
		{"internal", []s3test.DeleteEntry{{Code: "InternalError", Message: "We encountered an internal error. Please try again."}}, reconcile.ErrTransient},
		{"changed", []s3test.DeleteEntry{{Code: "PreconditionFailed", Message: s3test.AWSPreconditionFailedMessage}}, reconcile.ErrPreconditionFailed},
		{"no such key", []s3test.DeleteEntry{{Code: "NoSuchKey", Message: "The specified key does not exist."}}, reconcile.ErrNotFound},
		{"unknown code", []s3test.DeleteEntry{{Code: "SomethingNew", Message: "?"}}, reconcile.ErrTransient},
		// Deleted and refused in one answer: which is it?
		{"answered twice", []s3test.DeleteEntry{{}, {Code: "PreconditionFailed", Message: s3test.AWSPreconditionFailedMessage}}, reconcile.ErrTransient},
	}
	var objs []reconcile.Object
	var answer s3test.DeleteResult
	for _, c := range cases {
		objs = append(objs, b.put(t, c.key, []byte(c.key)))
		for _, a := range c.answers {
			a.Key = c.key
			if a.Code == "" {
				answer.Deleted = append(answer.Deleted, a)
			} else {
				answer.Errors = append(answer.Errors, a)
			}
		}
	}
	c, _ := faulty(t, s3test.When(s3test.Match("DeleteObjects", ""), s3test.Fault{Status: http.StatusOK, Body: answer.Body()}))
	errs := c.DeleteBatch(t.Context(), b.src, objs)
	for i, tc := range cases {
		if !errors.Is(errs[i], tc.want) {
			t.Errorf("%q: %v, want %v", tc.key, errs[i], tc.want)
		}
		b.assertKept(t, tc.key, tc.key)
	}
}

// TestDeleteBatchOtherBucket: an object of another bucket is refused, and
// the key it names is not deleted from the batch's bucket.
func TestDeleteBatchOtherBucket(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	// The same bytes, so that even the other object's ETag would match.
	s3test.PutObject(t, b.s3, b.trash, "same key", []byte("same bytes"))
	other, err := b.client.Head(t.Context(), b.trash, "same key")
	if err != nil {
		t.Fatal(err)
	}
	b.put(t, "same key", []byte("same bytes"))
	mine := b.put(t, "mine", []byte("1"))
	errs := b.client.DeleteBatch(t.Context(), b.src, []reconcile.Object{other, mine})
	if errs[0] == nil || errs[1] != nil {
		t.Errorf("DeleteBatch: %v, want an error for the other bucket's object and nil for the other", errs)
	}
	b.assertKept(t, "same key", "same bytes")
	b.assertGone(t, "mine")
}
