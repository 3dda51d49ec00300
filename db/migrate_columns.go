package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
)

// Migrations that add columns and keys are Go, not SQL: MySQL commits each
// ALTER TABLE by itself (DDL is never part of a transaction), so when a
// migration's second ALTER failed its first stayed, goose did not record the
// version, and running it again failed with "Duplicate column". Each of these
// looks in information_schema and adds only what is missing, in one ALTER per
// table, so a migration that failed halfway finishes on the next run.
// (ADD COLUMN IF NOT EXISTS would do it in SQL, but only MariaDB has it.)

// tableChange is what one migration adds to one table.
type tableChange struct {
	table   string
	columns []namedClause // ADD COLUMN name definition
	keys    []namedClause // ADD KEY name definition
}

type namedClause struct{ name, definition string }

// goMigrations are trashd's migrations after 00001 (embedded SQL), in order.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		addColumnsMigration(2, glacierColumns),
		addColumnsMigration(3, realWorldColumns),
		addColumnsMigration(4, heartbeatColumns),
	}
}

// glacierColumns, migration 2: restores, transition checks and the counts of
// archived and restored objects per run.
var glacierColumns = []tableChange{
	{table: "trash_objects",
		columns: []namedClause{
			{"restore_requested_at", "DATETIME(6) NULL"},
			{"restored_at", "DATETIME(6) NULL"},
			{"restored_key", "VARCHAR(1024) NULL"},
			{"transition_checked_at", "DATETIME(6) NULL"},
		},
		keys: []namedClause{{"trash_objects_transition", "(state, copied_at)"}},
	},
	{table: "trash_runs",
		columns: []namedClause{
			{"archived", "INT NOT NULL DEFAULT 0"},
			{"restored", "INT NOT NULL DEFAULT 0"},
		},
	},
}

// realWorldColumns, migration 3: objects shared by several LMS rows, the
// copy's own identity, uploads to clean up after a crash, failures measured
// in time, reversible orphans.
var realWorldColumns = []tableChange{
	{table: "trash_objects",
		columns: []namedClause{
			// The trash copy's own size and checksum (trash_etag is its
			// ETag), kept apart from the source's so that an audit checks
			// the copy against what the copy was, not against fields a
			// later step could rewrite.
			{"trash_size", "BIGINT NULL"},
			{"trash_checksum", "VARCHAR(200) NULL"},
			// state shared: the LMS row (id) that still names the object.
			{"shared_with", "BIGINT NULL"},
			// A multipart copy back under way (in source_bucket): aborted
			// by a later attempt when a crash left it.
			{"upload_key", "VARCHAR(1024) NULL"},
			{"upload_id", "VARCHAR(1024) NULL"},
			// When the current run of failed attempts began; cleared on
			// success.
			{"failing_since", "DATETIME(6) NULL"},
			// state orphaned: the state to return to if the LMS row comes
			// back.
			{"orphaned_from", "VARCHAR(16) NULL"},
			// How many times the row was trashed again after a restore:
			// each life gets trash keys of its own, so that a copy an
			// earlier life left for another record is never reused or
			// removed by this one.
			{"life", "INT NOT NULL DEFAULT 0"},
			// The source's Last-Modified as S3 reported it: on a versioned
			// bucket, what tells an older version made current from a
			// newer upload.
			{"source_modified", "DATETIME(6) NULL"},
		},
		// Other records of the same object, and records sharing one trash
		// copy. Prefix indexes: 250 utf8mb4 characters are 1,000 bytes,
		// within InnoDB's 3,072-byte key limit.
		keys: []namedClause{
			{"trash_objects_source", "(source_bucket, source_key(250))"},
			{"trash_objects_trash_key", "(trash_key(250))"},
		},
	},
	{table: "trash_runs", columns: []namedClause{{"shared", "INT NOT NULL DEFAULT 0"}}},
}

// heartbeatColumns, migration 4: a running pass stamps heartbeat_at every
// reconcile.RunHeartbeat, so that a run whose process died (kill -9, a
// crash, a lost host) is told apart from one still going: the next pass
// records it abandoned.
var heartbeatColumns = []tableChange{
	{table: "trash_runs",
		columns: []namedClause{{"heartbeat_at", "DATETIME(6) NULL"}},
		keys:    []namedClause{{"trash_runs_status", "(status, heartbeat_at)"}},
	},
}

func addColumnsMigration(version int64, changes []tableChange) *goose.Migration {
	up := &goose.GoFunc{RunDB: func(ctx context.Context, sqlDB *sql.DB) error {
		for _, c := range changes {
			if err := c.apply(ctx, sqlDB); err != nil {
				return fmt.Errorf("migration %d: %w", version, err)
			}
		}
		return nil
	}}
	// trashd never migrates down: a newer schema only adds, and an older
	// binary refuses to write to it (CheckWritable).
	return goose.NewGoMigration(version, up, nil)
}

// apply adds what of c is missing from its table, in one ALTER.
func (c tableChange) apply(ctx context.Context, sqlDB *sql.DB) error {
	columns, err := existing(ctx, sqlDB, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", c.table)
	if err != nil {
		return fmt.Errorf("read the columns of %s: %w", c.table, err)
	}
	keys, err := existing(ctx, sqlDB, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", c.table)
	if err != nil {
		return fmt.Errorf("read the keys of %s: %w", c.table, err)
	}
	var clauses []string
	for _, col := range c.columns {
		if !columns[strings.ToLower(col.name)] {
			clauses = append(clauses, "ADD COLUMN `"+col.name+"` "+col.definition)
		}
	}
	for _, k := range c.keys {
		if !keys[strings.ToLower(k.name)] {
			clauses = append(clauses, "ADD KEY `"+k.name+"` "+k.definition)
		}
	}
	if len(clauses) == 0 {
		return nil
	}
	// One ALTER per table: atomic in InnoDB, so it adds all or nothing.
	if _, err := sqlDB.ExecContext(ctx, "ALTER TABLE `"+c.table+"` "+strings.Join(clauses, ", ")); err != nil {
		return fmt.Errorf("alter %s: %w", c.table, err)
	}
	return nil
}

// existing runs q (one string column) for table and returns the names, lower-cased.
func existing(ctx context.Context, sqlDB *sql.DB, q, table string) (map[string]bool, error) {
	rows, err := sqlDB.QueryContext(ctx, q, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names[strings.ToLower(n)] = true
	}
	return names, rows.Err()
}
