package s3test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
)

// Wire records every byte a client writes on its connections, beneath
// net/http: a test reads from it which requests really went out, whatever
// the client's error says and however the transport tore the connection
// down. Put Wire.DialContext in the client's http.Transport.
type Wire struct {
	mu    sync.Mutex
	conns []*bytes.Buffer // one per connection, in the order they were dialled
}

// DialContext dials as a net.Dialer does and records what is written on the
// connection.
func (w *Wire) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	buf := new(bytes.Buffer)
	w.mu.Lock()
	w.conns = append(w.conns, buf)
	w.mu.Unlock()
	return &wireConn{Conn: c, wire: w, sent: buf}, nil
}

// Requests lists the requests written so far, as Describe writes them, in
// the order they went out on each connection; a request cut off part way is
// listed too, as "partial " and the first line of what was written on that
// connection.
func (w *Wire) Requests() []string {
	w.mu.Lock()
	streams := make([][]byte, len(w.conns))
	for i, b := range w.conns {
		streams[i] = bytes.Clone(b.Bytes())
	}
	w.mu.Unlock()
	var reqs []string
	for _, s := range streams {
		br := bufio.NewReader(bytes.NewReader(s))
		for {
			if _, err := br.Peek(1); err != nil {
				break
			}
			r, err := http.ReadRequest(br)
			if err == nil {
				_, err = io.Copy(io.Discard, r.Body)
			}
			if err != nil {
				line, _, _ := bytes.Cut(s, []byte("\r\n"))
				reqs = append(reqs, "partial "+string(line))
				break
			}
			reqs = append(reqs, Describe(r))
		}
	}
	return reqs
}

type wireConn struct {
	net.Conn
	wire *Wire
	sent *bytes.Buffer
}

func (c *wireConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.wire.mu.Lock()
	c.sent.Write(p[:n])
	c.wire.mu.Unlock()
	return n, err
}
