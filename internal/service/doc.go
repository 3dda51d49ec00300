// Package service runs trashd as a long-running service: passes on a cron
// schedule and on demand through the control API, Prometheus metrics and
// health endpoints, and systemd's notification protocol and watchdog.
//
// Run is the whole service. It reads no environment and touches no
// signals: the caller opens the database and the listeners, cancels the
// context to stop it, and decides what a second signal does. Tests start
// it in-process on a temporary socket and 127.0.0.1:0.
package service
