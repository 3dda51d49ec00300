// Command trashd archives an LMS's trashed files from S3 to the trash bucket
// (and on to Glacier). See the README for configuration and operations.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitError   = 1 // the command could not do its work (database, S3, a pass that could not run)
	exitUsage   = 2 // bad usage or configuration
	exitObjects = 3 // the pass ran, and some objects failed or were missing
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: trashd <command> [flags]

commands:
  migrate     create or upgrade trashd's tables
  reconcile   run one pass now (--dry-run: report what would move, change nothing)
  serve       run as a service: passes on TRASHD_SCHEDULE and on demand
  trigger     ask the running service for a pass now (--wait: follow it to the end)
  status      counts per state, oldest pending object, last runs (--overdue, --cost)
  lifecycle   the trash bucket's lifecycle rules and drift (--apply: merge the rule in)
  restore     bring back one LMS row's file now
  audit       check that every recorded object exists intact in the source or the trash bucket
  config      print the effective configuration, secrets redacted
  version     print the version

Configuration comes from TRASHD_* environment variables; see the README.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "reconcile":
		return runReconcile(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "trigger":
		return runTrigger(ctx, rest, stdout, stderr)
	case "lifecycle":
		return runLifecycle(ctx, rest, stdout, stderr)
	case "restore":
		return runRestore(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "status":
		return runStatus(ctx, rest, stdout, stderr)
	case "config":
		return runConfig(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "trashd", version())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "trashd: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}
