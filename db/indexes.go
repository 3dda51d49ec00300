package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// index is one index of the LMS table, from information_schema.STATISTICS,
// which lists the primary key and unique keys too.
type index struct {
	name    string
	unique  bool
	typ     string            // INDEX_TYPE: BTREE, HASH, FULLTEXT, SPATIAL
	columns []string          // in index order; "" for a part that is an expression (MySQL 8 functional index)
	prefix  []sql.Null[int64] // SUB_PART of each column: the prefix length, if any
}

// startsWith reports whether the index's leading columns are names, in
// order, compared as MySQL compares column names: without case.
func (ix index) startsWith(names ...string) bool {
	if len(ix.columns) < len(names) {
		return false
	}
	for i, n := range names {
		if !strings.EqualFold(ix.columns[i], n) {
			return false
		}
	}
	return true
}

// lookup reports whether the index can find rows by equality on its leading
// columns: a FULLTEXT or SPATIAL index cannot.
func (ix index) lookup() bool { return ix.typ == "BTREE" || ix.typ == "HASH" }

func (ix index) String() string {
	parts := make([]string, len(ix.columns))
	for i, c := range ix.columns {
		parts[i] = c
		if ix.prefix[i].Valid {
			parts[i] += fmt.Sprintf("(%d)", ix.prefix[i].V)
		}
	}
	return ix.name + " (" + strings.Join(parts, ", ") + ")"
}

func readIndexes(ctx context.Context, sqlDB *sql.DB, database, table string) ([]index, error) {
	rows, err := sqlDB.QueryContext(ctx, `SELECT INDEX_NAME, NON_UNIQUE, INDEX_TYPE, COLUMN_NAME, SUB_PART
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, database, table)
	if err != nil {
		return nil, fmt.Errorf("list the indexes of %s: %w", table, err)
	}
	defer rows.Close()
	var out []index
	for rows.Next() {
		var (
			name, typ string
			nonUnique int64
			col       sql.NullString
			sub       sql.Null[int64]
		)
		if err := rows.Scan(&name, &nonUnique, &typ, &col, &sub); err != nil {
			return nil, fmt.Errorf("list the indexes of %s: %w", table, err)
		}
		if len(out) == 0 || out[len(out)-1].name != name {
			out = append(out, index{name: name, unique: nonUnique == 0, typ: strings.ToUpper(typ)})
		}
		ix := &out[len(out)-1]
		ix.columns = append(ix.columns, col.String)
		ix.prefix = append(ix.prefix, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the indexes of %s: %w", table, err)
	}
	return out, nil
}

// checkIDUnique checks that IDColumn names one row: it is the primary key or
// a unique key of its own. trashd records rows by that id and pages the scan
// by it, so a key that only makes (course, id) unique would let two rows
// share one record.
func (t LMSTable) checkIDUnique(s *tableSchema) error {
	var unique []string
	for _, ix := range s.indexes {
		if !ix.unique {
			continue
		}
		if len(ix.columns) == 1 && ix.startsWith(t.IDColumn) && !ix.prefix[0].Valid {
			return nil
		}
		unique = append(unique, ix.String())
	}
	has := "it has no primary or unique key"
	if len(unique) > 0 {
		has = "its primary and unique keys: " + strings.Join(unique, ", ")
	}
	return fmt.Errorf("IDColumn: column %q of table %q is neither its primary key nor a unique key of its own (%s): trashd records each row by this id, so it must name one row: name the primary key, or a column with a UNIQUE key of its own",
		t.IDColumn, s.table, has)
}

// Prefix index parts. A key column is usually a long VARCHAR (S3 keys reach
// 1024 bytes, 4096 bytes in utf8mb4), and TEXT and BLOB columns can only be
// indexed by a prefix. 255 characters of utf8mb4 are 1020 bytes, well below
// InnoDB's 3072-byte key limit (DYNAMIC row format, the default since MySQL
// 5.7 and MariaDB 10.2), leaving room for a bucket column, and long enough
// that keys sharing a prefix are few.
const (
	prefixChars = 255
	indexBytes  = 3072
)

var lobTypes = []string{"tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob"}

// createIndexSQL is the CREATE INDEX statement that makes an index named
// name on columns of s.table, with a prefix where one is needed: on TEXT and
// BLOB columns always, on long VARCHAR and VARBINARY columns when the whole
// columns would not fit InnoDB's key limit.
func createIndexSQL(s *tableSchema, name string, columns ...string) string {
	var total int64
	cols := make([]column, len(columns))
	for i, n := range columns {
		cols[i], _ = s.col(n)
		total += cols[i].octets
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quote(c.name)
		// A prefix counts characters (bytes for binary strings) and may not
		// exceed the column, which a TINYTEXT in utf8mb4 (255 bytes, 63
		// characters) would.
		n := prefixChars
		if c.maxlen > 0 && c.octets > 0 {
			n = min(n, int(c.octets/c.maxlen))
		}
		if slices.Contains(lobTypes, c.typ) || total > indexBytes && c.chars > int64(n) {
			parts[i] += fmt.Sprintf("(%d)", n)
		}
	}
	return "CREATE INDEX " + name + " ON " + quote(s.table) + " (" + strings.Join(parts, ", ") + ")"
}

// checkKeyIndex checks that an index can find the rows that name one object
// (LiveRow): one that starts with KeyColumn, or, with a BucketColumn, with
// it and KeyColumn. A prefix index serves: the query compares whole keys.
func (t LMSTable) checkKeyIndex(s *tableSchema) error {
	for _, ix := range s.indexes {
		if !ix.lookup() {
			continue
		}
		if ix.startsWith(t.KeyColumn) || t.BucketColumn != "" && ix.startsWith(t.BucketColumn, t.KeyColumn) {
			return nil
		}
	}
	key, _ := s.col(t.KeyColumn)
	columns := []string{t.KeyColumn}
	leading := fmt.Sprintf("%q", key.name)
	if t.BucketColumn != "" {
		bucket, _ := s.col(t.BucketColumn)
		columns = append(columns, t.BucketColumn)
		leading += fmt.Sprintf(" (or with %q, %q)", bucket.name, key.name)
	}
	return fmt.Errorf("KeyColumn: no index of table %q starts with column %s: before it deletes an object, trashd asks whether an untrashed row still names it, and without an index each question reads the whole table. Run %s; or, if no two rows ever name the same object, set UniqueKeys (TRASHD_LMS_UNIQUE_KEYS=true) instead",
		s.table, leading, createIndexSQL(s, "trashd_lms_key", columns...))
}

// trashIndexWarning is a warning when no index serves the scan for trashed
// rows (ScanTrashed: trashed, in id order): each pass then reads the whole
// table, which is correct but slow on a large one.
func (t LMSTable) trashIndexWarning(s *tableSchema) string {
	for _, ix := range s.indexes {
		if ix.lookup() && ix.startsWith(t.TrashColumn) && (len(ix.columns) == 1 || ix.startsWith(t.TrashColumn, t.IDColumn)) {
			return ""
		}
	}
	trash, _ := s.col(t.TrashColumn)
	id, _ := s.col(t.IDColumn)
	return fmt.Sprintf("LMS table: no index of table %q starts with %q, %q, so each pass reads the whole table to find the trashed rows; to avoid that, run %s",
		s.table, trash.name, id.name, createIndexSQL(s, "trashd_lms_trash", t.TrashColumn, t.IDColumn))
}
