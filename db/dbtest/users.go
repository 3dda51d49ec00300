package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"trashd/db"
)

// NewUser creates a MySQL user with a unique name and password, runs each
// statement with {user} replaced by its account ('name'@'%'), drops the
// user when tb ends, and returns opts for connecting as it. admin must be
// allowed to create users (the test server's root is).
func NewUser(tb testing.TB, admin *sql.DB, opts db.Options, statements ...string) db.Options {
	tb.Helper()
	name, password := "trashd_t_"+randomHex(6), randomHex(12)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE USER "+Account(name)+" IDENTIFIED BY '"+password+"'"); err != nil {
		tb.Fatalf("create user: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP USER IF EXISTS "+Account(name)); err != nil {
			tb.Errorf("drop user %s: %v", name, err)
		}
	})
	for _, s := range statements {
		if _, err := admin.ExecContext(ctx, strings.ReplaceAll(s, "{user}", Account(name))); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
	opts.User, opts.Password = name, password
	return opts
}

// Account names user name at any host, for SQL.
func Account(name string) string { return "'" + name + "'@'%'" }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
