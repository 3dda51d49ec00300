package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"trashd/internal/service"
	"trashd/reconcile"
)

// serviceVariables are the variables of `trashd serve` and of what serve
// shares with the commands that talk to it (`trashd trigger`).
func serviceVariables() []variable {
	return []variable{
		{Name: "TRASHD_SCHEDULE", Default: "@every 15m", Desc: "`serve`: when passes run: 5-field cron (`*/15 * * * *`; day-of-week 0-7, Sunday 0 or 7), `@every 15m`, `@hourly`; an optional `CRON_TZ=Europe/Berlin` prefix. Refused: more often than once a minute (`@every 0s`, `@every -15m`), or never within five years (`0 0 31 2 *`); a step larger than its field (`*/90` minutes: hourly) warns", Opt: "Schedule", parse: parseSchedule},
		boolVar("TRASHD_RUN_AT_START", true, "`serve`: run a pass as soon as the service starts", func(c *Config) *bool { return &c.RunAtStart }),
		{Name: "TRASHD_CONTROL_SOCKET", Desc: "`serve` and `trigger`: the control socket; empty: `$RUNTIME_DIRECTORY/control.sock`, else `/run/trashd/control.sock`. `serve` replaces only a stale socket there (one nobody listens on) and refuses to start over anything else, such as a regular file", Opt: "ControlSocket",
			parse: func(_ *problems, v string, c *Config) { c.ControlSocket = controlSocket(v) }},
		{Name: "TRASHD_METRICS_ADDR", Default: "127.0.0.1:9464", Desc: "`serve`: listen address for `/metrics`, `/healthz` and `/readyz`, `host:port` with a numeric port; empty disables", Opt: "MetricsAddr", parse: parseMetricsAddr},
		durationVar("TRASHD_SHUTDOWN_GRACE", reconcile.DefaultGrace, "on SIGTERM (or SIGHUP, Ctrl-C), how long objects in flight may take to finish their current step", func(c *Config) *time.Duration { return &c.Reconcile.Grace }),
		durationVar("TRASHD_PROGRESS_INTERVAL", 10*time.Second, "how often progress is logged when the output is not a terminal", func(c *Config) *time.Duration { return &c.ProgressInterval }),
	}
}

// parseSchedule reads TRASHD_SCHEDULE: the one place its value is checked.
func parseSchedule(p *problems, v string, c *Config) {
	c.Schedule = v
	_, warnings, err := service.ParseSchedule(v, time.Now())
	if err != nil {
		p.add("TRASHD_SCHEDULE", err.Error())
	}
	for _, w := range warnings {
		c.Warnings = append(c.Warnings, "TRASHD_SCHEDULE: "+w)
	}
}

// parseMetricsAddr reads TRASHD_METRICS_ADDR: empty, or a host and a numeric
// port. net.Listen would take a bare host as a missing port only at start of
// serve, and a service name ("localhost:http") as whatever /etc/services
// says.
func parseMetricsAddr(p *problems, v string, c *Config) {
	c.MetricsAddr = v
	if v == "" {
		return
	}
	const what = "host:port with a numeric port, such as 127.0.0.1:9464 (or empty to disable)"
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		p.add("TRASHD_METRICS_ADDR", fmt.Sprintf("%q is not %s", v, what))
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port == "" || n > 65535 {
		p.add("TRASHD_METRICS_ADDR", fmt.Sprintf("%q has port %q, which is not a number from 0 to 65535: write %s", v, port, what))
	}
}

// controlSocket is the configured socket path, else the one in systemd's
// RuntimeDirectory, else the conventional one.
func controlSocket(configured string) string {
	if configured != "" {
		return configured
	}
	if dir := os.Getenv("RUNTIME_DIRECTORY"); dir != "" {
		// systemd may list several directories, separated by colons.
		dir, _, _ = strings.Cut(dir, ":")
		return filepath.Join(dir, "control.sock")
	}
	return "/run/trashd/control.sock"
}

// warnServe prints the warnings only a service has: a setting meant for one
// run that stays on for every pass.
func warnServe(w io.Writer, c Config) {
	if c.Reconcile.Mass.Allow {
		fmt.Fprintln(w, "trashd: warning: TRASHD_ALLOW_MASS_CHANGE=true: every pass of the service goes through the mass-change brake, "+
			"however much it discovers, restores or orphans; set it for one deliberate run, then unset it "+
			"(or use `trashd reconcile --allow-mass-change` for a single pass)")
	}
}
