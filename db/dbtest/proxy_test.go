package dbtest_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trashd/db"
	"trashd/db/dbtest"
)

// throughProxy returns a direct pool on a fresh database with a table t (one
// row, id 1, n 0), and a proxy in front of the server with a pool of one
// connection through it.
func throughProxy(t *testing.T) (direct, proxied *sql.DB, p *dbtest.Proxy) {
	t.Helper()
	direct, opts := dbtest.NewDatabase(t)
	if _, err := direct.Exec("CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := direct.Exec("INSERT INTO t VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	p = dbtest.NewProxy(t, net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	opts.Host, opts.Port, opts.MaxOpenConns = p.Host, p.Port, 1
	proxied, err := db.Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("open through the proxy: %v", err)
	}
	t.Cleanup(func() { proxied.Close() })
	return direct, proxied, p
}

func value(t *testing.T, d *sql.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow("SELECT n FROM t WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestProxyForwardsAndSeesCommands(t *testing.T) {
	t.Parallel()
	direct, proxied, p := throughProxy(t)
	var seen []string
	var writes atomic.Int32
	p.SetRule(func(c dbtest.Command) dbtest.Action {
		if c.Type == dbtest.ComQuery {
			seen = append(seen, c.String()) // one connection: no race
		}
		if c.Write() {
			writes.Add(1)
		}
		return dbtest.Action{}
	})
	if _, err := proxied.Exec("UPDATE t SET n = ? WHERE id = ?", 7, 1); err != nil {
		t.Fatal(err)
	}
	tx, err := proxied.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("/* why */ UPDATE t SET n = n + 1"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := value(t, proxied); got != 8 {
		t.Errorf("n = %d through the proxy, want 8", got)
	}
	if got := value(t, direct); got != 8 {
		t.Errorf("n = %d at the server, want 8", got)
	}
	// Interpolated parameters: the statement arrives whole.
	if len(seen) == 0 || seen[0] != "UPDATE t SET n = 7 WHERE id = 1" {
		t.Errorf("first statement seen %q, want the UPDATE with its values", seen)
	}
	// UPDATE, UPDATE, COMMIT; not START TRANSACTION or SELECT.
	if got := writes.Load(); got != 3 {
		t.Errorf("%d writes counted, want 3: %q", got, seen)
	}
}

// A held UPDATE is committed at the server while its client still waits;
// released, the client goes on.
func TestProxyHoldsTheResponse(t *testing.T) {
	t.Parallel()
	direct, proxied, p := throughProxy(t)
	p.SetRule(func(c dbtest.Command) dbtest.Action {
		return dbtest.Action{Hold: strings.HasPrefix(c.SQL, "UPDATE t")}
	})
	done := make(chan error, 1)
	go func() {
		_, err := proxied.Exec("UPDATE t SET n = 5 WHERE id = 1")
		done <- err
	}()
	var h *dbtest.HeldResponse
	select {
	case h = <-p.Held():
	case err := <-done:
		t.Fatalf("the UPDATE returned (%v) without being held", err)
	case <-time.After(time.Minute):
		t.Fatal("no response held")
	}
	if !strings.Contains(h.Command.SQL, "n = 5") {
		t.Errorf("held %q", h.Command.SQL)
	}
	// The response reached the proxy: the statement ran and, in
	// autocommit, committed.
	if got := value(t, direct); got != 5 {
		t.Errorf("n = %d at the server while the response is held, want 5", got)
	}
	select {
	case err := <-done:
		t.Fatalf("the client heard back (%v) while its response was held", err)
	default:
	}
	h.Release()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("released UPDATE: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the released UPDATE did not return")
	}
}

// After runs once the response is forwarded; Close then drops the
// connection, which the pool replaces.
func TestProxyAfterAndClose(t *testing.T) {
	t.Parallel()
	direct, proxied, p := throughProxy(t)
	var after atomic.Int32
	p.SetRule(func(c dbtest.Command) dbtest.Action {
		if c.Write() {
			return dbtest.Action{After: func() { after.Add(1) }, Close: true}
		}
		return dbtest.Action{}
	})
	if _, err := proxied.Exec("UPDATE t SET n = 3 WHERE id = 1"); err != nil {
		t.Fatalf("the UPDATE whose connection closes after the response: %v", err)
	}
	if got := after.Load(); got != 1 {
		t.Errorf("After ran %d times, want 1", got)
	}
	if got := value(t, direct); got != 3 {
		t.Errorf("n = %d at the server, want 3", got)
	}
	// The closed connection is noticed and replaced.
	if got := value(t, proxied); got != 3 {
		t.Errorf("n = %d through the proxy, want 3", got)
	}
	if n := len(p.ServerAddrs()); n < 2 {
		t.Errorf("%d server connections, want a second after the close", n)
	}
}

// A stalled command never reaches the server.
func TestProxyStall(t *testing.T) {
	t.Parallel()
	direct, proxied, p := throughProxy(t)
	p.SetRule(func(c dbtest.Command) dbtest.Action { return dbtest.Action{Stall: c.Write()} })
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := proxied.ExecContext(ctx, "UPDATE t SET n = 9 WHERE id = 1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled UPDATE: %v, want the deadline", err)
	}
	if got := value(t, direct); got != 0 {
		t.Errorf("n = %d at the server, want 0: the stalled UPDATE arrived", got)
	}
}

func TestIsWrite(t *testing.T) {
	t.Parallel()
	for sql, want := range map[string]bool{
		"INSERT INTO t VALUES (1)":               true,
		"  update t set n = 1":                   true,
		"/* a */ /* b */DELETE FROM t":           true,
		"-- note\nREPLACE INTO t VALUES (1)":     true,
		"# note\n\tCOMMIT":                       true,
		"SELECT * FROM t WHERE x = 'UPDATE'":     false,
		"START TRANSACTION":                      false,
		"ROLLBACK":                               false,
		"SET time_zone = '+00:00'":               false,
		"/* unterminated UPDATE":                 false,
		"SELECT 1 FROM t FOR UPDATE SKIP LOCKED": false,
	} {
		if got := dbtest.IsWrite(sql); got != want {
			t.Errorf("IsWrite(%q) = %v, want %v", sql, got, want)
		}
	}
}
