package s3ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
)

// S3's size limits for copies and parts.
const (
	// MaxCopyObjectSize is the largest source a single CopyObject accepts
	// (5 GiB); anything larger must be copied with UploadPartCopy.
	MaxCopyObjectSize int64 = 5 << 30
	// MinPartSize is the smallest part S3 accepts, except for the last part.
	MinPartSize int64 = 5 << 20
	// MaxPartSize is the largest part S3 accepts.
	MaxPartSize int64 = 5 << 30
	// MaxParts is the most parts one multipart upload may have.
	MaxParts = 10000
	// MaxObjectSize is the largest object a multipart copy can make:
	// 10,000 parts of 5 GiB, 53.7 TB. AWS raised its object size limit
	// from 5 TB to what it calls 50 TB in December 2025, and documents
	// that the true bound is this product.
	MaxObjectSize = MaxParts * MaxPartSize
)

// Defaults for the zero values of Options.
const (
	DefaultMultipartThreshold = MaxCopyObjectSize
	DefaultPartSize           = 256 << 20
	DefaultPartConcurrency    = 4
	DefaultRetryMaxAttempts   = retry.DefaultMaxAttempts
)

// Options configure a Client. The zero value talks to AWS with the default
// credential chain and region.
type Options struct {
	// Region is the bucket's region; "" takes it from the environment or
	// the shared config (AWS_REGION, AWS_PROFILE).
	Region string
	// Endpoint is the S3 API's base URL for an S3-compatible server; "" is AWS.
	Endpoint string
	// PathStyle addresses buckets as http://host/bucket/key instead of
	// http://bucket.host/key, which most S3-compatible servers need.
	PathStyle bool
	// ChecksumWhenRequired sets RequestChecksumCalculation and
	// ResponseChecksumValidation to WhenRequired: S3-compatible servers
	// that predate S3's default request checksums refuse or ignore them.
	ChecksumWhenRequired bool
	// MultipartThreshold: sources larger than this may be copied in parts
	// (copy.go says when they are). Default and maximum 5 GiB, the
	// CopyObject limit.
	MultipartThreshold int64
	// PartSize is the part size for a multipart copy of a source that was
	// not itself uploaded in parts (a multipart source's own layout is
	// mirrored). 5 MiB to 5 GiB; default 256 MiB.
	PartSize int64
	// PartConcurrency is how many parts of one object are copied at once.
	// Default 4.
	PartConcurrency int
	// ConditionalDelete sends If-Match: <ETag> with DeleteObject, so that a
	// source overwritten since it was copied is not deleted.
	ConditionalDelete bool
	// NoOverwriteByHead is for a server that ignores If-None-Match on
	// copies: a copy with NoOverwrite then HEADs the destination before it
	// starts (and a multipart copy again right before it completes) and
	// fails with ErrDestinationExists when something is there. The header
	// is still sent. This is a weaker guard than the server's own check: a
	// file written between the HEAD and the copy is overwritten.
	NoOverwriteByHead bool
	// Credentials; nil uses the AWS default chain (environment, shared
	// profile, web identity/IRSA, IMDS).
	Credentials aws.CredentialsProvider
	// HTTPClient; nil uses the SDK's. Tests put a fault-injecting
	// transport here.
	HTTPClient aws.HTTPClient
	// RetryMaxAttempts is how many times the SDK's standard retryer tries
	// one request (the first attempt included) before the error comes back
	// as transient. Default 3.
	RetryMaxAttempts int
	// Observe, when set, is called once per S3 API operation with its
	// name ("HeadObject", "CopyObject", "UploadPartCopy", …), its error
	// (nil on success; ErrorClass sorts it) and its duration, SDK retries
	// included (observe.go). It is called from the requesting goroutine and
	// must be quick and safe for concurrent use: metrics, not I/O.
	Observe func(op string, err error, d time.Duration)
	// Now is the clock that dates a probe's answers
	// (reconcile.Capabilities.ProbedAt); nil is time.Now.
	Now func() time.Time
	// NoDirectRequests sends every HeadObject and CopyObject through the
	// SDK's middleware stack, as every other request goes. By default
	// those two are built, signed and read by the Client itself when it
	// can (direct.go), for about a third less CPU per HEAD and copy.
	NoDirectRequests bool
	// Logger gets the Client's rare warnings (direct requests turned off
	// for a server that refuses them); nil discards them.
	Logger *slog.Logger
}

