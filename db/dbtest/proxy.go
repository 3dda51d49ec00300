package dbtest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of the real MySQL server, for
// tests where another process (a real trashd binary) talks to the database:
// point it at Proxy.Host and Proxy.Port. It forwards bytes both ways
// untouched and reads the client's packets to see each command, so that a
// rule can decide, command by command, to let it pass, to hold the server's
// response (the statement runs and commits; the client does not hear back),
// to run a hook (kill the client) or close the connection right after the
// response reached the client, or never to send the command at all.
//
// It relies on trashd's driver settings: no TLS, no compression, and
// interpolated parameters, so that every statement is a COM_QUERY holding
// its whole SQL text.
type Proxy struct {
	Host string // 127.0.0.1
	Port int

	target  string
	ln      net.Listener
	held    chan *HeldResponse
	closing chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	rule    Rule
	conns   map[int]*proxyConn
	nextID  int
	servers []string // local addresses of the connections to the server
}

// Command is one command a client sent.
type Command struct {
	Conn int    // the proxy's number for the client's connection, from 1
	Type byte   // the command byte: ComQuery, ComQuit, ...
	SQL  string // for ComQuery, the statement's text
}

// MySQL command bytes a rule may look at.
const (
	ComQuit  = 0x01
	ComQuery = 0x03
	ComPing  = 0x0e
)

// Write reports whether c is a statement that writes: its first word is
// INSERT, UPDATE, DELETE, REPLACE or COMMIT.
func (c Command) Write() bool { return c.Type == ComQuery && IsWrite(c.SQL) }

// String describes c for logs: the statement, on one line.
func (c Command) String() string {
	if c.Type != ComQuery {
		return "command 0x" + strconv.FormatUint(uint64(c.Type), 16)
	}
	return strings.Join(strings.Fields(c.SQL), " ")
}

// Rule decides what happens to one command. It is called from each client
// connection's goroutine, so concurrently.
type Rule func(Command) Action

// Action is what the proxy does with a command. The zero Action passes it.
type Action struct {
	// Hold sends the command but keeps the server's response from the
	// client: it is announced on Held once it arrived, and waits there
	// until released or dropped.
	Hold bool
	// After runs once the first packet of the server's response (for a
	// write, the whole OK or ERR) has been forwarded to the client.
	After func()
	// Close closes the connection once the first packet of the response
	// has been forwarded (after After).
	Close bool
	// Stall never sends the command: the connection hangs until the
	// client or the proxy closes it, as if the client had died first.
	Stall bool
}

// NewProxy starts a Proxy in front of target (host:port) and closes it, with
// every connection through it, when the test ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("MySQL proxy: %v", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	p := &Proxy{
		Host: "127.0.0.1", Port: addr.Port,
		target: target, ln: ln,
		held:    make(chan *HeldResponse, 64),
		closing: make(chan struct{}),
		conns:   map[int]*proxyConn{},
	}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

// Addr is host:port of the proxy.
func (p *Proxy) Addr() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// SetRule makes rule decide every command from now on; nil passes all.
func (p *Proxy) SetRule(rule Rule) {
	p.mu.Lock()
	p.rule = rule
	p.mu.Unlock()
}

// Held announces each response held by an Action with Hold.
func (p *Proxy) Held() <-chan *HeldResponse { return p.held }

// ServerAddrs lists the local addresses (host:port) of every connection the
// proxy opened to the server, as the server's processlist shows them in
// HOST: a test can wait there until the server has seen them all close.
func (p *Proxy) ServerAddrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.servers...)
}

// CloseConns closes every connection through the proxy, both ways, and
// releases nothing that is held: held responses are dropped.
func (p *Proxy) CloseConns() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for _, c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Close stops accepting, closes every connection and waits for the proxy's
// goroutines.
func (p *Proxy) Close() {
	select {
	case <-p.closing:
		return
	default:
	}
	close(p.closing)
	p.ln.Close()
	p.CloseConns()
	p.wg.Wait()
}

// HeldResponse is a response the proxy keeps from its client.
type HeldResponse struct {
	Command Command

	decide chan bool // true: forward; false: drop
	once   sync.Once
}

// Release forwards the response to the client.
func (h *HeldResponse) Release() { h.once.Do(func() { h.decide <- true }) }

