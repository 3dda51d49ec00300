// Package dbtest gives tests a fresh, real MySQL database of their own.
//
// Each database is created on the server named by TRASHD_TEST_MYSQL_DSN
// (default root@tcp(127.0.0.1:3306)/, the server scripts/dev-up.sh starts),
// under a random name, and dropped when the test ends, so that tests in every
// package can run in parallel. Use it from _test files only.
package dbtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"trashd/db"
)

// DefaultDSN is the server used when TRASHD_TEST_MYSQL_DSN is not set.
const DefaultDSN = "root@tcp(127.0.0.1:3306)/"

// NewDatabase creates an empty database with a unique name, opens it with
// db.Open and drops it when tb ends. It fails tb at once when the server
// cannot be reached.
func NewDatabase(tb testing.TB) (*sql.DB, db.Options) {
	tb.Helper()
	cfg, err := mysql.ParseDSN(cmp.Or(os.Getenv("TRASHD_TEST_MYSQL_DSN"), DefaultDSN))
	if err != nil {
		tb.Fatalf("TRASHD_TEST_MYSQL_DSN: %v", err)
	}
	cfg.DBName = ""
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatalf("TRASHD_TEST_MYSQL_DSN: %v", err)
	}
	admin := sql.OpenDB(connector)
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		tb.Fatalf("MariaDB not reachable at %s: %v: run scripts/dev-up.sh (make test does)", cfg.Addr, err)
	}

	b := make([]byte, 6)
	rand.Read(b)
	name := "trashd_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		admin.Close()
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})

	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		tb.Fatalf("TRASHD_TEST_MYSQL_DSN address %q: %v", cfg.Addr, err)
	}
	portNum, err := strconv.Atoi(port)
	if err != nil {
		tb.Fatalf("TRASHD_TEST_MYSQL_DSN port %q: %v", port, err)
	}
	opts := db.Options{
		Host:     host,
		Port:     portNum,
		User:     cfg.User,
		Password: cfg.Passwd,
		Database: name,
		TLS:      cfg.TLSConfig,
	}
	sqlDB, err := db.Open(ctx, opts)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	// Registered after the drop, so it runs before it: the drop would wait
	// for this pool's open transactions otherwise.
	tb.Cleanup(func() { sqlDB.Close() })
	return sqlDB, opts
}

// Migrated is NewDatabase with trashd's tables migrated.
func Migrated(tb testing.TB) (*sql.DB, db.Options) {
	tb.Helper()
	sqlDB, opts := NewDatabase(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.Migrate(ctx, sqlDB); err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return sqlDB, opts
}