// withDefaults fills the zero values.
func (o Options) withDefaults() Options {
	o.MultipartThreshold = cmp.Or(o.MultipartThreshold, DefaultMultipartThreshold)
	o.PartSize = cmp.Or(o.PartSize, DefaultPartSize)
	o.PartConcurrency = cmp.Or(o.PartConcurrency, DefaultPartConcurrency)
	o.RetryMaxAttempts = cmp.Or(o.RetryMaxAttempts, DefaultRetryMaxAttempts)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// MaxPartConcurrency bounds PartConcurrency: parts of one object copied at
// once, on top of the objects copied at once.
const MaxPartConcurrency = 64

// Validate reports every option that is out of range, each a
// *reconcile.FieldError naming its field. It checks the values as they are:
// New fills the zero values with the defaults first.
func (o Options) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &reconcile.FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if o.MultipartThreshold < MinPartSize || o.MultipartThreshold > MaxCopyObjectSize {
		// Above 5 GiB, sources between 5 GiB and the threshold would go
		// to CopyObject, which refuses them.
		bad("MultipartThreshold", "%s is not a size from %s to %s (5 GiB, the CopyObject limit)", sizeText(o.MultipartThreshold), sizeText(MinPartSize), sizeText(MaxCopyObjectSize))
	}
	if o.PartSize < MinPartSize || o.PartSize > MaxPartSize {
		bad("PartSize", "%s is not a size from %s to %s, S3's part limits", sizeText(o.PartSize), sizeText(MinPartSize), sizeText(MaxPartSize))
	}
	if o.PartConcurrency < 1 || o.PartConcurrency > MaxPartConcurrency {
		bad("PartConcurrency", "%d is not a whole number from 1 to %d", o.PartConcurrency, MaxPartConcurrency)
	}
	if o.RetryMaxAttempts < 1 || o.RetryMaxAttempts > 20 {
		bad("RetryMaxAttempts", "%d is not a whole number from 1 to 20", o.RetryMaxAttempts)
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("Endpoint", "%q must be a URL starting with http:// or https://, or empty for AWS", o.Endpoint)
		}
	}
	return errors.Join(errs...)
}

// sizeText writes n bytes in the largest binary unit that divides it.
func sizeText(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// maxIdleConns is how many idle connections the Client's own HTTP client
// keeps, per host and in all: more than any concurrency trashd runs at.
const maxIdleConns = 1024

// Client is trashd's S3 adapter. It is safe for concurrent use.
type Client struct {
	s3     *s3.Client
	opts   Options
	direct *direct // nil: every request goes through the SDK
	probeState
}

var (
	_ reconcile.ObjectStore     = (*Client)(nil)
	_ reconcile.BucketChecker   = (*Client)(nil)
	_ reconcile.UploadAborter   = (*Client)(nil)
	_ reconcile.ConditionProber = (*Client)(nil)
)

// New builds a Client from o, filling defaults and validating them. It loads
// the AWS shared config (region, profile) but makes no request.
func New(ctx context.Context, o Options) (*Client, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("s3 options: %w", err)
	}

	loads := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.RetryMaxAttempts
				// First, so that the SDK's connection-error rule does not
				// retry a scheme that can never work.
				so.Retryables = append([]retry.IsErrorRetryable{neverRetrySchemeMismatch}, so.Retryables...)
			})
		}),
	}
	if o.Region != "" {
		loads = append(loads, config.WithRegion(o.Region))
	}
	if o.Credentials != nil {
		loads = append(loads, config.WithCredentialsProvider(o.Credentials))
	}
	if o.HTTPClient == nil {
		// The SDK keeps 10 idle connections per host and 100 in all;
		// trashd moves many objects at once, each perhaps in parallel
		// parts, and a connection dropped after each burst is a new
		// connection (and TLS handshake) for the next: keep as many idle
		// as the highest concurrency can use, per host (path style) and
		// over the buckets' hosts (virtual-hosted style). A buildable
		// client still takes AWS_CA_BUNDLE from the loader.
		loads = append(loads, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = maxIdleConns
			t.MaxIdleConns = maxIdleConns
		})))
	}
	if o.ChecksumWhenRequired {
		loads = append(loads,
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("s3 options: no region: set one in the options or in AWS_REGION")
	}
	if cfg.Credentials != nil {
		cfg.Credentials = markCredentialErrors{cfg.Credentials}
	}

	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		// Set here rather than through config.WithHTTPClient: with a CA
		// bundle configured (AWS_CA_BUNDLE), the config loader refuses any
		// client it cannot add the bundle to. The caller's client brings
		// its own TLS settings.
		if o.HTTPClient != nil {
			so.HTTPClient = o.HTTPClient
		}
		so.APIOptions = append(so.APIOptions, guardSends)
		if o.Observe != nil {
			so.APIOptions = append(so.APIOptions, observeOperations(o.Observe))
		}
	})
	c := &Client{s3: client, opts: o}
	if !o.NoDirectRequests && len(cfg.APIOptions) == 0 {
		// API options from the shared config could change requests in
		// ways the direct path does not know of.
		c.direct = newDirect(ctx, client, o)
	}
	return c, nil
}

// S3 returns the SDK client, for seeding and test setup.
func (c *Client) S3() *s3.Client { return c.s3 }
