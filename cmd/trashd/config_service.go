package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"trashd/reconcile"
)

// parseService reads the variables of `trashd serve`: the schedule, the
// metrics listener and, through parseControl, what serve shares with the
// commands that talk to it.
func parseService(p *problems, e env, c *Config) {
	parseControl(p, e, c)
	c.Schedule = e.Schedule
	if _, err := reconcile.ParseSchedule(e.Schedule); err != nil {
		p.add("TRASHD_SCHEDULE", err.Error())
	}
	c.RunAtStart = p.bool("TRASHD_RUN_AT_START", e.RunAtStart)
	c.MetricsAddr = e.MetricsAddr
	if e.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(e.MetricsAddr); err != nil {
			p.add("TRASHD_METRICS_ADDR", fmt.Sprintf("%q is not host:port (e.g. 127.0.0.1:9464), or empty to disable", e.MetricsAddr))
		}
	}
}

// parseControl reads the variables that `trashd trigger` needs as much as
// serve: the control socket, the progress interval and the log level and
// format.
func parseControl(p *problems, e env, c *Config) {
	c.LogLevel = p.oneOf("TRASHD_LOG_LEVEL", strings.ToLower(e.LogLevel), "debug", "info", "warn", "error")
	c.LogFormat = p.oneOf("TRASHD_LOG_FORMAT", strings.ToLower(e.LogFormat), "auto", "json", "text")
	c.ControlSocket = controlSocket(e.ControlSocket)
	c.ProgressInterval = p.duration("TRASHD_PROGRESS_INTERVAL", e.ProgressInterval)
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
