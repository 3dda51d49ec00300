package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"trashd/reconcile"
)

var (
	_ reconcile.Discoverer = (*Store)(nil)
	_ reconcile.Claimer    = (*Store)(nil)
	_ reconcile.Recorder   = (*Store)(nil)
	_ reconcile.RunLog     = (*Store)(nil)
)

// Store is trashd's state in MySQL and its read-only view of the LMS table.
// It is safe for concurrent use, and several Stores (on several hosts) may
// share one database.
type Store struct {
	db       *sql.DB
	lms      LMSTable
	idColumn column // the id column, as information_schema describes it
	scan     *scanner
	warnings []string
}

// NewStore validates lms, checks in information_schema that its table and
// columns exist with fitting types, that its id names one row, that an index
// serves LiveRows (unless lms.UniqueKeys) and that trashd's tables are
// migrated, and returns a Store. All problems found in one step are reported
// together; problems that only make trashd slow are in Warnings.
func NewStore(ctx context.Context, sqlDB *sql.DB, lms LMSTable) (*Store, error) {
	schema, lmsErr := checkLMS(ctx, sqlDB, lms)
	var invalid *lmsInvalid
	if errors.As(lmsErr, &invalid) {
		return nil, invalid.err
	}
	var migrateErr error
	current, latest, err := MigrationStatus(ctx, sqlDB)
	switch {
	case err != nil:
		migrateErr = err
	// A newer schema is accepted: a host upgraded first may have migrated,
	// and migrations only add.
	case current < latest:
		migrateErr = fmt.Errorf("trashd's tables are missing or out of date (version %d of %d): run `trashd migrate`", current, latest)
	}
	if err := errors.Join(lmsErr, migrateErr); err != nil {
		return nil, err
	}
	lms.Table = schema.table
	id, _ := schema.col(lms.IDColumn)
	return &Store{
		db:       sqlDB,
		lms:      lms,
		idColumn: id,
		scan:     newScanner(lms),
		warnings: schema.warnings,
	}, nil
}

// CheckLMSTable checks lms as NewStore does, without trashd's own tables:
// for commands that do not read the LMS table themselves (migrate, doctor)
// but tell the operator whether the others can. It returns the warnings
// (what makes trashd slow, not wrong).
func CheckLMSTable(ctx context.Context, sqlDB *sql.DB, lms LMSTable) ([]string, error) {
	schema, err := checkLMS(ctx, sqlDB, lms)
	var invalid *lmsInvalid
	if errors.As(err, &invalid) {
		return nil, invalid.err
	}
	if err != nil {
		return nil, err
	}
	return schema.warnings, nil
}

// checkLMS validates lms and checks its table in the connection's database.
// An *lmsInvalid is a problem found before the table was looked at: the
// configuration itself, or no database selected.
func checkLMS(ctx context.Context, sqlDB *sql.DB, lms LMSTable) (*tableSchema, error) {
	if err := lms.Validate(); err != nil {
		return nil, &lmsInvalid{err}
	}
	var database sql.NullString
	if err := sqlDB.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&database); err != nil {
		return nil, &lmsInvalid{fmt.Errorf("check the database: %w", err)}
	}
	if !database.Valid {
		return nil, &lmsInvalid{errors.New("check the database: the connection has no database selected")}
	}
	return lms.checkSchema(ctx, sqlDB, database.String)
}

// lmsInvalid is an error of checkLMS that stops NewStore before it checks
// trashd's own tables.
type lmsInvalid struct{ err error }

func (e *lmsInvalid) Error() string { return e.err.Error() }
func (e *lmsInvalid) Unwrap() error { return e.err }

// LMS is the LMS table the Store reads.
func (s *Store) LMS() LMSTable { return s.lms }

// Warnings are the problems NewStore found that make trashd slow, not wrong,
// such as a missing index, each with the statement that fixes it. A caller
// logs them at start.
func (s *Store) Warnings() []string { return slices.Clone(s.warnings) }

// limits of trash_objects' columns; a value that does not fit is cut (see clip).
const (
	maxError = 8000 // characters of last_error and trash_runs.error kept
	maxOwner = 255  // characters of lease_owner and trash_runs.host
)

// clip makes s storable in a utf8mb4 column of at most n characters: strict
// mode rejects invalid UTF-8 (error text may quote any key) and overlong
// values outright.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// nullString stores "" as NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
