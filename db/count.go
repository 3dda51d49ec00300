package db

import (
	"context"
	"database/sql/driver"
	"sync/atomic"
)

// Statements counts the statements a pool sends to the server, as its
// Questions status counter would count them: every query and every
// statement run, and the START TRANSACTION, COMMIT and ROLLBACK of each
// transaction (pings and the driver's own session setup are not counted).
// It is safe for concurrent use.
type Statements struct{ n atomic.Int64 }

// Load returns the statements counted so far.
func (s *Statements) Load() int64 {
	if s == nil {
		return 0
	}
	return s.n.Load()
}

func (s *Statements) add() { s.n.Add(1) }

// countingConnector counts the statements of every connection it makes.
type countingConnector struct {
	driver.Connector
	n *Statements
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{conn: conn, n: c.n}, nil
}

// countingConn passes every call to the driver's connection, which
// implements all of these interfaces (go-sql-driver/mysql), so that
// database/sql takes the same paths as without it: interpolated queries, no
// prepared statements.
type countingConn struct {
	conn driver.Conn
	n    *Statements
}

var (
	_ driver.ExecerContext      = (*countingConn)(nil)
	_ driver.QueryerContext     = (*countingConn)(nil)
	_ driver.ConnBeginTx        = (*countingConn)(nil)
	_ driver.ConnPrepareContext = (*countingConn)(nil)
	_ driver.Pinger             = (*countingConn)(nil)
	_ driver.SessionResetter    = (*countingConn)(nil)
	_ driver.Validator          = (*countingConn)(nil)
	_ driver.NamedValueChecker  = (*countingConn)(nil)
)

func (c *countingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }
func (c *countingConn) Close() error                              { return c.conn.Close() }

//nolint:staticcheck // driver.Conn requires Begin; database/sql calls BeginTx.
func (c *countingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	c.n.add()
	if err != nil {
		return nil, err
	}
	return countingTx{tx, c.n}, nil
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.n.add()
	}
	return res, err
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.n.add()
	}
	return rows, err
}

func (c *countingConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *countingConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

type countingTx struct {
	tx driver.Tx
	n  *Statements
}

func (t countingTx) Commit() error   { t.n.add(); return t.tx.Commit() }
func (t countingTx) Rollback() error { t.n.add(); return t.tx.Rollback() }
