package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"trashd/reconcile"
)

// Trash kinds: how the LMS marks a row trashed.
const (
	TrashFlag      = "flag"      // an integer column; non-zero means trashed, NULL does not
	TrashTimestamp = "timestamp" // a DATETIME or TIMESTAMP column; non-NULL means trashed
	// TrashValue: a string column (Canvas's file_state); one of
	// TrashValues means trashed, NULL or any other value does not.
	TrashValue = "value"
)

// trashValue is what a TrashValues entry may hold: it is spliced into SQL
// as a quoted literal, so no quote, backslash or space can reach it.
var trashValue = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// LMSTable names the LMS's file table and its columns. trashd only reads it.
type LMSTable struct {
	Table        string
	IDColumn     string // an integer, unique per row: the keyset the scan pages by
	KeyColumn    string // the object key
	BucketColumn string // optional: the object's bucket
	TrashColumn  string
	TrashKind    string   // TrashFlag, TrashTimestamp or TrashValue
	TrashValues  []string // TrashValue: the values that mean trashed (compared by the column's collation)

	// DefaultBucket is the bucket of rows without one: every row when
	// BucketColumn is "", else rows whose bucket is NULL or empty.
	DefaultBucket string

	// UniqueKeys: an object is moved even if another row names it: the
	// operator declares that no two rows name the same object. Without it,
	// trashd asks before every delete whether an untrashed row still names
	// the object (LiveRow), which needs an index on KeyColumn.
	UniqueKeys bool
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// trashdTables are trashd's own tables, which cannot be the LMS table.
var trashdTables = []string{"trash_objects", "trash_runs", versionTable}

// FieldError is one problem with one field of LMSTable or Options; see
// reconcile.FieldError.
type FieldError = reconcile.FieldError

// FieldErrors returns the FieldErrors in an error from Validate, so that a
// caller can name its own settings instead of the fields.
func FieldErrors(err error) []*FieldError { return reconcile.FieldErrors(err) }

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
	if db, table, ok := otherDatabase(t.Table); ok {
		bad("Table", "%q names table %q of database %q: trashd reads the LMS table in the database it connects to, where it keeps its own tables too, and a view there cannot stand in for it (trashd needs the table's keys and indexes): connect to %q (TRASHD_MYSQL_DATABASE=%s) and name the table alone (TRASHD_LMS_TABLE=%s)",
			t.Table, table, db, db, db, table)
	} else {
		check("Table", t.Table, true)
	}
	check("IDColumn", t.IDColumn, true)
	check("KeyColumn", t.KeyColumn, true)
	check("BucketColumn", t.BucketColumn, false)
	check("TrashColumn", t.TrashColumn, true)
	if slices.ContainsFunc(trashdTables, func(s string) bool { return strings.EqualFold(s, t.Table) }) {
		bad("Table", "%q is one of trashd's own tables", t.Table)
	}
	// The trash flag cannot also be the id: every row with a non-zero id
	// would look trashed.
	if t.TrashColumn != "" && strings.EqualFold(t.TrashColumn, t.IDColumn) {
		bad("TrashColumn", "%q is also the {{IDColumn}}: name the column that marks a row trashed", t.TrashColumn)
	}
	switch t.TrashKind {
	case TrashFlag, TrashTimestamp:
		if len(t.TrashValues) > 0 {
			bad("TrashValues", "are only for TrashKind %q; TrashKind is %q", TrashValue, t.TrashKind)
		}
	case TrashValue:
		if len(t.TrashValues) == 0 {
			bad("TrashValues", "are required for TrashKind %q: the values of the column that mean trashed, such as deleted", TrashValue)
		}
		for _, v := range t.TrashValues {
			if !trashValue.MatchString(v) {
				bad("TrashValues", "%q is not a plain value (letters, digits, _ . : -, at most 64 characters)", v)
			}
		}
	case "":
		bad("TrashKind", "is required (%q, %q or %q)", TrashFlag, TrashTimestamp, TrashValue)
	default:
		bad("TrashKind", "%q is not %q, %q or %q", t.TrashKind, TrashFlag, TrashTimestamp, TrashValue)
	}
	if t.BucketColumn == "" && t.DefaultBucket == "" {
		bad("DefaultBucket", "is required when there is no {{BucketColumn}}: name the bucket of every row, or the column that holds it")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("LMS table: %w", err)
	}
	return nil
}

// otherDatabase splits a table name of the form database.table, which
// trashd does not accept: it names the table alone, in its own database.
func otherDatabase(name string) (database, table string, ok bool) {
	database, table, ok = strings.Cut(name, ".")
	return database, table, ok && identifier.MatchString(database) && identifier.MatchString(table)
}

