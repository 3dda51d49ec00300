package s3ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"trashd/reconcile"
)

// call describes one S3 request, for the error it may return.
type call struct {
	op      string   // the action and what it acted on: "head s3://b/k"
	buckets []string // the buckets it touched, named when one is missing
	keys    []string // the keys it touched, checked when the server refuses one
	allow   string   // the IAM actions it needs, named when access is denied
	// unsupported says what it means that the server does not implement
	// this request (501 NotImplemented); "" for the general message.
	unsupported string
}

func objectCall(op, bucket, key, allow string) call {
	return call{
		op:      fmt.Sprintf("%s s3://%s/%s", op, bucket, key),
		buckets: []string{bucket},
		keys:    []string{key},
		allow:   fmt.Sprintf("%s on arn:aws:s3:::%s/*", allow, bucket),
	}
}

// part is c for one part of a multipart copy.
func (c call) part(n int32, total int) call {
	c.op = fmt.Sprintf("%s (part %d of %d)", c.op, n, total)
	return c
}

// mapError wraps err, returned by the SDK for c, around the reconcile
// sentinel that says what the runner should do about it, and says what to
// fix where someone has to. Both the sentinel and the SDK's error stay
// reachable through errors.Is and errors.As.
//
// A context.Canceled is the caller's own cancellation (shutdown), not the
// server's fault: it comes back with the operation named but no sentinel, so
// the runner sees it as an interruption rather than a failure. So does a
// request its send guard stopped (reconcile.ErrStale): nothing was sent, and
// taking it for transient would have it retried without a fresh fence.
func mapError(c call, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, reconcile.ErrStale) {
		return fmt.Errorf("%s: %w", c.op, err)
	}
	sentinel, reason := classify(c, err)
	if reason == "" {
		return fmt.Errorf("%s: %w: %w", c.op, sentinel, err)
	}
	return fmt.Errorf("%s: %w: %s: %w", c.op, sentinel, reason, err)
}

// classify picks the sentinel for err and, where it helps, a reason that
// says what happened in words an operator can act on.
func classify(c call, err error) (sentinel error, reason string) {
	code, status := errorCode(err), httpStatus(err)
	switch {
	case code == "NoSuchBucket":
		return reconcile.ErrPermanent, fmt.Sprintf("bucket %s does not exist: create it or fix the setting that names it", orList(c.buckets))
	case code == "NoSuchUpload":
		// The upload was aborted under us (by a lifecycle rule or a
		// cleanup); the next attempt starts a new one.
		return reconcile.ErrTransient, "the multipart upload is gone; the copy will start over"
	case (code == "NoSuchKey" || code == "NotFound" || status == 404) && folderKeyOf(c, err) != "":
		return reconcile.ErrPermanent, folderKeyReason(folderKeyOf(c, err))
	case code == "NoSuchKey" || code == "NotFound" || code == "NoSuchVersion" || status == 404:
		// HEAD responses have no body, so a missing key comes back as a bare
		// 404 with the code "NotFound".
		return reconcile.ErrNotFound, ""
	case code == "PreconditionFailed" || status == 412:
		return reconcile.ErrPreconditionFailed, "the object changed since it was read (its ETag no longer matches)"
	case code == "InvalidObjectState":
		// GET and copy of a GLACIER or DEEP_ARCHIVE object, or of one in an
		// Intelligent-Tiering archive tier, that has no restored copy (none
		// requested, or its restore not finished).
		return reconcile.ErrArchived, "the object is in an archive storage class and must be restored first (RestoreObject, then wait for the restore to finish)"
	case code == "ObjectNotInActiveTierError":
		// The code AWS's API model gives CopyObject for an archived
		// source ("not in the active tier and is only stored in Amazon
		// S3 Glacier"): the same as InvalidObjectState, and a 403 that
		// is no matter of credentials.
		return reconcile.ErrArchived, "the source object is archived (not in an active tier) and must be restored first (RestoreObject, then wait for the restore to finish)"
	case code == "ObjectAlreadyInActiveTierError":
		// The code AWS's API model gives RestoreObject for an object
		// that is not archived ("This action is not allowed against this
		// storage tier"): nothing to restore, and a 403 that is no matter
		// of credentials.
		return reconcile.ErrPermanent, "the object is not archived (it is already in an active tier): there is nothing to restore; read or copy it as it is"
	case code == "NotImplemented" || status == 501:
		// Before transient: a 5xx, but no retry will make the server
		// implement it.
		return reconcile.ErrPermanent, cmp.Or(c.unsupported, "the server does not implement this request (HTTP 501 NotImplemented)")
	case code == "GlacierExpeditedRetrievalNotAvailable":
		// A 503 from RestoreObject: no Expedited capacity just now.
		return reconcile.ErrTransient, "Expedited retrievals are not available now: try again later, or restore with the Standard tier"
	case schemeMismatch(err) != "":
		// Before transient: a TLS handshake with a plain-HTTP port fails
		// the same way however often it is tried.
		return reconcile.ErrPermanent, schemeMismatch(err)
	case noCredentials(err):
		// Before transient: no retry makes credentials appear.
		return reconcile.ErrPermanent, noCredentialsReason
	case transient(err, code, status):
		// SeaweedFS answers a copy to a key with a segment over 255 bytes
		// with a 500; say so, since retrying will not help there.
		return reconcile.ErrTransient, strings.TrimPrefix(keyHint(c.keys), "; ")
	case code == "InvalidAccessKeyId":
		return reconcile.ErrPermanent, "the server does not know the access key: check the AWS credentials"
	case code == "SignatureDoesNotMatch":
		return reconcile.ErrPermanent, "the secret key does not match the access key: check the AWS credentials"
	case code == "RequestTimeTooSkewed" || (status == 403 && isSkewed(err)):
		// Before access denied: a 403 too, but the clock is the cause.
		return reconcile.ErrPermanent, skewReason(err)
	case code == "AccessDenied" || code == "AllAccessDisabled":
		return reconcile.ErrPermanent, "access denied: the IAM policy must allow " + c.allow
	case status == 403:
		// A HEAD's 403 has no body to tell wrong credentials from a
		// missing permission.
		return reconcile.ErrPermanent, "access denied: check the AWS credentials, and that the IAM policy allows " + c.allow
	case code == "KeyTooLongError":
		return reconcile.ErrPermanent, "the key is longer than the server allows (1,024 bytes on AWS)" + keyHint(c.keys)
	case code == "InvalidBucketName":
		return reconcile.ErrPermanent, fmt.Sprintf("bucket name %s is not valid", orList(c.buckets))
	case status >= 400 && status < 500:
		return reconcile.ErrPermanent, refused(code, status) + keyHint(c.keys) + plainRequestToTLS(err, status)
	case isInvalidParams(err):
		return reconcile.ErrPermanent, "the request is not valid"
	}
	// Neither the server nor the network said what went wrong (a response
	// that did not parse, a signing or credential failure): a later attempt
	// may well succeed, and the runner's attempt limit bounds the retries.
	return reconcile.ErrTransient, ""
}

