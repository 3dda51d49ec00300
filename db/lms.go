package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Trash kinds: how the LMS marks a row trashed.
const (
	TrashFlag      = "flag"      // an integer column; non-zero means trashed, NULL does not
	TrashTimestamp = "timestamp" // a DATETIME or TIMESTAMP column; non-NULL means trashed
)

// LMSTable names the LMS's file table and its columns. trashd only reads it.
type LMSTable struct {
	Table        string
	IDColumn     string // an integer, unique per row: the keyset the scan pages by
	KeyColumn    string // the object key
	BucketColumn string // optional: the object's bucket
	TrashColumn  string
	TrashKind    string // TrashFlag or TrashTimestamp

	// DefaultBucket is the bucket of rows without one: every row when
	// BucketColumn is "", else rows whose bucket is NULL or empty.
	DefaultBucket string
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// trashdTables are trashd's own tables, which cannot be the LMS table.
var trashdTables = []string{"trash_objects", "trash_runs", versionTable}

// FieldError is one problem with one LMSTable field.
type FieldError struct {
	Field   string // the LMSTable field: Table, IDColumn, …, DefaultBucket
	Problem string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

// FieldErrors returns the FieldErrors in an error from Validate, so that a
// caller can name its own settings instead of the fields.
func FieldErrors(err error) []*FieldError {
	switch x := err.(type) {
	case *FieldError:
		return []*FieldError{x}
	case interface{ Unwrap() []error }:
		var out []*FieldError
		for _, e := range x.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		return FieldErrors(x.Unwrap())
	}
	return nil
}

// Validate reports every problem with t at once, each a *FieldError naming
// its field. Identifiers are checked against ^[A-Za-z_][A-Za-z0-9_]{0,63}$
// because they are spliced into SQL (backtick-quoted); nothing else may reach
// a query.
func (t LMSTable) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	check := func(field, value string, required bool) {
		switch {
		case value == "" && required:
			bad(field, "is required")
		case value != "" && !identifier.MatchString(value):
			bad(field, "%q is not a plain identifier (letters, digits and _, not starting with a digit, at most 64 characters)", value)
		}
	}
	check("Table", t.Table, true)
	check("IDColumn", t.IDColumn, true)
	check("KeyColumn", t.KeyColumn, true)
	check("BucketColumn", t.BucketColumn, false)
	check("TrashColumn", t.TrashColumn, true)
	if slices.ContainsFunc(trashdTables, func(s string) bool { return strings.EqualFold(s, t.Table) }) {
		bad("Table", "%q is one of trashd's own tables", t.Table)
	}
	switch t.TrashKind {
	case TrashFlag, TrashTimestamp:
	case "":
		bad("TrashKind", "is required (%q or %q)", TrashFlag, TrashTimestamp)
	default:
		bad("TrashKind", "%q is not %q or %q", t.TrashKind, TrashFlag, TrashTimestamp)
	}
	if t.BucketColumn == "" && t.DefaultBucket == "" {
		bad("DefaultBucket", "is required when there is no BucketColumn")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("LMS table: %w", err)
	}
	return nil
}

// Column types (information_schema DATA_TYPE) each role accepts.
var (
	integerTypes   = []string{"tinyint", "smallint", "mediumint", "int", "bigint"}
	flagTypes      = append([]string{"bit"}, integerTypes...)
	timestampTypes = []string{"datetime", "timestamp"}
	stringTypes    = []string{"char", "varchar", "tinytext", "text", "mediumtext", "longtext",
		"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
)

// checkSchema checks, in information_schema, that t's table and columns
// exist in the current database with types that fit their roles. It returns
// the table's name as the server spells it.
func (t LMSTable) checkSchema(ctx context.Context, sqlDB *sql.DB, database string) (string, error) {
	tables, err := queryStrings(ctx, sqlDB, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, database)
	if err != nil {
		return "", fmt.Errorf("list the tables of %s: %w", database, err)
	}
	table, err := t.findTable(ctx, sqlDB, database, tables)
	if err != nil {
		return "", err
	}

	rows, err := sqlDB.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, database, table)
	if err != nil {
		return "", fmt.Errorf("list the columns of %s: %w", table, err)
	}
	defer rows.Close()
	var names []string
	types := map[string]string{} // lower-case column name → data type
	nullable := map[string]bool{}
	for rows.Next() {
		var name, typ, null string
		if err := rows.Scan(&name, &typ, &null); err != nil {
			return "", fmt.Errorf("list the columns of %s: %w", table, err)
		}
		names = append(names, name)
		types[strings.ToLower(name)] = strings.ToLower(typ)
		nullable[strings.ToLower(name)] = null == "YES"
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("list the columns of %s: %w", table, err)
	}

	var errs []error
	// Column names are case-insensitive in MySQL, unlike table names.
	check := func(field, column string, want []string, wantName string) {
		if column == "" {
			return
		}
		typ, ok := types[strings.ToLower(column)]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: column %q does not exist in table %q (its columns: %s)",
				field, column, table, strings.Join(names, ", ")))
		case !slices.Contains(want, typ):
			errs = append(errs, fmt.Errorf("%s: column %q of table %q is %s, not %s",
				field, column, table, strings.ToUpper(typ), wantName))
		}
	}
	check("IDColumn", t.IDColumn, integerTypes, "an integer type")
	check("KeyColumn", t.KeyColumn, stringTypes, "a string type")
	check("BucketColumn", t.BucketColumn, stringTypes, "a string type")
	switch t.TrashKind {
	case TrashFlag:
		check("TrashColumn", t.TrashColumn, flagTypes, `an integer type, as TrashKind "flag" needs`)
	case TrashTimestamp:
		check("TrashColumn", t.TrashColumn, timestampTypes, `DATETIME or TIMESTAMP, as TrashKind "timestamp" needs`)
		// A NOT NULL timestamp (MariaDB's old TIMESTAMP default) is never
		// NULL, so every row would look trashed.
		if _, ok := types[strings.ToLower(t.TrashColumn)]; ok && !nullable[strings.ToLower(t.TrashColumn)] {
			errs = append(errs, fmt.Errorf("TrashColumn: column %q of table %q is NOT NULL, but TrashKind \"timestamp\" means trashed when it is not NULL: every row would look trashed",
				t.TrashColumn, table))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("LMS table: %w", err)
	}
	return table, nil
}

