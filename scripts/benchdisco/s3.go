package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3Env is trashd's S3 settings for dev-up's server, from its TRASHD_TEST_S3_*
// variables.
func s3Env() ([]string, error) {
	endpoint, key, secret := os.Getenv("TRASHD_TEST_S3_ENDPOINT"), os.Getenv("TRASHD_TEST_S3_ACCESS_KEY"), os.Getenv("TRASHD_TEST_S3_SECRET_KEY")
	if endpoint == "" || key == "" {
		return nil, errors.New("TRASHD_TEST_S3_ENDPOINT and TRASHD_TEST_S3_ACCESS_KEY are not set: source .dev/env (scripts/dev-up.sh writes it)")
	}
	return []string{
		"TRASHD_S3_ENDPOINT=" + endpoint, "TRASHD_S3_REGION=us-east-1", "TRASHD_S3_PATH_STYLE=true",
		"TRASHD_S3_CHECKSUMS=when_required", "AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret,
	}, nil
}

// ensureBuckets creates the buckets a pass checks; they stay empty: the
// benchmark's objects do not exist, so a pass copies nothing.
func ensureBuckets(ctx context.Context, env []string, buckets ...string) error {
	get := func(name string) string {
		for _, kv := range env {
			if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
				return kv[len(name)+1:]
			}
		}
		return ""
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), "")),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(get("TRASHD_S3_ENDPOINT"))
		o.UsePathStyle = true
	})
	for _, b := range buckets {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}