// Drop closes the connection instead of forwarding the response.
func (h *HeldResponse) Drop() { h.once.Do(func() { h.decide <- false }) }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.nextID++
		c := &proxyConn{p: p, id: p.nextID, client: client, server: server, pending: make(chan pendingAction, 1), done: make(chan struct{})}
		p.conns[c.id] = c
		p.servers = append(p.servers, server.LocalAddr().String())
		p.mu.Unlock()
		p.wg.Add(2)
		go c.fromClient()
		go c.fromServer()
	}
}

// proxyConn is one client's connection and the proxy's to the server.
type proxyConn struct {
	p              *Proxy
	id             int
	client, server net.Conn
	// pending is the action for the response to the command just sent:
	// a client waits for each response before its next command.
	pending chan pendingAction
	done    chan struct{} // closed by close
	once    sync.Once
}

type pendingAction struct {
	Action
	cmd Command
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		close(c.done)
		c.client.Close()
		c.server.Close()
		c.p.mu.Lock()
		delete(c.p.conns, c.id)
		c.p.mu.Unlock()
	})
}

// fromClient forwards the client's packets and has the rule decide each
// command: a packet with sequence id 0 starts a command (the handshake
// response and auth-switch answers never do).
func (c *proxyConn) fromClient() {
	defer c.p.wg.Done()
	defer c.close()
	long := false // the previous packet was 16 MiB - 1: this one continues it
	for {
		pkt, err := readPacket(c.client)
		if err != nil {
			return
		}
		length, seq := packetHeader(pkt)
		if seq == 0 && !long && length > 0 {
			cmd := Command{Conn: c.id, Type: pkt[4]}
			if cmd.Type == ComQuery {
				cmd.SQL = string(pkt[5:])
			}
			c.p.mu.Lock()
			rule := c.p.rule
			c.p.mu.Unlock()
			var a Action
			if rule != nil {
				a = rule(cmd)
			}
			if a.Stall {
				// Read (and drop) whatever else comes until the end.
				_, _ = io.Copy(io.Discard, c.client)
				return
			}
			// COM_QUIT has no response to act on.
			if cmd.Type != ComQuit && (a.Hold || a.After != nil || a.Close) {
				c.pending <- pendingAction{a, cmd}
			}
		}
		long = length == maxPacket
		if _, err := c.server.Write(pkt); err != nil {
			return
		}
	}
}

// fromServer forwards the server's packets; the first packet after a
// command that has an Action is where that action applies.
func (c *proxyConn) fromServer() {
	defer c.p.wg.Done()
	defer c.close()
	for {
		pkt, err := readPacket(c.server)
		if err != nil {
			return
		}
		var a *pendingAction
		select {
		case act := <-c.pending:
			a = &act
		default:
		}
		if a != nil && a.Hold {
			h := &HeldResponse{Command: a.cmd, decide: make(chan bool, 1)}
			select {
			case c.p.held <- h:
			default:
			}
			var forward bool
			select {
			case forward = <-h.decide:
			case <-c.done:
			case <-c.p.closing:
			}
			if !forward {
				return
			}
		}
		if _, err := c.client.Write(pkt); err != nil {
			return
		}
		if a != nil {
			if a.After != nil {
				a.After()
			}
			if a.Close {
				return
			}
		}
	}
}

const maxPacket = 1<<24 - 1

// readPacket reads one MySQL packet, header included.
func readPacket(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	pkt := make([]byte, 4+n)
	copy(pkt, h[:])
	if _, err := io.ReadFull(r, pkt[4:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return pkt, nil
}

// packetHeader returns a packet's payload length and sequence id.
func packetHeader(pkt []byte) (int, byte) {
	return int(binary.LittleEndian.Uint32(append(pkt[:3:3], 0))), pkt[3]
}

// IsWrite reports whether the statement's first word, after whitespace and
// comments, is INSERT, UPDATE, DELETE, REPLACE or COMMIT.
func IsWrite(sql string) bool {
	switch strings.ToUpper(FirstWord(sql)) {
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "COMMIT":
		return true
	}
	return false
}

// FirstWord returns the first word of a statement, skipping whitespace and
// /* */, -- and # comments.
func FirstWord(sql string) string {
	s := sql
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "/*"):
			end := strings.Index(s[2:], "*/")
			if end < 0 {
				return ""
			}
			s = s[2+end+2:]
		case strings.HasPrefix(s, "#"), strings.HasPrefix(s, "-- "), s == "--":
			end := strings.IndexByte(s, '\n')
			if end < 0 {
				return ""
			}
			s = s[end+1:]
		default:
			end := strings.IndexFunc(s, func(r rune) bool {
				return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '_')
			})
			if end < 0 {
				return s
			}
			return s[:end]
		}
	}
}
