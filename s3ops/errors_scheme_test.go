package s3ops_test

import (
	"cmp"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// countingClient counts the requests that reach the transport: one per SDK
// attempt.
type countingClient struct {
	http.Client
	n atomic.Int32
}

func newCountingClient() *countingClient {
	c := &countingClient{}
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.n.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	return c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// An endpoint whose scheme does not match what its port speaks fails at
// once, permanently, and says which scheme to use; it is neither retried by
// the SDK nor reported as transient.
func TestEndpointSchemeMismatch(t *testing.T) {
	t.Parallel()
	seaweed, err := url.Parse(s3test.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	mysqlCfg, err := mysql.ParseDSN(cmp.Or(os.Getenv("TRASHD_TEST_MYSQL_DSN"), "root@tcp(127.0.0.1:3306)/"))
	if err != nil {
		t.Fatal(err)
	}

	// A TLS port in front of the real SeaweedFS.
	tlsPort := httptest.NewUnstartedServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(seaweed)
		pr.Out.Host = pr.In.Host // signed by SigV4
	}})
	tlsPort.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsPort.StartTLS()
	t.Cleanup(tlsPort.Close)

	for _, tc := range []struct {
		name     string
		endpoint string
		contains []string
		attempts int32 // requests sent: 1, no retry
	}{
		{"https:// to SeaweedFS's plain-HTTP port", "https://" + seaweed.Host,
			[]string{"plain HTTP", "use http:// in TRASHD_S3_ENDPOINT"}, 1},
		{"https:// to MySQL's port", "https://" + mysqlCfg.Addr,
			[]string{"does not speak TLS", "check the port in TRASHD_S3_ENDPOINT"}, 1},
		{"http:// to a TLS port", strings.Replace(tlsPort.URL, "https://", "http://", 1),
			[]string{"HTTP 400", "not S3's", "use https:// in TRASHD_S3_ENDPOINT"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hc := newCountingClient()
			o := s3test.Options(t)
			o.Endpoint, o.HTTPClient = tc.endpoint, hc
			c := s3test.NewClient(t, o)
			err := c.CheckBucket(t.Context(), "lms")
			if !errors.Is(err, reconcile.ErrPermanent) || errors.Is(err, reconcile.ErrTransient) {
				t.Errorf("%v: want a permanent error", err)
			}
			for _, w := range tc.contains {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%v: lacks %q", err, w)
				}
			}
			if n := hc.n.Load(); n != tc.attempts {
				t.Errorf("%d requests sent, want %d", n, tc.attempts)
			}
		})
	}

	// The SDK's own client, as trashd runs it, says the same.
	o := s3test.Options(t)
	o.Endpoint = "https://" + seaweed.Host
	err = s3test.NewClient(t, o).CheckBucket(t.Context(), "lms")
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), "use http://") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("%v: want a permanent error, at the first attempt, that says to use http://", err)
	}
}
