package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// ErrSchemaNewer: trashd's tables were migrated by a newer trashd than this
// one. Reading them is fine (migrations only add), writing is not: this
// binary does not know what the newer columns must hold.
var ErrSchemaNewer = errors.New("trashd's tables are newer than this binary")

// CheckWritable reports, all at once, what would stop this trashd writing to
// its tables before it starts to: a schema newer than it knows, a user
// without the privileges a pass uses (each named), and statement-based
// binary logging, which refuses the claims. Every pass start and restore
// request runs it, and so does the service's readiness.
func CheckWritable(ctx context.Context, sqlDB *sql.DB) error {
	var errs []error
	current, latest, err := MigrationStatus(ctx, sqlDB)
	switch {
	case err != nil:
		errs = append(errs, err)
	case current > latest:
		errs = append(errs, schemaNewerError(current, latest))
	}
	errs = append(errs, checkPrivileges(ctx, sqlDB), checkBinlog(ctx, sqlDB))
	return errors.Join(errs...)
}

func schemaNewerError(current, latest int64) error {
	return fmt.Errorf("%w: they are at version %d, and this trashd knows versions up to %d: "+
		"upgrade trashd on this host to the release that migrated them (reading commands such as status still work)", ErrSchemaNewer, current, latest)
}

// privilegeProbes are what a pass and a restore do to trashd's tables, as
// EXPLAIN statements: EXPLAIN needs the privileges of the statement it
// explains (MySQL and MariaDB alike) and changes nothing, not even the
// binary log. The service needs no DELETE.
var privilegeProbes = []struct{ privilege, table, query string }{
	{"SELECT", "trash_objects", "EXPLAIN SELECT id FROM trash_objects WHERE id = 0"},
	{"INSERT", "trash_objects", "EXPLAIN INSERT INTO trash_objects (lms_id) VALUES (0)"},
	{"UPDATE", "trash_objects", "EXPLAIN UPDATE trash_objects SET state = state WHERE id = 0"},
	{"SELECT", "trash_runs", "EXPLAIN SELECT id FROM trash_runs WHERE id = 0"},
	{"INSERT", "trash_runs", "EXPLAIN INSERT INTO trash_runs (host) VALUES ('')"},
	{"UPDATE", "trash_runs", "EXPLAIN UPDATE trash_runs SET host = host WHERE id = 0"},
}

// checkPrivileges names each privilege on trashd's tables that the user
// lacks. A missing table is the migration's problem, reported by
// MigrationStatus, and not repeated here.
func checkPrivileges(ctx context.Context, sqlDB *sql.DB) error {
	var missing []string
	for _, p := range privilegeProbes {
		_, err := sqlDB.ExecContext(ctx, p.query)
		var me *mysql.MySQLError
		switch {
		case err == nil:
		case errors.As(err, &me) && (me.Number == 1142 || me.Number == 1143): // table or column access denied
			missing = append(missing, p.privilege+" on "+p.table)
		case errors.As(err, &me) && me.Number == 1146: // no such table
		default:
			return fmt.Errorf("check the privileges on trashd's tables: %w", err)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the MySQL user lacks %s: a pass cannot start without them; "+
		"grant them as docs/operations.md shows (MySQL grants), e.g. GRANT SELECT, INSERT, UPDATE, DELETE ON trash_objects and trash_runs",
		strings.Join(missing, ", "))
}

// checkBinlog refuses statement-based binary logging: trashd claims rows in
// READ COMMITTED transactions with SKIP LOCKED, which the server cannot log
// as statements and refuses with error 1665 at the first claim.
func checkBinlog(ctx context.Context, sqlDB *sql.DB) error {
	var format sql.NullString
	var logBin, sqlLogBin sql.NullInt64
	err := sqlDB.QueryRowContext(ctx, "SELECT @@SESSION.binlog_format, @@GLOBAL.log_bin, @@SESSION.sql_log_bin").Scan(&format, &logBin, &sqlLogBin)
	if err != nil {
		// A server without these variables has no statement logging to
		// refuse; anything else the claim itself will report.
		return nil
	}
	return binlogProblem(format.String, logBin.Int64 == 1, sqlLogBin.Int64 == 1)
}

// binlogProblem is the error for a server that logs statements, or nil.
func binlogProblem(format string, logBin, sqlLogBin bool) error {
	if !logBin || !sqlLogBin || !strings.EqualFold(format, "STATEMENT") {
		return nil
	}
	return errors.New("the server writes its binary log as statements (binlog_format=STATEMENT), " +
		"and trashd's claims (READ COMMITTED with SKIP LOCKED) cannot be logged that way (MySQL error 1665): " +
		"set binlog_format=ROW (or MIXED) on the server, e.g. SET PERSIST binlog_format = 'ROW' on MySQL 8, " +
		"or binlog_format = ROW under [mysqld] in the server's configuration and a restart on MariaDB")
}
