package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"

	"trashd/db"
)

// runMigrate brings trashd's tables to the latest version; `migrate status`
// shows the versions applied and known and changes nothing.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("migrate", "migrate [status]", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 1 || (fs.NArg() == 1 && fs.Arg(0) != "status") {
		return exitUsage
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	sqlDB, err := db.Open(ctx, cfg.DB)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
	}
	defer sqlDB.Close()
	if fs.Arg(0) == "status" {
		return printMigrationStatus(ctx, sqlDB, stdout, stderr)
	}
	if err := db.Migrate(ctx, sqlDB); err != nil {
		fmt.Fprintf(stderr, "trashd: migrate: %v\n", err)
		return exitError
	}
	cur, _, err := db.MigrationStatus(ctx, sqlDB)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: migrate: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "trashd's tables are at version %d\n", cur)
	return exitOK
}

// printMigrationStatus lists every migration this binary knows, applied or
// pending, and any applied one it does not know (a newer trashd's).
func printMigrationStatus(ctx context.Context, sqlDB *sql.DB, stdout, stderr io.Writer) int {
	applied, err := db.AppliedVersions(ctx, sqlDB)
	if err != nil {
		fmt.Fprintf(stderr, "trashd: migrate status: %v\n", err)
		return exitError
	}
	known := db.KnownVersions()
	current, latest := int64(0), known[len(known)-1]
	if len(applied) > 0 {
		current = applied[len(applied)-1]
	}
	fmt.Fprintf(stdout, "applied version: %d\nknown versions:  up to %d\n\n", current, latest)
	for _, v := range known {
		state := "pending"
		if slices.Contains(applied, v) {
			state = "applied"
		}
		fmt.Fprintf(stdout, "%05d  %s\n", v, state)
	}
	for _, v := range applied {
		if !slices.Contains(known, v) {
			fmt.Fprintf(stdout, "%05d  applied, unknown to this trashd (a newer release's)\n", v)
		}
	}
	switch {
	case current > latest:
		fmt.Fprintf(stdout, "\nthe tables are newer than this trashd: upgrade it before running commands that write\n")
	case current < latest:
		fmt.Fprintf(stdout, "\nrun `trashd migrate` to apply the pending migrations\n")
	}
	return exitOK
}
