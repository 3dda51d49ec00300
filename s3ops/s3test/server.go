package s3test

import (
	"cmp"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"trashd/reconcile"
	"trashd/s3ops"
)

// Server is one S3-compatible server the tests can talk to: SeaweedFS (the
// main one, started by scripts/dev-up.sh), moto or versitygw (started by
// the test package itself, see Servers).
type Server struct {
	Name      string // "seaweedfs", "moto" or "versitygw": subtests are named after it
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Region    string
	// Features are what this server does of what AWS does and tests may
	// rely on; TestServersHaveTheirFeatures holds each server to its list,
	// both ways.
	Features []Feature
	// Ignores are the conditions the server is known not to honour: what
	// s3ops.ProbeConditions finds there (TestProbeConditionsOnEachServer,
	// in s3ops, holds each server to its list, both ways). Tests on it
	// expect trashd's fallback for each of them.
	Ignores []reconcile.Condition
}

// Feature is a part of AWS's S3 behaviour that not every test server has.
// Its value says what it is, in the words a skipped test prints.
type Feature string

const (
	// FeatureStorageClass: PutObject and CopyObject keep the storage class
	// asked for (GLACIER, DEEP_ARCHIVE, …) and HEAD reports it.
	FeatureStorageClass Feature = "storage classes kept on PUT and copy"
	// FeatureArchive: an object in GLACIER is refused to GET
	// (InvalidObjectState) until RestoreObject has made a readable copy,
	// which HEAD reports in x-amz-restore.
	FeatureArchive Feature = "archived objects readable only after RestoreObject"
	// FeatureLifecycleConfig: a bucket's lifecycle configuration with a
	// transition rule, trashd's kind, is stored and read back (whatever
	// the server then does with it). SeaweedFS keeps expiration rules only;
	// the Glacier emulation layer (s3test/glacier) keeps transition rules
	// for it.
	FeatureLifecycleConfig Feature = "lifecycle configuration with transition rules"
	// FeatureVersioning: a bucket can be versioned; overwrites keep the
	// older versions and deletes add markers.
	FeatureVersioning Feature = "bucket versioning"
	// FeatureTransitions: the server itself moves objects to another
	// storage class by a lifecycle rule. None of the test servers does;
	// the project's Glacier emulation (s3test/glacier) does it for
	// SeaweedFS.
	FeatureTransitions Feature = "lifecycle transitions done by the server"
)

// Has reports whether s has feature f.
func (s Server) Has(f Feature) bool { return slices.Contains(s.Features, f) }

// Honours reports whether s honours cond, as its probe finds.
func (s Server) Honours(cond reconcile.Condition) bool { return !slices.Contains(s.Ignores, cond) }

// SkipUnless skips the test, naming the server and the feature, when
// server lacks feature: a test never passes on a server it could not run
// on.
func SkipUnless(tb testing.TB, server Server, feature Feature) {
	tb.Helper()
	if !server.Has(feature) {
		tb.Skipf("skipped on %s: it lacks %s", server.Name, feature)
	}
}

// SeaweedFS is the server scripts/dev-up.sh started, named by
// TRASHD_TEST_S3_ENDPOINT, TRASHD_TEST_S3_ACCESS_KEY and
// TRASHD_TEST_S3_SECRET_KEY (dev-up's values when unset).
func SeaweedFS() Server {
	return Server{
		Name:      "seaweedfs",
		Endpoint:  Endpoint(),
		AccessKey: cmp.Or(os.Getenv("TRASHD_TEST_S3_ACCESS_KEY"), DefaultAccessKey),
		SecretKey: cmp.Or(os.Getenv("TRASHD_TEST_S3_SECRET_KEY"), DefaultSecretKey),
		Region:    Region,
		// GET of a GLACIER object is served at once, and a transition rule
		// is answered 501: the Glacier emulation layer in front of it
		// brings both.
		Features: []Feature{FeatureStorageClass, FeatureVersioning},
		// SeaweedFS honours every condition.
	}
}

// OptionsFor returns client options for server: path-style (none of the
// servers has DNS for bucket subdomains), checksums only when required
// (S3-compatible servers refuse or ignore S3's default request checksums),
// static credentials.
func OptionsFor(tb testing.TB, server Server) s3ops.Options {
	tb.Helper()
	if server.Endpoint == "" {
		tb.Fatalf("S3 test server %q has no endpoint: get it from SeaweedFS() or a Servers", server.Name)
	}
	return s3ops.Options{
		Region:               server.Region,
		Endpoint:             server.Endpoint,
		PathStyle:            true,
		ChecksumWhenRequired: true,
		Credentials:          credentials.NewStaticCredentialsProvider(server.AccessKey, server.SecretKey, ""),
	}
}

// NewClientFor builds an s3ops.Client for server with OptionsFor's
// options, failing the test if it cannot.
func NewClientFor(tb testing.TB, server Server) *s3ops.Client {
	tb.Helper()
	return NewClient(tb, OptionsFor(tb, server))
}
