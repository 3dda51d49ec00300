// Command s3proxy is a reverse proxy in front of an S3 endpoint for the
// benchmark: it adds a fixed delay to every request, as a network farther
// from S3 would, and counts the requests per S3 operation (HeadObject,
// CopyObject, DeleteObject, DeleteObjects, UploadPartCopy, ... as
// trashd/s3ops/s3test.Operation names them; the method for anything else).
//
//	go run ./scripts/s3proxy -delay 15ms -addr-file .dev/bench/proxy.url
//
// Point path-style clients at the URL it prints on stdout (and writes to
// -addr-file) once it listens; they sign with the server's own credentials.
// GET /__counts answers the counts so far as JSON (?reset=1 zeroes them
// after reading); that path is never forwarded, and no bucket can be named
// "__counts". On SIGTERM or SIGINT it prints the counts on stdout and exits.
//
// Flags default from the environment: the target from TRASHD_TEST_S3_ENDPOINT
// (what dev-up writes to .dev/env), then the local dev server.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"trashd/s3ops/s3test"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "s3proxy:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "s3proxy:", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

type options struct {
	listen   string
	target   *url.URL
	delay    time.Duration
	addrFile string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var target string
	fs := flag.NewFlagSet("s3proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on (port 0: a free port that is no SeaweedFS gRPC port)")
	fs.StringVar(&target, "target", cmp.Or(os.Getenv("TRASHD_TEST_S3_ENDPOINT"), s3test.DefaultEndpoint), "the S3 endpoint to forward to (http://host:port)")
	fs.DurationVar(&o.delay, "delay", 0, "added to every request before it is forwarded")
	fs.StringVar(&o.addrFile, "addr-file", "", "also write the URL to this file once listening")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return o, usageError{fmt.Errorf("-target %q: want an endpoint such as http://127.0.0.1:8333", target)}
	}
	if o.delay < 0 {
		return o, usageError{fmt.Errorf("-delay %s: must not be negative", o.delay)}
	}
	o.target = u
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ln, err := listen(o.listen)
	if err != nil {
		return err
	}
	p := newProxy(o.target, o.delay)
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	addr := "http://" + ln.Addr().String()
	if o.addrFile != "" {
		if err := writeAtomically(o.addrFile, addr+"\n"); err != nil {
			srv.Close()
			return err
		}
	}
	fmt.Fprintln(stdout, addr)

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdown); serr != nil && err == nil {
		err = serr
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if jerr := enc.Encode(p.counts.read(false)); jerr != nil && err == nil {
		err = jerr
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// countsPath is answered by the proxy itself. S3 bucket names hold only
// lowercase letters, digits, dots and hyphens, so no request for a bucket
// can take it.
const countsPath = "/__counts"

type proxy struct {
	delay   time.Duration
	forward *httputil.ReverseProxy
	counts  *counter
}

func newProxy(target *url.URL, delay time.Duration) *proxy {
	p := &proxy{delay: delay, counts: newCounter(delay)}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// The benchmark's clients keep dozens of requests in flight; with Go's
	// default of 2 idle connections per host, most would open a new
	// connection to the server, and the proxy would measure its own churn.
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 1024
	// Left on, the transport would ask for gzip and unzip the answer,
	// changing what the client receives.
	transport.DisableCompression = true
	p.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// SigV4 signs the Host the client connected to, and the server
			// checks the signature with the Host it receives: forward the
			// client's, not the target's host:port.
			pr.Out.Host = pr.In.Host
			// SetURL joins the target's path with the request's; keep the
			// client's escaped path exactly as it signed it.
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
		},
		Transport: transport,
		// Forward the server's answer as it comes (streamed GETs).
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 400 {
				p.counts.failed(operation(resp.Request))
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.counts.failed(operation(r))
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return p
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == countsPath {
		p.serveCounts(w, r)
		return
	}
	p.counts.request(operation(r))
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	p.forward.ServeHTTP(w, r)
}

func (p *proxy) serveCounts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	reset, _ := strconv.ParseBool(r.URL.Query().Get("reset"))
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(p.counts.read(reset))
}

// operation names the S3 operation of r, or its method when s3test does not
// know it.
func operation(r *http.Request) string {
	return cmp.Or(s3test.Operation(r), r.Method)
}

// Counts is the JSON the proxy answers at /__counts and prints when it stops.
type Counts struct {
	Delay    string           `json:"delay"`
	Total    int64            `json:"total"`
	Requests map[string]int64 `json:"requests"` // per operation
	// Errors counts, per operation, the answers of status 400 or more
	// (a HEAD of a missing key, a refused precondition, a 503 SlowDown) and
	// the round trips that failed.
	Errors map[string]int64 `json:"errors"`
}

type counter struct {
	delay time.Duration

	mu       sync.Mutex
	total    int64
	requests map[string]int64
	errors   map[string]int64
}

func newCounter(delay time.Duration) *counter {
	return &counter{delay: delay, requests: map[string]int64{}, errors: map[string]int64{}}
}

func (c *counter) request(op string) {
	c.mu.Lock()
	c.total++
	c.requests[op]++
	c.mu.Unlock()
}

func (c *counter) failed(op string) {
	c.mu.Lock()
	c.errors[op]++
	c.mu.Unlock()
}

// read returns the counts so far, and zeroes them when reset is set, in one
// step, so that no request falls between the reading and the reset.
func (c *counter) read(reset bool) Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Counts{Delay: c.delay.String(), Total: c.total, Requests: c.requests, Errors: c.errors}
	if reset {
		c.total, c.requests, c.errors = 0, map[string]int64{}, map[string]int64{}
	} else {
		out.Requests, out.Errors = copyCounts(c.requests), copyCounts(c.errors)
	}
	return out
}

func copyCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// seaweedGRPCPorts are the gRPC ports of a SeaweedFS started with its
// default HTTP ports (S3 8333, master 9333, volume 8080, filer 8888, the
// mini master 9340, admin 23646): each is its HTTP port + 10000. Only 33646
// lies in Linux's usual range of ephemeral ports, but a proxy on any of them
// would stop a SeaweedFS started after it.
var seaweedGRPCPorts = map[int]bool{18333: true, 19333: true, 18080: true, 18888: true, 19340: true, 33646: true}

// listen listens on addr; for port 0 it takes a port that is neither one of
// seaweedGRPCPorts nor 10000 above a port something listens on (the gRPC
// port of a SeaweedFS server on other ports, which may not be up yet).
func listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usageError{fmt.Errorf("-listen %q: %w", addr, err)}
	}
	if port != "0" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	// Rejected listeners stay open until one is kept, so that the kernel
	// does not hand the same port back.
	var rejected []net.Listener
	defer func() {
		for _, ln := range rejected {
			ln.Close()
		}
	}()
	for range 20 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		if !seaweedGRPCPorts[p] && !listening(host, p-10000) {
			return ln, nil
		}
		rejected = append(rejected, ln)
	}
	return nil, fmt.Errorf("listen on %s: every port offered was a SeaweedFS gRPC port", addr)
}

// listening reports whether something accepts TCP connections on host:port.
func listening(host string, port int) bool {
	if port <= 0 {
		return false
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// writeAtomically writes data to path through a temporary file and a
// rename, so that a script waiting for the file never reads half of it.
func writeAtomically(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".s3proxy-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
