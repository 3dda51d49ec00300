package service

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"trashd/db"
	"trashd/db/dbtest"
	"trashd/s3ops/s3test"
)

func TestHealthLiveness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		alive    func() error
		status   int
		contains string
	}{
		{"alive", func() error { return nil }, http.StatusOK, "ok"},
		{"no alive func", nil, http.StatusOK, "ok"},
		{"stuck", func() error { return errors.New("the service loop has made no progress for 3m0s (deadline 2m0s)") },
			http.StatusServiceUnavailable, "no progress for 3m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serveHandler(t, tt.alive, nil)
			status, body := httpGet(t, srv.URL+"/healthz")
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("GET /healthz = %d %q, want %d containing %q", status, body, tt.status, tt.contains)
			}
		})
	}
}

// setupReady returns a readiness over a database and two buckets of the
// test's own on the real servers, all of them fine.
func setupReady(t *testing.T) readiness {
	t.Helper()
	sqlDB, _ := dbtest.NewDatabase(t)
	client := s3test.NewClient(t, s3test.Options(t))
	return readiness{
		db:      sqlDB,
		buckets: client,
		trash:   s3test.NewBucket(t, client.S3(), "ready-trash"),
		source:  s3test.NewBucket(t, client.S3(), "ready-src"),
		timeout: 10 * time.Second,
	}
}

func TestHealthReadiness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		adjust func(t *testing.T, r *readiness)
		status int
		lines  []string // each must be a line of the body, in order
		absent string   // must not be in the body
	}{
		{
			name:   "all ok",
			adjust: func(*testing.T, *readiness) {},
			status: http.StatusOK,
			lines:  []string{"[+]database ok", "[+]source_bucket ok", "[+]trash_bucket ok", "readyz check passed"},
		},
		{
			name:   "no source bucket configured",
			adjust: func(_ *testing.T, r *readiness) { r.source = "" },
			status: http.StatusOK,
			lines:  []string{"[+]database ok", "[+]trash_bucket ok", "readyz check passed"},
			absent: "source_bucket",
		},
		{
			name: "trash bucket missing",
			adjust: func(_ *testing.T, r *readiness) {
				r.trash = s3test.BucketName("ready-never-created")
			},
			status: http.StatusServiceUnavailable,
			lines:  []string{"[+]database ok", "[+]source_bucket ok", "[-]trash_bucket failed:", "readyz check failed"},
		},
		{
			name: "database unreachable",
			adjust: func(t *testing.T, r *readiness) {
				// sql.Open does not dial: the first check does, and
				// nothing listens on port 1.
				dsn := db.Options{Host: "127.0.0.1", Port: 1, User: "trashd", Database: "lms", DialTimeout: 2 * time.Second}.DSN()
				unreachable, err := sql.Open("mysql", dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unreachable.Close() })
				r.db = unreachable
			},
			status: http.StatusServiceUnavailable,
			lines:  []string{"[-]database failed:", "[+]source_bucket ok", "[+]trash_bucket ok", "readyz check failed"},
		},
		{
			// It answers pings, but no pass could ever start: the
			// missing privileges are named.
			name: "database user can only read",
			adjust: func(t *testing.T, r *readiness) {
				admin, opts := dbtest.Migrated(t)
				ro := dbtest.NewUser(t, admin, opts, "GRANT SELECT ON `"+opts.Database+"`.* TO {user}")
				roDB, err := db.Open(t.Context(), ro)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { roDB.Close() })
				r.db = roDB
			},
			status: http.StatusServiceUnavailable,
			lines: []string{"[-]database failed: the MySQL user lacks INSERT on trash_objects, UPDATE on trash_objects, INSERT on trash_runs, UPDATE on trash_runs",
				"[+]source_bucket ok", "[+]trash_bucket ok", "readyz check failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := setupReady(t)
			tt.adjust(t, &r)
			srv := serveHandler(t, nil, r.check)
			status, body := httpGet(t, srv.URL+"/readyz")
			t.Logf("GET /readyz: %d\n%s", status, body)
			if status != tt.status {
				t.Errorf("GET /readyz = %d, want %d\n%s", status, tt.status, body)
			}
			lines := strings.Split(strings.TrimSpace(body), "\n")
			if len(lines) != len(tt.lines) {
				t.Errorf("GET /readyz has %d lines, want %d:\n%s", len(lines), len(tt.lines), body)
			}
			for i, want := range tt.lines {
				if i < len(lines) && !strings.HasPrefix(lines[i], want) {
					t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], want)
				}
			}
			if tt.absent != "" && strings.Contains(body, tt.absent) {
				t.Errorf("GET /readyz mentions %q:\n%s", tt.absent, body)
			}
		})
	}
}

// The reason for a missing bucket and an unreachable database reaches the
// operator: which bucket, and that the connection was refused.
func TestHealthReadinessReasons(t *testing.T) {
	t.Parallel()
	r := setupReady(t)
	missing := s3test.BucketName("ready-never-created")
	r.trash = missing
	unreachable, err := sql.Open("mysql", db.Options{Host: "127.0.0.1", Port: 1, Database: "lms", DialTimeout: 2 * time.Second}.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unreachable.Close() })
	r.db = unreachable

	got := r.check(t.Context())
	if len(got) != 3 {
		t.Errorf("check returned %d results, want 3: %v", len(got), got)
	}
	if err := got["trash_bucket"]; err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("trash_bucket: %v, want an error naming %s", err, missing)
	}
	if err := got["database"]; err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("database: %v, want connection refused", err)
	}
	if err := got["source_bucket"]; err != nil {
		t.Errorf("source_bucket: %v, want nil", err)
	}
}

// hangingBuckets never answers until its context ends.
type hangingBuckets struct{}

func (hangingBuckets) CheckBucket(ctx context.Context, bucket string) error {
	<-ctx.Done()
	return ctx.Err()
}

// Each check has its own timeout, and they run at once: a dependency that
// hangs is reported as such and does not hold up the others.
func TestHealthReadinessTimeout(t *testing.T) {
	t.Parallel()
	r := setupReady(t)
	r.buckets = hangingBuckets{}
	r.timeout = 200 * time.Millisecond

	start := time.Now()
	got := r.check(t.Context())
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("check took %v with a 200ms timeout per dependency", elapsed)
	}
	if err := got["database"]; err != nil {
		t.Errorf("database: %v, want nil", err)
	}
	for _, name := range []string{"trash_bucket", "source_bucket"} {
		if err := got[name]; !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 200ms") {
			t.Errorf("%s: %v, want a timeout that says so", name, err)
		}
	}
}

func TestHealthRoutes(t *testing.T) {
	t.Parallel()
	srv := serveHandler(t, nil, nil)
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/metrics", http.StatusOK},
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodGet, "/readyz", http.StatusOK},
		{http.MethodHead, "/healthz", http.StatusOK},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed},
		{http.MethodGet, "/", http.StatusNotFound},
	} {
		req, err := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s = %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
}

// serveHandler starts newHTTPHandler on 127.0.0.1:0 for the test.
func serveHandler(t *testing.T, alive func() error, ready func(context.Context) map[string]error) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newHTTPHandler(prometheus.NewRegistry(), alive, ready))
	t.Cleanup(srv.Close)
	return srv
}

// httpGet GETs url and returns the status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" && !strings.HasSuffix(url, "/metrics") {
		t.Errorf("GET %s: Cache-Control %q, want no-store", url, cc)
	}
	return resp.StatusCode, string(body)
}
