package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"

	"trashd/db"
	"trashd/reconcile"
	"trashd/s3ops"
)

// loadConfig reads and parses the environment; the error lists every
// problem (code 2). Warnings (unknown TRASHD_ variables) go to stderr.
func loadConfig(stderr io.Writer) (Config, error) {
	e, err := readEnv()
	if err != nil {
		return Config{}, configErr(err)
	}
	cfg, err := parse(e)
	if err != nil {
		return Config{}, configErr(err)
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "trashd: warning: %s\n", w)
	}
	return cfg, nil
}

// loadStore reads the configuration and opens the store, as most commands
// begin.
func loadStore(ctx context.Context, c *cli) (Config, *sql.DB, *db.Store, error) {
	cfg, err := loadConfig(c.stderr)
	if err != nil {
		return cfg, nil, nil, err
	}
	sqlDB, store, err := openStore(ctx, cfg, c)
	return cfg, sqlDB, store, err
}

// openStore opens the database and the store over the LMS table, printing
// the store's warnings. An unreachable database is an error (code 1), a
// schema that does not match the configuration a usage error (code 2).
func openStore(ctx context.Context, cfg Config, c *cli) (*sql.DB, *db.Store, error) {
	sqlDB, err := db.Open(ctx, cfg.DB)
	if err != nil {
		return nil, nil, err
	}
	store, err := db.NewStore(ctx, sqlDB, cfg.LMS)
	if err != nil {
		sqlDB.Close()
		return nil, nil, configErr(err)
	}
	for _, w := range store.Warnings() {
		fmt.Fprintf(c.stderr, "trashd: warning: %s\n", escapeText(w))
	}
	return sqlDB, store, nil
}

func openS3(ctx context.Context, cfg Config) (*s3ops.Client, error) {
	client, err := s3ops.New(ctx, cfg.S3)
	return client, configErr(err)
}

// newRunner builds the S3 client from s3opts and a runner over store, with
// this process as the lease owner.
func newRunner(ctx context.Context, cfg Config, s3opts s3ops.Options, store *db.Store, log *slog.Logger,
	opts ...reconcile.Option) (*reconcile.Runner, *s3ops.Client, error) {
	client, err := s3ops.New(ctx, s3opts)
	if err != nil {
		return nil, nil, configErr(err)
	}
	rcfg := cfg.Reconcile
	rcfg.Owner, rcfg.Host = owner(), hostname()
	runner, err := reconcile.NewRunner(store, client, rcfg, log, opts...)
	if err != nil {
		return nil, nil, configErr(err)
	}
	return runner, client, nil
}

// owner names this process in leases: host, pid and a random suffix, so that
// two processes on one host (or a restarted one with a reused pid) differ.
func owner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%04x", host, os.Getpid(), rand.N(1<<16))
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
