package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"

	"trashd/db"
	"trashd/reconcile"
	"trashd/s3ops"
)

// loadConfig reads and parses the environment, printing every problem.
func loadConfig(stderr io.Writer) (Config, bool) {
	e, err := readEnv()
	if err == nil {
		var cfg Config
		if cfg, err = parse(e); err == nil {
			for _, w := range cfg.Warnings {
				fmt.Fprintf(stderr, "trashd: warning: %s\n", w)
			}
			return cfg, true
		}
	}
	fmt.Fprintf(stderr, "trashd: %v\n", err)
	return Config{}, false
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by parse
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// loadStore reads the configuration and opens the store, as most commands
// begin. On failure it has printed why; the caller returns code.
func loadStore(ctx context.Context, stderr io.Writer) (cfg Config, sqlDB *sql.DB, store *db.Store, code int) {
	cfg, ok := loadConfig(stderr)
	if !ok {
		return cfg, nil, nil, exitUsage
	}
	sqlDB, store, code = openStore(ctx, cfg, stderr)
	return cfg, sqlDB, store, code
}

// openStore opens the database and the store over the LMS table. On failure
// it prints why and returns the exit code: an unreachable database is an
// error, a schema that does not match the configuration a usage error.
func openStore(ctx context.Context, cfg Config, stderr io.Writer) (*sql.DB, *db.Store, int) {
	sqlDB, err := db.Open(ctx, cfg.DB)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return nil, nil, exitError
	}
	store, err := db.NewStore(ctx, sqlDB, cfg.LMS)
	if err != nil {
		sqlDB.Close()
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return nil, nil, exitUsage
	}
	for _, w := range store.Warnings() {
		fmt.Fprintf(stderr, "trashd: warning: %s\n", w)
	}
	return sqlDB, store, exitOK
}

func openS3(ctx context.Context, cfg Config) (*s3ops.Client, error) {
	return s3ops.New(ctx, cfg.S3)
}

// newRunner builds the S3 client from s3opts and a runner over store, with
// this process as the lease owner. On failure it prints why and returns the
// exit code.
func newRunner(ctx context.Context, cfg Config, s3opts s3ops.Options, store *db.Store, log *slog.Logger, stderr io.Writer,
	opts ...reconcile.Option) (*reconcile.Runner, *s3ops.Client, int) {
	client, err := s3ops.New(ctx, s3opts)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return nil, nil, exitUsage
	}
	rcfg := cfg.Reconcile
	rcfg.Owner, rcfg.Host = owner(), hostname()
	runner, err := reconcile.NewRunner(store, client, rcfg, log, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return nil, nil, exitUsage
	}
	return runner, client, exitOK
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

// newFlags returns a flag set that prints its usage to stderr.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: trashd %s\n", synopsis)
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, b.String())
	}
	return fs
}
