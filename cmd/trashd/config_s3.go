package main

import (
	"strings"

	"trashd/s3ops"
)

// TRASHD_S3_CHECKSUMS values.
const (
	checksumsWhenSupported = "when_supported"
	checksumsWhenRequired  = "when_required"
)

// parseS3 reads the S3 client's variables; s3ops.Options.Validate checks
// them. The buckets belong to reconcile.Config (parseReconcile).
func parseS3(p *problems, e env) s3ops.Options {
	checksums := p.oneOf("TRASHD_S3_CHECKSUMS", e.S3Checksums, checksumsWhenSupported, checksumsWhenRequired)
	if strings.TrimSpace(e.S3Region) == "" {
		// Empty would mean AWS_REGION or the shared config in s3ops, but
		// trashd's env file is the one place an operator looks.
		p.add("TRASHD_S3_REGION", "must not be empty: set the buckets' region, e.g. us-east-1")
	}
	return s3ops.Options{
		Region:               e.S3Region,
		Endpoint:             e.S3Endpoint,
		PathStyle:            p.bool("TRASHD_S3_PATH_STYLE", e.S3PathStyle),
		ChecksumWhenRequired: checksums == checksumsWhenRequired,
		MultipartThreshold:   p.bytes("TRASHD_MULTIPART_THRESHOLD", e.MultipartThreshold),
		PartSize:             p.bytes("TRASHD_PART_SIZE", e.PartSize),
		PartConcurrency:      p.int("TRASHD_PART_CONCURRENCY", e.PartConcurrency),
		// Conditions are sent where the probe of a bucket proves them
		// (reconcile decides, per bucket and object).
		ConditionalDelete: true,
		RetryMaxAttempts:  s3ops.DefaultRetryMaxAttempts,
	}
}
