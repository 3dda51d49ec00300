package s3test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a reverse proxy on 127.0.0.1 in front of the real S3 endpoint,
// for tests where another process (a real trashd binary) talks S3: give it
// Proxy.URL as its endpoint. A test can hold the requests that match a
// predicate, hear about each through a channel, and then release it to the
// server, fail it, or drop its connection.
//
// It forwards each request with the Host header the client sent, because
// SigV4 signs the Host: a request rewritten to the server's host:port would
// fail with SignatureDoesNotMatch.
type Proxy struct {
	URL string // the endpoint to give clients

	srv     *httptest.Server
	forward *httputil.ReverseProxy
	closing chan struct{}

	mu    sync.Mutex
	holds []hold
}

type hold struct {
	match func(*http.Request) bool
	held  chan *Held
}

// NewProxy starts a Proxy in front of target (an http:// endpoint) and
// stops it when the test ends, dropping whatever it still holds.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("proxy target %q: %v", target, err)
	}
	p := &Proxy{closing: make(chan struct{})}
	p.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // signed by SigV4
			// SetURL joins the target's path with the request's; keep
			// the client's escaped path exactly as it signed it.
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
		},
		// Forward the server's answer as it comes (streamed GETs).
		FlushInterval: -1,
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	tb.Cleanup(func() {
		close(p.closing)
		p.srv.Close()
	})
	return p
}

// Hold makes the proxy hold every request that match accepts (use Once or
// Nth for just one) instead of forwarding it, and announces each on the
// returned channel; the request waits there until the test decides. The
// first Hold whose predicate matches a request wins.
func (p *Proxy) Hold(match func(*http.Request) bool) <-chan *Held {
	ch := make(chan *Held, 64)
	p.mu.Lock()
	p.holds = append(p.holds, hold{match: match, held: ch})
	p.mu.Unlock()
	return ch
}

// Held is a request the proxy holds.
type Held struct {
	Request   string // as Describe writes it: "DeleteObject bucket/key"
	Operation string
	Bucket    string
	Key       string
	VersionID string

	decide chan decision
	once   sync.Once
}

// decision is what happens to a held request: forwarded (the zero value),
// dropped, or answered with an error.
type decision struct {
	drop bool
	fail Fault
}

// Release forwards the request to the server.
func (h *Held) Release() { h.decideOnce(decision{}) }

// Drop closes the client's connection without an answer, as a network
// failure or a crashed server would.
func (h *Held) Drop() { h.decideOnce(decision{drop: true}) }

// Fail answers with an S3 error instead of forwarding the request.
func (h *Held) Fail(status int, code, message string) {
	h.decideOnce(decision{fail: Fault{Status: status, Code: code, Message: message}})
}

// decideOnce delivers the first decision; later ones do nothing.
func (h *Held) decideOnce(d decision) {
	h.once.Do(func() { h.decide <- d })
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if held := p.held(r); held != nil {
		var d decision
		select {
		case d = <-held.decide:
		case <-r.Context().Done():
			return
		case <-p.closing:
			d.drop = true
		}
		switch {
		case d.drop:
			// net/http closes the connection without writing a response.
			panic(http.ErrAbortHandler)
		case d.fail.Status != 0:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(d.fail.Status)
			if r.Method != http.MethodHead {
				_, _ = w.Write([]byte(ErrorBody(d.fail.Code, d.fail.Message)))
			}
			return
		}
	}
	p.forward.ServeHTTP(w, r)
}

// held registers r as held if a Hold matches it, and announces it.
func (p *Proxy) held(r *http.Request) *Held {
	p.mu.Lock()
	var ch chan *Held
	for _, h := range p.holds {
		if h.match(r) {
			ch = h.held
			break
		}
	}
	p.mu.Unlock()
	if ch == nil {
		return nil
	}
	bucket, key := BucketKey(r)
	h := &Held{
		Request:   Describe(r),
		Operation: Operation(r),
		Bucket:    bucket,
		Key:       key,
		VersionID: r.URL.Query().Get("versionId"),
		decide:    make(chan decision, 1),
	}
	select {
	case ch <- h:
	default:
		// Nobody is listening and the buffer is full: forward it rather
		// than hold it forever.
		return nil
	}
	return h
}
