package glacier

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Defaults for the zero values of Config.
const (
	DefaultRegion    = "us-east-1"
	DefaultDayLength = time.Second
	// DefaultMinTransitionSize is S3's default minimum for lifecycle
	// transitions since September 2024: 128 KB, which S3 counts as 128 KiB.
	DefaultMinTransitionSize int64 = 128 << 10
)

// The restore tiers of a RestoreRequest's GlacierJobParameters.
const (
	TierExpedited = "Expedited"
	TierStandard  = "Standard"
	TierBulk      = "Bulk"
)

// defaultRestoreDelays are the restore delays for a one-second day: the
// tiers keep S3's order (Expedited minutes, Standard hours, Bulk up to half a
// day) and are scaled with DayLength.
func defaultRestoreDelays() map[string]time.Duration {
	return map[string]time.Duration{TierExpedited: time.Second, TierStandard: 3 * time.Second, TierBulk: 6 * time.Second}
}

// minSweepInterval keeps Run from listing buckets back to back when the day
// is a few milliseconds long: tests call Sweep themselves for exact timing.
const minSweepInterval = 50 * time.Millisecond

// Config configures a Server.
type Config struct {
	Target               string // the real S3 endpoint, e.g. http://127.0.0.1:8333
	Region               string // default us-east-1
	AccessKey, SecretKey string // for the layer's own requests to Target (listing, transition copies, expiration deletes)
	// DayLength is one lifecycle "day" on the accelerated clock: rule Days,
	// restore Days and day boundaries are counted in it. Default 1s.
	DayLength time.Duration
	// Restore is the delay of a restore per tier (Expedited, Standard,
	// Bulk), in real time. A tier left out takes its default, 1s, 3s and 6s
	// for a one-second day, scaled with DayLength (10ms, 30ms and 60ms for a
	// 10ms day).
	Restore map[string]time.Duration
	// MinTransitionSize: objects smaller than this are not transitioned by
	// a rule without a size filter. Default 128 KiB, S3's default.
	MinTransitionSize int64
	// LingerRestoreHeader keeps sending an expired restore's x-amz-restore
	// (with its past expiry-date) on HEAD and GET for this long after the
	// restored copy went away, as S3 can: reads are refused all the same.
	// Default 0: the header goes with the copy.
	LingerRestoreHeader time.Duration
	// LifecyclePropagation: for this long after a PUT or DELETE of a
	// bucket's lifecycle configuration, GET and sweeps still see the one
	// before, as S3 does while a new configuration propagates ("expect a
	// delay of a few minutes"). Default 0: at once.
	LifecyclePropagation time.Duration
	// Clock is the clock the layer reads for days, restores and
	// propagation; nil: real time. Tests give one of their own and move it
	// on with Server.Advance instead of waiting.
	Clock *Clock
	// ArchivedCopyError is the code a copy from an archived source that is
	// not restored is refused with: "" or "InvalidObjectState", what AWS
	// answers; or CodeObjectNotInActiveTier, the code AWS's API model
	// lists for CopyObject (and moto answers).
	ArchivedCopyError string
}

// CodeObjectNotInActiveTier is the ArchivedCopyError of AWS's API model.
const CodeObjectNotInActiveTier = "ObjectNotInActiveTierError"

// withDefaults fills the zero values.
func (c Config) withDefaults() Config {
	c.Region = cmp.Or(c.Region, DefaultRegion)
	c.DayLength = cmp.Or(c.DayLength, DefaultDayLength)
	c.MinTransitionSize = cmp.Or(c.MinTransitionSize, DefaultMinTransitionSize)
	delays := make(map[string]time.Duration, 3)
	for tier, d := range defaultRestoreDelays() {
		delays[tier] = time.Duration(float64(d) * c.DayLength.Seconds())
	}
	maps.Copy(delays, c.Restore)
	c.Restore = delays
	return c
}

// Validate reports every setting that is out of range.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("target %q: must be an http:// or https:// URL", c.Target))
	}
	if c.DayLength <= 0 {
		errs = append(errs, fmt.Errorf("day length %v: must be positive", c.DayLength))
	}
	if c.MinTransitionSize < 0 {
		errs = append(errs, fmt.Errorf("minimum transition size %d: must not be negative", c.MinTransitionSize))
	}
	for _, tier := range slices.Sorted(maps.Keys(c.Restore)) {
		if tier != TierExpedited && tier != TierStandard && tier != TierBulk {
			errs = append(errs, fmt.Errorf("restore tier %q: must be %s, %s or %s", tier, TierExpedited, TierStandard, TierBulk))
		}
		if c.Restore[tier] < 0 {
			errs = append(errs, fmt.Errorf("restore delay %v for %s: must not be negative", c.Restore[tier], tier))
		}
	}
	if c.LingerRestoreHeader < 0 || c.LifecyclePropagation < 0 {
		errs = append(errs, fmt.Errorf("linger %v and propagation %v: must not be negative", c.LingerRestoreHeader, c.LifecyclePropagation))
	}
	if c.ArchivedCopyError != "" && c.ArchivedCopyError != "InvalidObjectState" && c.ArchivedCopyError != CodeObjectNotInActiveTier {
		errs = append(errs, fmt.Errorf("archived copy error %q: must be InvalidObjectState or %s", c.ArchivedCopyError, CodeObjectNotInActiveTier))
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		errs = append(errs, errors.New("access key and secret key: give both or neither"))
	}
	return errors.Join(errs...)
}

