// Package s3test helps tests in any package talk to the real S3-compatible
// servers: SeaweedFS, which scripts/dev-up.sh starts (clients configured
// from TRASHD_TEST_S3_*), and moto and versitygw, which a test package
// starts once for itself (Servers, from its TestMain). It makes throwaway
// buckets, objects uploaded in one piece or in parts, and fault injection
// layered over the real server (FaultTransport in the client, Proxy in
// front of the server, Wire beneath the client's transport to see what
// really went out; AWS's own answers in aws.go). Import it only from _test
// files and the development programs under scripts/ (s3proxy names
// operations with Operation), never from trashd itself.
package s3test

import (
	"cmp"
	"os"
	"testing"

	"trashd/s3ops"
)

// The values scripts/dev-up.sh writes to .dev/env.
const (
	DefaultEndpoint  = "http://127.0.0.1:8333"
	DefaultAccessKey = "trashd-dev"
	DefaultSecretKey = "trashd-dev-secret"
	Region           = "us-east-1"
)

// Options returns client options for the test server named by
// TRASHD_TEST_S3_ENDPOINT, TRASHD_TEST_S3_ACCESS_KEY and
// TRASHD_TEST_S3_SECRET_KEY (dev-up's values when unset): SeaweedFS, with
// OptionsFor's settings.
func Options(tb testing.TB) s3ops.Options {
	tb.Helper()
	return OptionsFor(tb, SeaweedFS())
}

// Endpoint is SeaweedFS's S3 endpoint (TRASHD_TEST_S3_ENDPOINT, dev-up's when unset).
func Endpoint() string {
	return cmp.Or(os.Getenv("TRASHD_TEST_S3_ENDPOINT"), DefaultEndpoint)
}

// NewClient builds an s3ops.Client from opts, failing the test if it cannot.
func NewClient(tb testing.TB, opts s3ops.Options) *s3ops.Client {
	tb.Helper()
	c, err := s3ops.New(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("s3ops.New: %v", err)
	}
	return c
}
