package s3ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"trashd/reconcile"
)

// sdkError builds err the way the SDK returns an error response: an
// OperationError around a ResponseError (with the HTTP status) around the
// API error.
func sdkError(status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: "CopyObject",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      apiErr,
			},
			RequestID: "test-request",
		},
	}
}

func generic(status int, code, message string) error {
	return sdkError(status, &smithy.GenericAPIError{Code: code, Message: message})
}

// sendError is a request that never got an answer.
func sendError(err error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "HeadObject", Err: &smithyhttp.RequestSendError{Err: err}}
}

func TestMapError(t *testing.T) {
	cl := copyCall(reconcile.Object{Bucket: "lms", Key: "a/b.pdf"}, "lms-trash", "trash/a/b.pdf")
	tests := []struct {
		name     string
		err      error
		sentinel error    // nil: no sentinel at all
		contains []string // in the message
	}{
		{"typed NoSuchKey", sdkError(404, &types.NoSuchKey{Message: new("The specified key does not exist.")}), reconcile.ErrNotFound, []string{"copy s3://lms/a/b.pdf to s3://lms-trash/trash/a/b.pdf", "not found"}},
		{"HEAD 404 without body", sdkError(404, &types.NotFound{}), reconcile.ErrNotFound, nil},
		{"generic NotFound", generic(404, "NotFound", ""), reconcile.ErrNotFound, nil},
		{"NoSuchVersion", generic(404, "NoSuchVersion", "The specified version does not exist."), reconcile.ErrNotFound, nil},
		{"NoSuchBucket names the buckets", sdkError(404, &types.NoSuchBucket{Message: new("The specified bucket does not exist")}), reconcile.ErrPermanent, []string{`bucket "lms" or "lms-trash" does not exist`, "create it"}},
		{"412 PreconditionFailed", generic(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"), reconcile.ErrPreconditionFailed, []string{"changed since it was read"}},
		{"412 without body", generic(412, "", ""), reconcile.ErrPreconditionFailed, nil},
		{"InvalidObjectState", generic(403, "InvalidObjectState", "The operation is not valid for the object's storage class"), reconcile.ErrArchived, []string{"archive storage class"}},
		{"ObjectNotInActiveTierError is archived, not access denied", sdkError(403, &types.ObjectNotInActiveTierError{Message: new("The source object of the COPY action is not in the active tier and is only stored in Amazon S3 Glacier.")}),
			reconcile.ErrArchived, []string{"restored first"}},
		{"ObjectAlreadyInActiveTierError is nothing to restore, not access denied", generic(403, "ObjectAlreadyInActiveTierError", "This action is not allowed against this storage tier."),
			reconcile.ErrPermanent, []string{"nothing to restore"}},
		{"500 InternalError", generic(500, "InternalError", "We encountered an internal error"), reconcile.ErrTransient, nil},
		{"503 SlowDown", generic(503, "SlowDown", "Please reduce your request rate."), reconcile.ErrTransient, nil},
		{"503 ServiceUnavailable", generic(503, "ServiceUnavailable", ""), reconcile.ErrTransient, nil},
		{"400 RequestTimeout", generic(400, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period."), reconcile.ErrTransient, nil},
		{"429", generic(429, "TooManyRequests", ""), reconcile.ErrTransient, nil},
		{"Throttling code", generic(400, "ThrottlingException", ""), reconcile.ErrTransient, nil},
		{"409 OperationAborted", generic(409, "OperationAborted", "A conflicting conditional operation is currently in progress"), reconcile.ErrTransient, nil},
		{"ExpiredToken", generic(400, "ExpiredToken", "The provided token has expired."), reconcile.ErrTransient, nil},
		{"NoSuchUpload", generic(404, "NoSuchUpload", "The specified multipart upload does not exist."), reconcile.ErrTransient, []string{"start over"}},
		{"retries exhausted", &retry.MaxAttemptsError{Attempt: 3, Err: generic(503, "SlowDown", "")}, reconcile.ErrTransient, nil},
		{"connection refused", sendError(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), reconcile.ErrTransient, nil},
		{"connection reset", sendError(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), reconcile.ErrTransient, nil},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), reconcile.ErrTransient, nil},
		{"operation deadline", sendError(context.DeadlineExceeded), reconcile.ErrTransient, nil},
		{"AccessDenied names the permissions", generic(403, "AccessDenied", "Access Denied"), reconcile.ErrPermanent, []string{"access denied: the IAM policy must allow s3:GetObject", "arn:aws:s3:::lms/*", "s3:PutObject", "arn:aws:s3:::lms-trash/*"}},
		{"HEAD 403 without body", generic(403, "Forbidden", ""), reconcile.ErrPermanent, []string{"access denied: check the AWS credentials", "s3:GetObject"}},
		{"InvalidAccessKeyId", generic(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."), reconcile.ErrPermanent, []string{"check the AWS credentials"}},
		{"SignatureDoesNotMatch", generic(403, "SignatureDoesNotMatch", ""), reconcile.ErrPermanent, []string{"secret key", "check the AWS credentials"}},
		{"KeyTooLongError", generic(400, "KeyTooLongError", "Your key is too long"), reconcile.ErrPermanent, []string{"key is longer"}},
		{"InvalidArgument", generic(400, "InvalidArgument", "Copy Source must mention the source bucket and key"), reconcile.ErrPermanent, []string{"HTTP 400 InvalidArgument", "Copy Source must mention"}},
		{"InvalidRequest", generic(400, "InvalidRequest", "Invalid Request"), reconcile.ErrPermanent, []string{"HTTP 400 InvalidRequest"}},
		{"other 4xx", generic(405, "MethodNotAllowed", ""), reconcile.ErrPermanent, []string{"HTTP 405"}},
		{"invalid params", &smithy.OperationError{ServiceID: "S3", OperationName: "CopyObject", Err: smithy.InvalidParamsError{Context: "CopyObjectInput"}}, reconcile.ErrPermanent, nil},
		{"caller cancelled", sendError(context.Canceled), nil, []string{"copy s3://lms/a/b.pdf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapError(cl, tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("the original error is not reachable: %v", got)
			}
			for _, s := range []error{reconcile.ErrNotFound, reconcile.ErrPreconditionFailed, reconcile.ErrArchived, reconcile.ErrTransient, reconcile.ErrPermanent} {
				if is, want := errors.Is(got, s), s == tt.sentinel; is != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", got, s, is, want)
				}
			}
			for _, s := range tt.contains {
				if !strings.Contains(got.Error(), s) {
					t.Errorf("message %q does not contain %q", got, s)
				}
			}
		})
	}
	if mapError(cl, nil) != nil {
		t.Error("mapError(nil) != nil")
	}
}

func TestMapErrorKeepsSDKTypes(t *testing.T) {
	err := mapError(objectCall("head", "b", "k", "s3:GetObject"), sdkError(404, &types.NotFound{}))
	var notFound *types.NotFound
	var opErr *smithy.OperationError
	var respErr *awshttp.ResponseError
	if !errors.As(err, &notFound) || !errors.As(err, &opErr) || !errors.As(err, &respErr) {
		t.Errorf("SDK error types not reachable through %v", err)
	}
	if respErr != nil && respErr.HTTPStatusCode() != 404 {
		t.Errorf("status = %d, want 404", respErr.HTTPStatusCode())
	}
}

func TestMapErrorKeyHint(t *testing.T) {
	tests := []struct {
		key, want string
	}{
		{"a/../b", `has a ".." segment`},
		{"a/" + strings.Repeat("x", 300) + "/b", "segment of 300 bytes"},
	}
	for _, tt := range tests {
		err := mapError(objectCall("head", "b", tt.key, "s3:GetObject"), generic(400, "BadRequest", ""))
		if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("key %.20q: got %v, want ErrPermanent saying %q and naming the key", tt.key, err, tt.want)
		}
	}
}