// Column types (information_schema DATA_TYPE) each role accepts. MySQL's
// BOOLEAN is TINYINT(1), so it is a flag type too.
var (
	integerTypes   = []string{"tinyint", "smallint", "mediumint", "int", "bigint"}
	flagTypes      = append([]string{"bit"}, integerTypes...)
	timestampTypes = []string{"datetime", "timestamp"}
	stringTypes    = []string{"char", "varchar", "tinytext", "text", "mediumtext", "longtext",
		"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
)

// column is one column of the LMS table, as information_schema describes it.
type column struct {
	name     string // as the server spells it
	typ      string // DATA_TYPE, lower case
	full     string // COLUMN_TYPE, as the server spells it: "bigint(20) unsigned", "enum('0','1')"
	nullable bool
	chars    int64  // CHARACTER_MAXIMUM_LENGTH (bytes for binary strings); 0 for other types
	octets   int64  // CHARACTER_OCTET_LENGTH; 0 for non-strings
	charset  string // "" for binary strings and non-strings
	maxlen   int64  // bytes per character of charset; 1 for binary strings
}

// tableSchema is what checkSchema learned about the LMS table.
type tableSchema struct {
	table    string            // as the server spells it
	view     bool              // a view, not a base table
	columns  map[string]column // by lower-case name: column names are case-insensitive
	indexes  []index           // from information_schema.STATISTICS
	warnings []string          // problems that make trashd slow, not wrong
}

// col returns the column named name, in any case.
func (s *tableSchema) col(name string) (column, bool) {
	c, ok := s.columns[strings.ToLower(name)]
	return c, ok
}

// checkSchema checks, in information_schema, that t's table and columns
// exist in the current database with types that fit their roles, that
// IDColumn names one row, and that the indexes trashd's queries need exist.
func (t LMSTable) checkSchema(ctx context.Context, sqlDB *sql.DB, database string) (*tableSchema, error) {
	tables, err := queryStrings(ctx, sqlDB, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, database)
	if err != nil {
		return nil, fmt.Errorf("list the tables of %s: %w", database, err)
	}
	table, err := t.findTable(ctx, sqlDB, database, tables)
	if err != nil {
		return nil, err
	}
	schema := &tableSchema{table: table, columns: map[string]column{}}
	var tableType string
	if err := sqlDB.QueryRowContext(ctx, `SELECT TABLE_TYPE FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, database, table).Scan(&tableType); err != nil {
		return nil, fmt.Errorf("read the type of table %s: %w", table, err)
	}
	// MySQL and MariaDB both say VIEW; a base table is BASE TABLE, or
	// SYSTEM VERSIONED on MariaDB.
	schema.view = strings.EqualFold(tableType, "VIEW")
	names, err := schema.readColumns(ctx, sqlDB, database)
	if err != nil {
		return nil, err
	}
	if schema.indexes, err = readIndexes(ctx, sqlDB, database, table); err != nil {
		return nil, err
	}

	var errs []error
	check := func(field, name string, want []string, wantName string) bool {
		if name == "" {
			return false
		}
		c, ok := schema.col(name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: column %q does not exist in table %q (its columns: %s)",
				field, name, table, strings.Join(names, ", ")))
			return false
		case !slices.Contains(want, c.typ):
			errs = append(errs, fmt.Errorf("%s: column %q of table %q is %s, not %s",
				field, name, table, strings.ToUpper(c.typ), wantName))
			return false
		}
		return true
	}
	// S3 names are bytes: a column that does not give back what the LMS
	// stored would have trashd move another object than the row's.
	exact := func(field, name string) bool {
		c, _ := schema.col(name)
		var why, to, or string
		switch c.typ {
		case "char": // NCHAR too
			why = `the server strips a CHAR value's trailing spaces, so a row naming "a " would be read as naming "a" (and values stored in it have lost theirs already)`
			to, or = fmt.Sprintf("VARCHAR(%d)", c.chars), "VARBINARY or TEXT"
		case "binary":
			why = "the server pads a BINARY value with NUL bytes to the column's length, so the name read is not the one the LMS wrote"
			to, or = fmt.Sprintf("VARBINARY(%d)", c.chars), "VARCHAR or BLOB"
		default:
			return true
		}
		errs = append(errs, fmt.Errorf("%s: column %q of table %q is %s(%d): %s; change it to %s, %s: ALTER TABLE %s MODIFY %s %s … (keeping its character set, collation and NULL)",
			field, c.name, table, strings.ToUpper(c.typ), c.chars, why, to, or, quote(table), quote(c.name), to))
		return false
	}
	idOK := check("IDColumn", t.IDColumn, integerTypes, "an integer type")
	keyOK := check("KeyColumn", t.KeyColumn, stringTypes, "a string type") && exact("KeyColumn", t.KeyColumn)
	bucketOK := check("BucketColumn", t.BucketColumn, stringTypes, "a string type") && exact("BucketColumn", t.BucketColumn)
	var trashOK bool
	switch t.TrashKind {
	case TrashFlag:
		if c, ok := schema.col(t.TrashColumn); ok && !slices.Contains(flagTypes, c.typ) {
			errs = append(errs, fmt.Errorf("TrashColumn: column %q of table %q is %s, not an integer type, BIT or BOOLEAN, as TrashKind \"flag\" needs%s",
				c.name, table, c.typeText(), otherKind(c)))
			break
		}
		trashOK = check("TrashColumn", t.TrashColumn, flagTypes, `an integer type, BIT or BOOLEAN, as TrashKind "flag" needs`)
	case TrashTimestamp:
		trashOK = check("TrashColumn", t.TrashColumn, timestampTypes, `DATETIME or TIMESTAMP, as TrashKind "timestamp" needs`)
		// A NOT NULL timestamp (MariaDB's old TIMESTAMP default) is never
		// NULL, so every row would look trashed.
		if c, _ := schema.col(t.TrashColumn); trashOK && !c.nullable {
			errs = append(errs, fmt.Errorf("TrashColumn: column %q of table %q is NOT NULL, but TrashKind \"timestamp\" means trashed when it is not NULL: every row would look trashed",
				t.TrashColumn, table))
		}
	case TrashValue:
		trashOK = check("TrashColumn", t.TrashColumn, append([]string{"enum"}, stringTypes...), `a string type (CHAR, VARCHAR, TEXT or ENUM), as TrashKind "value" needs`)
	}
	switch {
	case schema.view:
		// A view has no keys or indexes of its own: the checks below
		// would ask for an index on it, which the server refuses.
		errs = append(errs, fmt.Errorf("Table: table %q is a view, not a base table: trashd needs the LMS's base table, with %q as its primary key (or a unique key of its own) and an index on %q, keys and indexes that a view does not have; name the table the view reads instead (SHOW CREATE VIEW %s shows it) and grant the MySQL user SELECT on it; if it is in another database, connect to that one (TRASHD_MYSQL_DATABASE), where trashd keeps its own tables beside it",
			table, t.IDColumn, t.KeyColumn, quote(table)))
	case idOK:
		errs = append(errs, t.checkIDUnique(schema))
		if c, _ := schema.col(t.IDColumn); c.typ == "bigint" {
			errs = append(errs, checkIDRange(ctx, sqlDB, table, c))
		}
	}
	if !schema.view && keyOK && (bucketOK || t.BucketColumn == "") && !t.UniqueKeys {
		errs = append(errs, t.checkKeyIndex(schema))
	}
	if !schema.view && idOK && trashOK {
		if w := t.trashIndexWarning(schema); w != "" {
			schema.warnings = append(schema.warnings, w)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("LMS table: %w", err)
	}
	return schema, nil
}

// readColumns fills s.columns and returns the column names in table order.
func (s *tableSchema) readColumns(ctx context.Context, sqlDB *sql.DB, database string) ([]string, error) {
	rows, err := sqlDB.QueryContext(ctx, `SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE,
			COALESCE(c.CHARACTER_MAXIMUM_LENGTH, 0), COALESCE(c.CHARACTER_OCTET_LENGTH, 0),
			COALESCE(c.CHARACTER_SET_NAME, ''), COALESCE(cs.MAXLEN, 1)
		FROM information_schema.COLUMNS AS c
		LEFT JOIN information_schema.CHARACTER_SETS AS cs ON cs.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME
		WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION`, database, s.table)
	if err != nil {
		return nil, fmt.Errorf("list the columns of %s: %w", s.table, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var c column
		var null string
		if err := rows.Scan(&c.name, &c.typ, &c.full, &null, &c.chars, &c.octets, &c.charset, &c.maxlen); err != nil {
			return nil, fmt.Errorf("list the columns of %s: %w", s.table, err)
		}
		c.typ = strings.ToLower(c.typ)
		if strings.EqualFold(c.charset, "binary") { // as some servers name it for binary strings
			c.charset, c.maxlen = "", 1
		}
		c.nullable = null == "YES"
		names = append(names, c.name)
		s.columns[strings.ToLower(c.name)] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the columns of %s: %w", s.table, err)
	}
	return names, nil
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
		return "", tableNotFound{fmt.Errorf("LMS table: table %q does not exist in database %q, which has no tables", t.Table, database)}
	}
	const most = 50
	list := strings.Join(lms[:min(len(lms), most)], ", ")
	if len(lms) > most {
		list += fmt.Sprintf(" and %d more", len(lms)-most)
	}
	return "", tableNotFound{fmt.Errorf("LMS table: table %q does not exist in database %q (its tables: %s)", t.Table, database, list)}
}

// ErrLMSTableNotFound is in the error of a check of the LMS table that found
// no table of its name in the database, as far as the MySQL user can see:
// information_schema lists only the tables a user has a privilege on, so a
// user that migrates trashd's tables, without SELECT on the LMS table, finds
// none.
var ErrLMSTableNotFound = errors.New("the LMS table is not among the tables the MySQL user can see")

type tableNotFound struct{ error }

func (e tableNotFound) Unwrap() error      { return e.error }
func (tableNotFound) Is(target error) bool { return target == ErrLMSTableNotFound }

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