// findTable finds t.Table among tables. Table names are case-sensitive on
// most servers (lower_case_table_names = 0), so a name that differs only in
// case is reported rather than silently used, unless the server folds case.
func (t LMSTable) findTable(ctx context.Context, sqlDB *sql.DB, database string, tables []string) (string, error) {
	if slices.Contains(tables, t.Table) {
		return t.Table, nil
	}
	var lms []string // the candidates to list: every table but trashd's own
	folded := ""
	for _, name := range tables {
		if !slices.Contains(trashdTables, name) {
			lms = append(lms, name)
		}
		if strings.EqualFold(name, t.Table) {
			folded = name
		}
	}
	if folded != "" {
		var lower int
		if err := sqlDB.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&lower); err != nil {
			return "", fmt.Errorf("read lower_case_table_names: %w", err)
		}
		if lower != 0 {
			return folded, nil
		}
		return "", fmt.Errorf("LMS table: table %q does not exist in database %q; did you mean %q? (table names are case-sensitive on this server)",
			t.Table, database, folded)
	}
	if len(lms) == 0 {
		return "", fmt.Errorf("LMS table: table %q does not exist in database %q, which has no tables", t.Table, database)
	}
	const most = 50
	list := strings.Join(lms[:min(len(lms), most)], ", ")
	if len(lms) > most {
		list += fmt.Sprintf(" and %d more", len(lms)-most)
	}
	return "", fmt.Errorf("LMS table: table %q does not exist in database %q (its tables: %s)", t.Table, database, list)
}

func queryStrings(ctx context.Context, sqlDB *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := sqlDB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// quote backtick-quotes an identifier that Validate has accepted.
func quote(name string) string { return "`" + name + "`" }
