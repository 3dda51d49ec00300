package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"

	"trashd/db"
	"trashd/internal/service"
)

func serveCommand() command {
	return command{
		name:    "serve",
		summary: "run as a service: passes on TRASHD_SCHEDULE and on demand",
		about: "Run as a service: passes on TRASHD_SCHEDULE (and at start with TRASHD_RUN_AT_START), on demand\n" +
			"through the control socket (`trashd trigger`), metrics and health on TRASHD_METRICS_ADDR, systemd\n" +
			"notifications and watchdog. SIGTERM stops it gracefully; a second signal exits at once.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			return runServe
		},
	}
}

// runServe opens what the service needs from the configuration (the
// database, the control socket, the metrics listener) and runs it until ctx
// is done (SIGTERM or SIGINT, in main).
func runServe(ctx context.Context, c *cli, _ []string) error {
	cfg, err := loadConfig(c.stderr)
	if err != nil {
		return err
	}
	warnServe(c.stderr, cfg)
	log := c.logger(cfg.LogLevel, cfg.LogFormat)
	statements := new(db.Statements)
	cfg.DB.Statements = statements
	sqlDB, store, err := openStore(ctx, cfg, c)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	control, err := listenControlSocket(cfg.ControlSocket)
	if err != nil {
		return err
	}
	var metrics net.Listener
	if cfg.MetricsAddr != "" {
		if metrics, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			control.Close()
			return fmt.Errorf("metrics listener (TRASHD_METRICS_ADDR): %w", err)
		}
	}
	rcfg := cfg.Reconcile
	rcfg.Owner, rcfg.Host = owner(), hostname()
	watchdog, _ := watchdogInterval()
	err = service.Run(ctx, service.Options{
		DB: sqlDB, Store: store, Statements: statements, S3: cfg.S3, Reconcile: rcfg, Inventory: cfg.Inventory,
		Schedule: cfg.Schedule, RunAtStart: cfg.RunAtStart,
		Control: control, Metrics: metrics,
		Log: log, Notify: sdNotify, Watchdog: watchdog, Version: version(),
	})
	if ce := (*service.ConfigError)(nil); errors.As(err, &ce) {
		return configErr(err)
	}
	return err
}