// transient reports whether err is worth retrying later. The SDK's retryer
// has already retried these; what reaches here is what was left.
func transient(err error, code string, status int) bool {
	if status >= 500 || status == 429 {
		return true
	}
	switch code {
	case "SlowDown", "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable",
		// 409s that S3 says to retry: another request on the same object
		// was in progress.
		"OperationAborted", "ConditionalRequestConflict",
		// Session credentials that expired; the provider refreshes them.
		"ExpiredToken", "TokenRefreshRequired":
		return true
	}
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(err, &maxAttempts) {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// errorCode is S3's error code ("NoSuchKey"), or "" when the error did not
// come from the server.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// httpStatus is the response's status code, or 0 when there was no response.
func httpStatus(err error) int {
	var respErr interface{ HTTPStatusCode() int }
	if errors.As(err, &respErr) {
		return respErr.HTTPStatusCode()
	}
	return 0
}

func isInvalidParams(err error) bool {
	var params smithy.InvalidParamsError
	return errors.As(err, &params)
}

func refused(code string, status int) string {
	if code == "" {
		return fmt.Sprintf("the server refused the request (HTTP %d)", status)
	}
	return fmt.Sprintf("the server refused the request (HTTP %d %s): fix what its message says", status, code)
}

// keyHint names what in a key S3-compatible servers are known to refuse even
// though AWS accepts it: ".." segments and segments over 255 bytes (they map
// keys onto file paths).
func keyHint(keys []string) string {
	for _, key := range keys {
		for seg := range strings.SplitSeq(key, "/") {
			switch {
			case seg == "..":
				return fmt.Sprintf("; key %q has a \"..\" segment, which this server may not allow", key)
			case len(seg) > 255:
				return fmt.Sprintf("; key %q has a segment of %d bytes, more than the 255 this server may allow", key, len(seg))
			}
		}
	}
	return ""
}

func orList(buckets []string) string {
	quoted := make([]string, len(buckets))
	for i, b := range buckets {
		quoted[i] = fmt.Sprintf("%q", b)
	}
	return strings.Join(quoted, " or ")
}
