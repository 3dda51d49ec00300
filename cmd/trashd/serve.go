package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"trashd/reconcile"
)

// runServe runs trashd as a service: passes on the schedule and on demand
// through the control socket, metrics and health on TRASHD_METRICS_ADDR, and
// systemd notifications. The first SIGTERM or SIGINT (ctx) stops it
// gracefully; a second one exits at once.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "serve", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	log := newLogger(stdout, cfg.LogLevel) // JSON on stdout, for journald
	fail := func(code int, msg string, err error) int {
		log.Error(msg, "err", err)
		fmt.Fprintf(stderr, "trashd: %s: %v\n", msg, err)
		return code
	}

	reg := newRegistry()
	m := newMetrics(reg)

	sqlDB, store, code := openStore(ctx, cfg, stderr)
	if store == nil {
		log.Error("cannot start: the database is not usable (see stderr)")
		return code
	}
	defer sqlDB.Close()
	s3opts := cfg.S3
	s3opts.Observe = m.s3Request
	runner, client, code := newRunner(ctx, cfg, s3opts, store, log, stderr, reconcile.WithEvents(m.object))
	if runner == nil {
		log.Error("cannot start: bad configuration (see stderr)")
		return code
	}
	rcfg := cfg.Reconcile
	ready := readiness{db: sqlDB, buckets: client, trash: cfg.Reconcile.TrashBucket, source: cfg.Reconcile.SourceBucket}
	// S3 unreachable at start is not fatal: passes fail their bucket check
	// with a clear error and /readyz names the bucket, until it is back.
	for dep, err := range ready.check(ctx) {
		if err != nil {
			log.Error("dependency not ready at start; passes will fail until it is", "dependency", dep, "err", err)
		}
	}

	updateBacklog := func() {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if st, err := store.Status(bctx); err == nil {
			m.backlog(st)
		} else {
			log.Warn("read the backlog for metrics", "err", err)
		}
		if a, err := store.Archive(bctx, rcfg.Archive.OverdueQuery()); err == nil {
			m.archive(a)
		} else {
			log.Warn("read the archive status for metrics", "err", err)
		}
		if lc, ok := runner.Lifecycle(); ok {
			m.lifecycle(lc)
		}
	}
	svc, err := reconcile.NewService(runner, reconcile.ServiceConfig{
		Schedule: cfg.Schedule,
		Hooks: reconcile.PassHooks{
			Started: m.passStarted,
			Finished: func(s reconcile.Summary, err error) {
				m.passFinished(s, err)
				updateBacklog()
			},
		},
	}, log)
	if err != nil {
		return fail(exitUsage, "configuration", err)
	}

	control, err := listenControlSocket(cfg.ControlSocket)
	if err != nil {
		return fail(exitError, "cannot start", err)
	}
	servers := []*http.Server{{Handler: newControlHandler(svc), ReadHeaderTimeout: 10 * time.Second}}
	listeners := []net.Listener{control}
	if cfg.MetricsAddr != "" {
		l, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			control.Close()
			return fail(exitError, "cannot start: metrics listener (TRASHD_METRICS_ADDR)", err)
		}
		readyz := func(ctx context.Context) map[string]error {
			res := ready.check(ctx)
			if lc, ok := runner.Lifecycle(); ok {
				res["lifecycle_rule"] = lifecycleFinding(lc)
			}
			return res
		}
		servers = append(servers, &http.Server{Handler: newHTTPHandler(reg, svc.Alive, readyz), ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, l)
	}
	for i, s := range servers {
		go func() {
			if err := s.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "addr", listeners[i].Addr().String(), "err", err)
			}
		}()
	}

	svc.Start(ctx, cfg.RunAtStart)
	updateBacklog()
	log.Info("serving", "schedule", cfg.Schedule, "control_socket", cfg.ControlSocket, "metrics_addr", cfg.MetricsAddr,
		"trash_bucket", rcfg.TrashBucket, "version", version())
	notify(log, "READY=1")
	go feedWatchdog(ctx, log, svc)
	go refreshBacklog(ctx, updateBacklog)

	<-ctx.Done()
	notify(log, "STOPPING=1")
	log.Info("stopping: no new claims; objects in flight finish their current step", "grace", rcfg.Grace.String())
	// A second signal means: now.
	again := make(chan os.Signal, 1)
	signal.Notify(again, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-again
		log.Warn("second signal: exiting now; unfinished leases lapse on their own")
		os.Exit(exitError)
	}()

	sctx, cancel := context.WithTimeout(context.Background(), rcfg.Grace+15*time.Second)
	defer cancel()
	if err := svc.Stop(sctx); err != nil {
		log.Error("stop", "err", err)
	}
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	log.Info("stopped")
	return exitOK
}

// lifecycleFinding is the last lifecycle check, for /readyz: a warning
// when the rule is not in place, never a failure.
func lifecycleFinding(lc reconcile.LifecycleState) error {
	switch {
	case lc.Err != nil:
		return warning{fmt.Errorf("not checked: %w", lc.Err)}
	case !lc.Report.InPlace():
		return warning{fmt.Errorf("drift: %s", strings.Join(lc.Report.Drift, "; "))}
	}
	return nil
}

func notify(log *slog.Logger, state string) {
	if err := sdNotify(state); err != nil {
		log.Warn("sd_notify", "state", state, "err", err)
	}
}

// feedWatchdog pings systemd's watchdog only while the service makes
// progress (Service.Alive), so that a stuck service is restarted.
func feedWatchdog(ctx context.Context, log *slog.Logger, svc *reconcile.Service) {
	every, ok := watchdogInterval()
	if !ok {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := svc.Alive(); err != nil {
				log.Error("not alive: the watchdog is not fed and systemd will restart the service", "err", err)
				continue
			}
			notify(log, "WATCHDOG=1")
		}
	}
}

// refreshBacklog keeps the backlog metrics current between passes: other
// hosts and the LMS change it too.
func refreshBacklog(ctx context.Context, update func()) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			update()
		}
	}
}