// Server is the emulation layer: a reverse proxy in front of Target that
// answers lifecycle configuration and RestoreObject itself, refuses reads of
// archived objects that are not restored, and runs lifecycle rules through
// Target's S3 API on an accelerated clock.
type Server struct {
	URL string // the layer's endpoint, set by Start (or by whoever serves Handler)
	// Logger receives a line per transition, expiration and restore, and
	// the errors of background sweeps. Set it before serving; nil discards.
	Logger *slog.Logger

	cfg     Config
	client  *s3.Client
	forward *httputil.ReverseProxy
	now     func() time.Time

	mu           sync.Mutex
	lifecycles   map[string]*bucketLifecycle // by bucket
	restores     map[objectVersion]*restore
	accessTiers  map[objectVersion]*accessTier // Intelligent-Tiering objects in an archive tier
	transitioned map[objectVersion]*moved

	expeditedUnavailable atomic.Bool
	inventories          inventoryState // inventory.go

	sweepMu sync.Mutex             // one sweep at a time
	created map[string]bucketBirth // by bucket; touched only while sweeping
}

// New returns a Server for cfg. It does not contact Target.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("glacier layer config: %w", err)
	}
	target, _ := url.Parse(cfg.Target)
	var creds aws.CredentialsProvider = aws.AnonymousCredentials{}
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")
	}
	s := &Server{
		cfg: cfg,
		client: s3.New(s3.Options{
			Region:       cfg.Region,
			BaseEndpoint: aws.String(cfg.Target),
			UsePathStyle: true,
			Credentials:  creds,
			// S3-compatible servers predate S3's default request checksums.
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		}),
		now:          time.Now,
		lifecycles:   make(map[string]*bucketLifecycle),
		restores:     make(map[objectVersion]*restore),
		accessTiers:  make(map[objectVersion]*accessTier),
		transitioned: make(map[objectVersion]*moved),
		created:      make(map[string]bucketBirth),
	}
	if cfg.Clock != nil {
		s.now = cfg.Clock.Now
	}
	s.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // SigV4 signs the Host header
			// SetURL joins the target's path with the request's; keep the
			// client's escaped path exactly as it signed it.
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
		},
		ModifyResponse: s.inspectResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				s.logger().Warn("forward to the S3 server failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
		// Forward the server's answer as it comes (streamed GETs).
		FlushInterval: -1,
	}
	return s, nil
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Handler returns the proxy. Clients must address buckets path-style.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Run sweeps every DayLength/4 (at most every 50ms) until ctx ends. Errors
// go to Logger; the next sweep tries again.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(max(s.cfg.DayLength/4, minSweepInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger().Warn("lifecycle sweep", "err", err)
		}
	}
}

// serve answers what the server cannot and forwards the rest.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	bucket, key := splitPath(r.URL.Path)
	q := r.URL.Query()
	switch {
	case bucket != "" && key == "" && q.Has("lifecycle"):
		s.serveLifecycle(w, r, bucket)
	case bucket != "" && key == "" && q.Has("inventory"):
		s.serveInventory(w, r, bucket)
	case key != "" && r.Method == http.MethodPost && q.Has("restore"):
		s.serveRestore(w, r, bucket, key)
	case key != "" && r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		s.serveCopy(w, r)
	default:
		s.forward.ServeHTTP(w, r)
	}
}

// splitPath splits a path-style request's (decoded) path into bucket and
// key.
func splitPath(path string) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return bucket, key
}

// signed reports whether r carries SigV4 credentials, in a header or a
// presigned URL. The layer does not check the signature of what it answers
// itself; it only refuses anonymous requests.
func signed(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || r.URL.Query().Get("X-Amz-Signature") != ""
}

// inspectResponse runs on every forwarded answer: it refuses reads of
// archived objects that are not restored, adds x-amz-restore where S3 would,
// and forgets restores of objects that were overwritten or deleted.
func (s *Server) inspectResponse(resp *http.Response) error {
	r := resp.Request
	bucket, key := splitPath(r.URL.Path)
	q := r.URL.Query()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	switch {
	case !ok || bucket == "":
	case key == "":
		if r.Method == http.MethodDelete && len(q) == 0 {
			s.forgetBucket(bucket)
		}
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && !hasAny(q, objectSubresources...):
		s.inspectRead(resp, bucket, key)
	case r.Method == http.MethodDelete && !q.Has("uploadId") && !hasAny(q, objectSubresources...):
		s.forgetRestore(objectVersion{bucket, key, normalVersion(q.Get("versionId"))})
	case r.Method == http.MethodPut && !q.Has("uploadId") && !hasAny(q, objectSubresources...),
		r.Method == http.MethodPost && q.Has("uploadId"): // PutObject, CopyObject, CompleteMultipartUpload
		// A new object replaces the unversioned one; a versioned bucket
		// keeps the old version under its own ID.
		s.forgetRestore(objectVersion{bucket, key, ""})
	}
	return nil
}

// objectSubresources are the query parameters that make a GET, HEAD, PUT or
// DELETE of a key act on something other than the object's data.
var objectSubresources = []string{"tagging", "acl", "attributes", "legal-hold", "retention", "torrent", "uploadId", "restore"}

func hasAny(q url.Values, names ...string) bool {
	for _, n := range names {
		if q.Has(n) {
			return true
		}
	}
	return false
}

// normalVersion is a version ID as the layer keys state by it: "" for an
// unversioned object, which S3 also calls "null".
func normalVersion(v string) string {
	if v == "null" {
		return ""
	}
	return v
}
