package s3ops

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"trashd/reconcile"
)

// headError is a HEAD's error response: no body, so no code; only the
// status and the headers.
func headError(status int, date time.Time) error {
	h := http.Header{}
	h.Set("Date", date.UTC().Format(http.TimeFormat))
	return &smithy.OperationError{
		ServiceID: "S3", OperationName: "HeadObject",
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: h}},
			Err:      &smithy.GenericAPIError{Code: "Forbidden"},
		}},
	}
}

// Errors whose SDK message points at the wrong cause say the right one.
func TestMapErrorHints(t *testing.T) {
	head := objectCall("head", "lms", "a.pdf", "s3:GetObject")
	folder := copyCall(reconcile.Object{Bucket: "lms", Key: "course/7/"}, "lms-trash", "7/course/7/")
	for _, tc := range []struct {
		name     string
		c        call
		err      error
		sentinel error
		contains []string
		lacks    []string
	}{
		{"RequestTimeTooSkewed", head, generic(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."),
			reconcile.ErrPermanent, []string{"clock", "time synchronisation"}, []string{"IAM", "access denied"}},
		{"a HEAD's bare 403 from a skewed clock", head, headError(403, time.Now().Add(-2*time.Hour)),
			reconcile.ErrPermanent, []string{"clock", "about 2h0m0s off"}, []string{"IAM"}},
		{"a HEAD's bare 403 with the clock right", head, headError(403, time.Now()),
			reconcile.ErrPermanent, []string{"access denied", "IAM policy allows"}, []string{"clock"}},
		{"a copy of a key ending in /", folder, sdkError(404, &types.NoSuchKey{}),
			reconcile.ErrPermanent, []string{`key "course/7/" ends in "/"`, "folder"}, []string{"changed"}},
		{"a HEAD of a key ending in / that is not there", objectCall("head", "lms", "course/7/", "s3:GetObject"),
			&smithy.OperationError{ServiceID: "S3", OperationName: "HeadObject", Err: sdkError(404, &types.NotFound{}).(*smithy.OperationError).Err},
			reconcile.ErrNotFound, nil, []string{"folder"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mapError(tc.c, tc.err)
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("%v: want %v", err, tc.sentinel)
			}
			for _, w := range tc.contains {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: lacks %q", err, w)
				}
			}
			for _, w := range tc.lacks {
				if strings.Contains(err.Error(), w) {
					t.Errorf("%v: says %q", err, w)
				}
			}
		})
	}
}

// No credentials anywhere is permanent, and the message lists where the
// chain looked; it is not sent to the server at all.
func TestNoCredentials(t *testing.T) {
	c, err := New(t.Context(), Options{
		Region: "us-east-1", Endpoint: "http://127.0.0.1:1", PathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("failed to refresh cached credentials, no EC2 IMDS role found")
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckBucket(t.Context(), "lms")
	if !errors.Is(err, reconcile.ErrPermanent) || errors.Is(err, reconcile.ErrTransient) {
		t.Errorf("%v: want permanent", err)
	}
	for _, w := range []string{"no AWS credentials found", "AWS_ACCESS_KEY_ID", "~/.aws/credentials", "AWS_PROFILE", "instance metadata"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%v: lacks %q", err, w)
		}
	}
}
