package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"slices"

	"trashd/db"
)

func migrateCommand() command {
	return command{
		name:    "migrate",
		args:    "[status]",
		summary: "create or upgrade trashd's tables; `migrate status` shows the versions",
		about: "Create or upgrade trashd's tables (trash_objects, trash_runs) with the embedded migrations.\n" +
			"Safe to run again; run it before starting a new version. `trashd migrate status` lists the\n" +
			"versions applied and known, and changes nothing.",
		operands: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			return runMigrate
		},
	}
}

// runMigrate brings trashd's tables to the latest version; `migrate status`
// shows the versions applied and known and changes nothing.
func runMigrate(ctx context.Context, c *cli, args []string) error {
	if len(args) > 1 || (len(args) == 1 && args[0] != "status") {
		return operandErr("migrate takes no argument or `status`, but was given %q", args)
	}
	cfg, err := loadConfig(c.stderr)
	if err != nil {
		return err
	}
	sqlDB, err := db.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if len(args) == 1 {
		return printMigrationStatus(ctx, sqlDB, c.stdout)
	}
	if err := db.Migrate(ctx, sqlDB); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	cur, _, err := db.MigrationStatus(ctx, sqlDB)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(c.stdout, "trashd's tables are at version %d\n", cur)
	// The migration is done whatever the LMS table is like; but an
	// operator who migrates before starting the service learns now what
	// would stop it. The user that migrates needs no grant on the LMS
	// table (docs/operations.md), and then sees none: nothing to say.
	if v := checkLMSTable(ctx, cfg, sqlDB); !v.unseen {
		v.printWarnings(c.stderr, true)
	}
	return nil
}

// printMigrationStatus lists every migration this binary knows, applied or
// pending, and any applied one it does not know (a newer trashd's).
func printMigrationStatus(ctx context.Context, sqlDB *sql.DB, stdout io.Writer) error {
	applied, err := db.AppliedVersions(ctx, sqlDB)
	if err != nil {
		return fmt.Errorf("migrate status: %w", err)
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
	return nil
}
