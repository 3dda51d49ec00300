package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// partConcurrency is how many parts of the large object are uploaded at once.
const partConcurrency = 4

type s3Settings struct {
	endpoint  string
	region    string
	pathStyle bool
	accessKey string
	secretKey string
	conns     int
}

// newS3Client builds a client for an S3-compatible server: static keys,
// path-style addressing, and checksums only where an operation requires them
// (servers that predate S3's default CRC checksums refuse or ignore them).
func newS3Client(ctx context.Context, s s3Settings) (*s3.Client, error) {
	// The SDK keeps 10 idle connections per host; with more workers than
	// that, every request past the tenth would open a new connection.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = max(s.conns, 10)
		t.MaxIdleConnsPerHost = max(s.conns, 10)
	})
	loads := []func(*config.LoadOptions) error{
		config.WithRegion(s.region),
		config.WithHTTPClient(httpClient),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if s.accessKey != "" {
		loads = append(loads, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(s.accessKey, s.secretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
		o.UsePathStyle = s.pathStyle
	}), nil
}

// ensureBucket creates bucket unless this account already has it.
func ensureBucket(ctx context.Context, c *s3.Client, bucket, region string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "us-east-1" {
		// us-east-1 is the one region that refuses its own name here.
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

// uploadAll uploads every planned object that is not missing, concurrency at
// a time, and stops at the first error.
func uploadAll(ctx context.Context, c *s3.Client, bucket string, objs []object, seed uint64, concurrency int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for _, o := range objs {
		switch {
		case o.missing:
		case o.multipart:
			g.Go(func() error { return putMultipart(ctx, c, bucket, o, seed) })
		default:
			g.Go(func() error { return putObject(ctx, c, bucket, o, seed) })
		}
	}
	return g.Wait()
}

func putObject(ctx context.Context, c *s3.Client, bucket string, o object, seed uint64) error {
	buf := make([]byte, o.size)
	for chunk := 0; int64(chunk)*chunkSize < o.size; chunk++ {
		start := int64(chunk) * chunkSize
		fillChunk(buf[start:min(start+chunkSize, o.size)], seed, o.index, chunk)
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(o.key),
		Body:          bytes.NewReader(buf),
		ContentLength: aws.Int64(o.size),
		ContentType:   aws.String(o.contentType),
		Metadata:      o.metadata,
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, o.key, err)
	}
	return nil
}

// putMultipart uploads o in chunkSize parts, so that its ETag is a multipart
// ETag ("…-N") and a copy must deal with parts, metadata and tags.
func putMultipart(ctx context.Context, c *s3.Client, bucket string, o object, seed uint64) error {
	created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(o.key),
		ContentType: aws.String(o.contentType),
		Metadata:    o.metadata,
		Tagging:     aws.String(o.tagging),
	})
	if err != nil {
		return fmt.Errorf("start multipart upload of %s/%s: %w", bucket, o.key, err)
	}
	nparts := int((o.size + chunkSize - 1) / chunkSize)
	parts := make([]types.CompletedPart, nparts)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(partConcurrency)
	for p := range nparts {
		g.Go(func() error {
			start := int64(p) * chunkSize
			buf := make([]byte, min(chunkSize, o.size-start))
			fillChunk(buf, seed, o.index, p)
			out, err := c.UploadPart(gctx, &s3.UploadPartInput{
				Bucket:        aws.String(bucket),
				Key:           aws.String(o.key),
				UploadId:      created.UploadId,
				PartNumber:    aws.Int32(int32(p + 1)),
				Body:          bytes.NewReader(buf),
				ContentLength: aws.Int64(int64(len(buf))),
			})
			if err != nil {
				return fmt.Errorf("upload part %d of %s/%s: %w", p+1, bucket, o.key, err)
			}
			parts[p] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(p + 1))}
			return nil
		})
	}
	if err := g.Wait(); err == nil {
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(bucket),
			Key:             aws.String(o.key),
			UploadId:        created.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
		if err != nil {
			err = fmt.Errorf("complete multipart upload of %s/%s: %w", bucket, o.key, err)
		}
	}
	if err != nil {
		_, _ = c.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
			Bucket: aws.String(bucket), Key: aws.String(o.key), UploadId: created.UploadId,
		})
		return err
	}
	return ensureTags(ctx, c, bucket, o)
}

// ensureTags sets o's tags unless the object already carries them: not every
// S3-compatible server applies the tags given to CreateMultipartUpload.
func ensureTags(ctx context.Context, c *s3.Client, bucket string, o object) error {
	got, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(o.key)})
	if err != nil {
		return fmt.Errorf("get tags of %s/%s: %w", bucket, o.key, err)
	}
	want, err := url.ParseQuery(o.tagging)
	if err != nil {
		return fmt.Errorf("tags %q: %w", o.tagging, err)
	}
	if len(got.TagSet) == len(want) {
		return nil
	}
	var set []types.Tag
	for k := range want {
		set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(want.Get(k))})
	}
	_, err = c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: aws.String(bucket), Key: aws.String(o.key), Tagging: &types.Tagging{TagSet: set},
	})
	if err != nil {
		return fmt.Errorf("put tags of %s/%s: %w", bucket, o.key, err)
	}
	return nil
}
