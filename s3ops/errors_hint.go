package s3ops

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Hints for errors whose SDK message points at the wrong cause.

// credentialsError is a failure of the credential chain to produce any
// credentials. The SDK reports it as an untyped error deep in the request
// ("get identity: get credentials: …"), which would read as a transient
// failure of the request; marking it where the credentials are retrieved
// lets classify say what it is.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// markCredentialErrors wraps the client's credential provider (the SDK's
// cache around the default chain) so that its failures are recognisable.
type markCredentialErrors struct{ aws.CredentialsProvider }

func (p markCredentialErrors) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.CredentialsProvider.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return c, &credentialsError{err}
	}
	return c, err
}

// noCredentials reports whether err is the credential chain finding no
// credentials: permanent until someone configures some. A provider that
// reached its server and got a 5xx or a throttle (STS, SSO) is transient.
func noCredentials(err error) bool {
	var ce *credentialsError
	if !errors.As(err, &ce) {
		return false
	}
	status := httpStatus(ce.err)
	return status < 500 && status != 429
}

// noCredentialsReason lists where the AWS default chain looked, in its
// order, so that the operator sees which one they meant to set.
const noCredentialsReason = "no AWS credentials found: the default chain looked in the environment " +
	"(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN), " +
	"the shared files (~/.aws/credentials and ~/.aws/config, or AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, profile AWS_PROFILE or default), " +
	"the container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI) and the EC2 instance metadata service " +
	"(off when AWS_EC2_METADATA_DISABLED=true): configure one of them for the service's user (see docs/operations.md, AWS credentials)"

// maxSkew is how far S3 lets a request's signing time be from its own
// clock (RequestTimeTooSkewed beyond it).
const maxSkew = 15 * time.Minute

// clockSkew is how far this host's clock is from the server's, from the
// Date header of err's response, when that is over maxSkew. A HEAD's 403
// has no body and so no RequestTimeTooSkewed code: the header is all it
// tells.
func clockSkew(err error) (time.Duration, bool) {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return 0, false
	}
	date, perr := http.ParseTime(re.Response.Header.Get("Date"))
	if perr != nil {
		return 0, false
	}
	skew := time.Since(date)
	if skew < 0 {
		skew = -skew
	}
	return skew, skew > maxSkew
}

func skewReason(err error) string {
	const fix = "this host's clock is too far from the server's (S3 allows 15 minutes): fix its time synchronisation (timedatectl, chrony or ntpd)"
	if skew, ok := clockSkew(err); ok {
		return fmt.Sprintf("%s; it is about %s off", fix, skew.Round(time.Minute))
	}
	return fix
}

// folderKey returns the key of c that ends in "/" when err is a copy of it
// that the server answered not found: S3-compatible servers that map keys
// onto directories (SeaweedFS) answer HEAD on such a key but refuse to copy
// it, which would otherwise read as the source having changed or gone.
func folderKey(c call, err error) (string, bool) {
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || (oe.OperationName != "CopyObject" && oe.OperationName != "UploadPartCopy") {
		return "", false
	}
	for _, k := range c.keys {
		if strings.HasSuffix(k, "/") {
			return k, true
		}
	}
	return "", false
}

func folderKeyReason(key string) string {
	return fmt.Sprintf("key %q ends in \"/\": this server treats it as a folder, not an object, and will not copy it (AWS would); "+
		"it cannot be moved on this server: rename the object and its LMS row, or leave it", key)
}

func folderKeyOf(c call, err error) string {
	k, _ := folderKey(c, err)
	return k
}

func isSkewed(err error) bool {
	_, ok := clockSkew(err)
	return ok
}

// schemeMismatch says what is wrong when an https:// endpoint names a port
// that does not speak TLS, or "" when err is not that. Go's HTTP client
// reports a plain-HTTP answer to a TLS handshake as http.ErrSchemeMismatch
// ("server gave HTTP response to HTTPS client"); a transport used without
// http.Client leaves the tls.RecordHeaderError ("first record does not look
// like a TLS handshake") it comes from. Neither goes away on a retry.
func schemeMismatch(err error) string {
	const plain = "the server answered in plain HTTP, not TLS: the endpoint's port does not speak https: use http:// in TRASHD_S3_ENDPOINT (or turn TLS on at the server)"
	if errors.Is(err, http.ErrSchemeMismatch) {
		return plain
	}
	var rh tls.RecordHeaderError
	if !errors.As(err, &rh) {
		return ""
	}
	if string(rh.RecordHeader[:]) == "HTTP/" {
		return plain
	}
	return "the server at the endpoint does not speak TLS (its first bytes are no TLS handshake): check the port in TRASHD_S3_ENDPOINT, and use http:// if the server has no TLS"
}

// neverRetrySchemeMismatch tells the SDK's retryer not to retry a TLS
// handshake with a port that does not speak TLS.
var neverRetrySchemeMismatch = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if schemeMismatch(err) != "" {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
})

// plainRequestToTLS is a hint for a 400 that may be a TLS port's answer to
// a plain http:// request, "" for any other error: Go's servers answer one
// with a bare "400 Bad Request" and nginx with "The plain HTTP request was
// sent to HTTPS port", and neither carries the x-amz-request-id that S3
// puts on every response.
func plainRequestToTLS(err error, status int) string {
	var re *smithyhttp.ResponseError
	if status != 400 || !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return ""
	}
	resp := re.Response.Response
	if resp.Request == nil || resp.Request.URL == nil || resp.Request.URL.Scheme != "http" ||
		resp.Header.Get("X-Amz-Request-Id") != "" || resp.Header.Get("X-Amz-Id-2") != "" {
		return ""
	}
	return "; the answer has no x-amz-request-id, so it is not S3's: if the endpoint's port speaks TLS, use https:// in TRASHD_S3_ENDPOINT"
}
