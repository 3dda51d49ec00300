package main

import (
	"context"
	"flag"
	"fmt"

	"trashd/db"
)

func migrateCommand() command {
	return command{
		name:    "migrate",
		summary: "create or upgrade trashd's tables",
		about: "Create or upgrade trashd's tables (trash_objects, trash_runs) with the embedded migrations.\n" +
			"Safe to run again; run it before starting a new version.",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			return runMigrate
		},
	}
}

func runMigrate(ctx context.Context, c *cli, _ []string) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	sqlDB, err := db.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if err := db.Migrate(ctx, sqlDB); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	cur, _, err := db.MigrationStatus(ctx, sqlDB)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(c.stdout, "trashd's tables are at version %d\n", cur)
	return nil
}
