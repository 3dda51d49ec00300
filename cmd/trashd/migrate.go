package main

import (
	"context"
	"fmt"
	"io"

	"trashd/db"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("migrate", "migrate", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
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
