package service

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"trashd/db"
	"trashd/internal/inventories"
	"trashd/reconcile"
	"trashd/s3ops"
)

// Options are what Run needs. Run owns the listeners from the call on and
// closes them when it returns.
type Options struct {
	DB    *sql.DB   // for readiness
	Store *db.Store // over DB
	// Statements counts what DB's pool sends (db.Options.Statements), for
	// trashd_db_statements_total; nil leaves the metric out.
	Statements *db.Statements
	S3         s3ops.Options
	Reconcile  reconcile.Config // Owner and Host set to this process
	// Inventory, when it names where the trash bucket's reports land, has
	// passes confirm transitions from the newest report.
	Inventory  reconcile.InventoryConfig
	Schedule   string
	RunAtStart bool

	Control net.Listener // the control API (required)
	Metrics net.Listener // /metrics, /healthz and /readyz; nil: none

	// Registry is where the metrics go; nil: a new one with the Go
	// runtime and process collectors (NewRegistry).
	Registry *prometheus.Registry
	Log      *slog.Logger
	// Notify sends a state to systemd (sd_notify); nil: nobody listens.
	Notify func(state string) error
	// Watchdog is how often to feed systemd's watchdog; 0: it is off.
	Watchdog time.Duration
	Version  string
}

// ConfigError is a configuration Run cannot work with (as opposed to a
// dependency that failed).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Run runs the service until ctx is done, then stops it gracefully: no new
// claims, objects in flight finish their current step within the grace
// period, leases are released and the run is recorded as interrupted. It
// returns nil after a graceful stop, or why it could not start.
func Run(ctx context.Context, o Options) error {
	closeListeners := func() {
		for _, l := range []net.Listener{o.Control, o.Metrics} {
			if l != nil {
				l.Close()
			}
		}
	}
	if o.Control == nil {
		closeListeners()
		return errors.New("service: no control listener")
	}
	log := cmp.Or(o.Log, slog.New(slog.DiscardHandler))
	notify := func(state string) {
		if o.Notify == nil {
			return
		}
		if err := o.Notify(state); err != nil {
			log.Warn("sd_notify", "state", state, "err", err)
		}
	}
	reg := o.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	m := newMetrics(reg)
	if o.Statements != nil {
		countStatements(reg, o.Statements)
	}

	// Its warnings are the configuration's, printed where it is read.
	sched, _, err := ParseSchedule(o.Schedule, time.Now())
	if err != nil {
		closeListeners()
		return &ConfigError{err}
	}
	s3opts := o.S3
	s3opts.Observe = m.s3Request
	rcfg := o.Reconcile
	runOpts := []reconcile.Option{reconcile.WithEvents(m.object), reconcile.WithConditionsObserver(m.probed)}
	if o.Inventory.Trash.Set() {
		// Reports are read with a client of their own (its requests
		// counted as the runner's): the runner's is made with it.
		invClient, err := s3ops.New(ctx, s3opts)
		if err != nil {
			closeListeners()
			return &ConfigError{err}
		}
		ages := newInventoryAges(reg, time.Now)
		runOpts = append(runOpts, reconcile.WithInventory(reconcile.InventoryUse{
			Reports: inventories.Reports{Store: invClient.InventoryStore(), Trash: rcfg.TrashBucket, Config: o.Inventory},
			Records: o.Store, Config: o.Inventory, Observe: ages.read,
		}))
	}
	runner, client, err := NewRunner(ctx, s3opts, o.Store, rcfg, log, runOpts...)
	if err != nil {
		closeListeners()
		return &ConfigError{err}
	}
	ready := readiness{db: o.DB, buckets: client, trash: rcfg.TrashBucket, source: rcfg.SourceBucket}
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
		if st, err := o.Store.Status(bctx); err == nil {
			m.backlog(st)
		} else {
			log.Warn("read the backlog for metrics", "err", err)
		}
		if a, err := o.Store.Archive(bctx, rcfg.Archive.OverdueQuery()); err == nil {
			m.archive(a)
		} else {
			log.Warn("read the archive status for metrics", "err", err)
		}
		if lc, ok := runner.Lifecycle(); ok {
			m.lifecycle(lc)
		}
	}
	svc, err := NewScheduler(runner, SchedulerConfig{
		Schedule: sched,
		Hooks: PassHooks{
			Started: m.passStarted,
			Finished: func(s reconcile.Summary, err error) {
				m.passFinished(s, err)
				updateBacklog()
			},
		},
	}, log)
	if err != nil {
		closeListeners()
		return &ConfigError{err}
	}

	servers := []*http.Server{{Handler: newControlHandler(svc), ReadHeaderTimeout: 10 * time.Second}}
	listeners := []net.Listener{o.Control}
	metricsAddr := ""
	if o.Metrics != nil {
		readyz := func(ctx context.Context) map[string]error {
			res := ready.check(ctx)
			if lc, ok := runner.Lifecycle(); ok {
				res["lifecycle_rule"] = lifecycleFinding(lc)
			}
			return res
		}
		servers = append(servers, &http.Server{Handler: newHTTPHandler(reg, svc.Alive, readyz), ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, o.Metrics)
		metricsAddr = o.Metrics.Addr().String()
	}
	for i, s := range servers {
		go func() {
			if err := s.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "addr", listeners[i].Addr().String(), "err", err)
			}
		}()
	}

	svc.Start(ctx, o.RunAtStart)
	updateBacklog()
	log.Info("serving", "schedule", o.Schedule, "control_socket", o.Control.Addr().String(), "metrics_addr", metricsAddr,
		"trash_bucket", rcfg.TrashBucket, "version", o.Version)
	notify("READY=1")
	background, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	if o.Watchdog > 0 {
		go feedWatchdog(background, log, o.Watchdog, svc, notify)
	}
	go refreshBacklog(background, updateBacklog)

	<-ctx.Done()
	notify("STOPPING=1")
	log.Info("stopping: no new claims; objects in flight finish their current step; a second signal exits at once",
		"grace", rcfg.Grace.String(), "cause", context.Cause(ctx).Error())
	sctx, cancel := context.WithTimeout(context.Background(), rcfg.Grace+15*time.Second)
	defer cancel()
	if err := svc.Stop(sctx); err != nil {
		log.Error("stop", "err", err)
	}
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	log.Info("stopped")
	return nil
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

// feedWatchdog pings systemd's watchdog only while the service makes
// progress (Service.Alive), so that a stuck service is restarted.
func feedWatchdog(ctx context.Context, log *slog.Logger, every time.Duration, svc *Scheduler, notify func(string)) {
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
			notify("WATCHDOG=1")
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
