// Command copyrate measures how fast an S3 server copies objects server-side:
// it lists a bucket (or a prefix of it), then copies every object to a
// destination bucket with one CopyObject each, concurrency at a time, and
// prints objects per second. Nothing else is sent: no HEAD, no verification,
// no delete. It is the ceiling that a tool which moves objects one CopyObject
// each can reach on that server.
//
//	go run ./scripts/copyrate -bucket bench-c-src -dest bench-c-dst -concurrency 16
//
// Connection settings default as in scripts/seed: TRASHD_S3_*, AWS_*, then
// dev-up's TRASHD_TEST_S3_*, then the local dev server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "copyrate:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "copyrate:", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

type options struct {
	endpoint, region     string
	pathStyle            bool
	accessKey, secretKey string
	bucket, prefix       string
	dest, destPrefix     string
	limit, concurrency   int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("copyrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.endpoint, "endpoint", envOr("http://127.0.0.1:8333", "TRASHD_S3_ENDPOINT", "TRASHD_TEST_S3_ENDPOINT"), "S3 endpoint URL (empty: AWS)")
	fs.StringVar(&o.region, "region", envOr("us-east-1", "TRASHD_S3_REGION", "AWS_REGION"), "S3 region")
	fs.BoolVar(&o.pathStyle, "path-style", true, "path-style addressing")
	fs.StringVar(&o.accessKey, "access-key", "", "S3 access key (default: AWS_ACCESS_KEY_ID, TRASHD_TEST_S3_ACCESS_KEY)")
	fs.StringVar(&o.secretKey, "secret-key", "", "S3 secret key (default: AWS_SECRET_ACCESS_KEY, TRASHD_TEST_S3_SECRET_KEY)")
	fs.StringVar(&o.bucket, "bucket", "", "source bucket (required)")
	fs.StringVar(&o.prefix, "prefix", "", "copy only keys under this prefix")
	fs.StringVar(&o.dest, "dest", "", "destination bucket (required; created if absent)")
	fs.StringVar(&o.destPrefix, "dest-prefix", "", "prepended to each key in the destination")
	fs.IntVar(&o.limit, "n", 0, "copy at most this many objects (0: all)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "copies at once")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return o, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	case o.bucket == "" || o.dest == "":
		return o, usageError{errors.New("-bucket and -dest are required")}
	case o.bucket == o.dest && o.destPrefix == "":
		return o, usageError{errors.New("-dest is -bucket: give a -dest-prefix, or every object is copied onto itself")}
	case o.concurrency < 1 || o.limit < 0:
		return o, usageError{errors.New("-concurrency must be at least 1 and -n not negative")}
	}
	if o.accessKey == "" {
		o.accessKey = envOr("", "AWS_ACCESS_KEY_ID", "TRASHD_TEST_S3_ACCESS_KEY")
	}
	if o.secretKey == "" {
		o.secretKey = envOr("", "AWS_SECRET_ACCESS_KEY", "TRASHD_TEST_S3_SECRET_KEY")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	c, err := newS3Client(ctx, o)
	if err != nil {
		return err
	}
	if err := ensureBucket(ctx, c, o.dest, o.region); err != nil {
		return err
	}

	listStart := time.Now()
	keys, bytes, err := listKeys(ctx, c, o.bucket, o.prefix, o.limit)
	if err != nil {
		return err
	}
	listed := time.Since(listStart)

	copyStart := time.Now()
	failed, firstErr := copyAll(ctx, c, o, keys)
	elapsed := time.Since(copyStart)

	copied := len(keys) - failed
	fmt.Fprintf(stdout, "copyrate: %d objects (%.1f MiB) copied %s/%s -> %s/%s in %.3fs at concurrency %d: %.1f objects/s (listing %d keys took %.3fs)\n",
		copied, float64(bytes)/(1<<20), o.bucket, o.prefix, o.dest, o.destPrefix, elapsed.Seconds(), o.concurrency,
		float64(copied)/elapsed.Seconds(), len(keys), listed.Seconds())
	if failed > 0 {
		return fmt.Errorf("%d of %d copies failed; the first: %w", failed, len(keys), firstErr)
	}
	return nil
}

// listKeys lists up to limit keys (0: all) under prefix, and their total size.
func listKeys(ctx context.Context, c *s3.Client, bucket, prefix string, limit int) ([]string, int64, error) {
	var keys []string
	var bytes int64
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
		}
		for _, obj := range page.Contents {
			if limit > 0 && len(keys) == limit {
				return keys, bytes, nil
			}
			keys = append(keys, aws.ToString(obj.Key))
			bytes += aws.ToInt64(obj.Size)
		}
	}
	return keys, bytes, nil
}

// copyAll copies every key, o.concurrency at a time, and returns how many
// failed and the first error.
func copyAll(ctx context.Context, c *s3.Client, o options, keys []string) (int, error) {
	var next, failed atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range min(o.concurrency, len(keys)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(keys) || ctx.Err() != nil {
					return
				}
				_, err := c.CopyObject(ctx, &s3.CopyObjectInput{
					Bucket:     aws.String(o.dest),
					Key:        aws.String(o.destPrefix + keys[i]),
					CopySource: aws.String(copySource(o.bucket, keys[i])),
				})
				if err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = fmt.Errorf("copy %s/%s: %w", o.bucket, keys[i], err) })
				}
			}
		})
	}
	wg.Wait()
	return int(failed.Load()), firstErr
}

// copySource is x-amz-copy-source: "bucket/key" with every byte of the key
// outside RFC 3986's unreserved set percent-encoded, "/" kept. S3 decodes the
// header as a URL path, so a raw "+", "%", "?" or "#" would name another key.
func copySource(bucket, key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString(bucket)
	b.WriteByte('/')
	for i := 0; i < len(key); i++ {
		ch := key[i]
		if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' ||
			ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&0x0f])
	}
	return b.String()
}

// newS3Client builds a client for an S3-compatible server, keeping as many
// idle connections as there are workers (the SDK keeps 10 per host, and
// every request past that would open a new connection).
func newS3Client(ctx context.Context, o options) (*s3.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = max(o.concurrency, 10)
		t.MaxIdleConnsPerHost = max(o.concurrency, 10)
	})
	loads := []func(*config.LoadOptions) error{
		config.WithRegion(o.region),
		config.WithHTTPClient(httpClient),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if o.accessKey != "" {
		loads = append(loads, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.accessKey, o.secretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.endpoint != "" {
			so.BaseEndpoint = aws.String(o.endpoint)
		}
		so.UsePathStyle = o.pathStyle
	}), nil
}

// ensureBucket creates bucket unless this account already has it.
func ensureBucket(ctx context.Context, c *s3.Client, bucket, region string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(region),
		}
	}
	_, err := c.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if err == nil || errors.As(err, &owned) {
		return nil
	}
	return fmt.Errorf("create bucket %s: %w", bucket, err)
}

// envOr returns the first of the named variables that is set, or def.
func envOr(def string, names ...string) string {
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok && v != "" {
			return v
		}
	}
	return def
}
