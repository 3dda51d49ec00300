package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"

	"trashd/db"
	"trashd/internal/service"
	"trashd/reconcile"
	"trashd/s3ops"
)

// loadConfig reads and parses the environment; the error lists every
// problem (code 2). Warnings (unknown TRASHD_ variables) go to stderr.
func loadConfig(stderr io.Writer) (Config, error) {
	cfg, err := parse(readEnv())
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
		return nil, nil, mysqlHint(err)
	}
	store, err := db.NewStore(ctx, sqlDB, cfg.LMS)
	if err != nil {
		sqlDB.Close()
		return nil, nil, configErr(schemaVars(err))
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
	rcfg := cfg.Reconcile
	rcfg.Owner, rcfg.Host = owner(), hostname()
	if cfg.Inventory.Trash.Set() {
		// Reports are read with a client of their own: the runner's is
		// made with it.
		invClient, err := s3ops.New(ctx, s3opts)
		if err != nil {
			return nil, nil, configErr(err)
		}
		opts = append(opts, reconcile.WithInventory(reconcile.InventoryUse{
			Reports: inventoryReports(cfg, invClient), Records: store, Config: cfg.Inventory}))
	}
	runner, client, err := service.NewRunner(ctx, s3opts, store, rcfg, log, opts...)
	return runner, client, configErr(err)
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

// mysqlHint says which variables to look at for an error connecting to
// MySQL: the driver's error names the server's complaint, not the setting.
func mysqlHint(err error) error {
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &me) && (me.Number == 1045 || me.Number == 1044):
		return fmt.Errorf("%w (check TRASHD_MYSQL_USER and TRASHD_MYSQL_PASSWORD or TRASHD_MYSQL_PASSWORD_FILE, and the user's grants)", err)
	case errors.As(err, &me) && me.Number == 1049:
		return fmt.Errorf("%w (check TRASHD_MYSQL_DATABASE)", err)
	case errors.As(err, &me):
		return err
	}
	return fmt.Errorf("%w (check TRASHD_MYSQL_HOST and TRASHD_MYSQL_PORT, and that MySQL is running and reachable)", err)
}

// schemaVars names the variables behind the LMS table fields in a schema
// error from db.NewStore ("KeyColumn: column …" → "TRASHD_LMS_KEY_COLUMN: …").
func schemaVars(err error) error {
	msg := err.Error()
	for _, f := range []struct{ field, name string }{
		{"Table", "TRASHD_LMS_TABLE"}, {"IDColumn", "TRASHD_LMS_ID_COLUMN"}, {"KeyColumn", "TRASHD_LMS_KEY_COLUMN"},
		{"BucketColumn", "TRASHD_LMS_BUCKET_COLUMN"}, {"TrashColumn", "TRASHD_LMS_TRASH_COLUMN"},
		{"TrashKind", "TRASHD_LMS_TRASH_KIND"}, {"TrashValues", "TRASHD_LMS_TRASH_VALUES"},
	} {
		msg = strings.ReplaceAll(msg, f.field+": ", f.name+" ("+f.field+"): ")
	}
	if msg == err.Error() {
		return err
	}
	return renamed{msg, err}
}

// renamed is an error told in other words, still wrapping the original.
type renamed struct {
	msg string
	err error
}

func (r renamed) Error() string { return r.msg }
func (r renamed) Unwrap() error { return r.err }
