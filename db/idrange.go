package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"

	"trashd/reconcile"
)

// LMS ids are signed 64-bit numbers everywhere in trashd: its records
// (trash_objects.lms_id is a BIGINT), the scan's cursor, the trash keys.
// A BIGINT UNSIGNED id column can hold ids from 2^63 up, which do not fit;
// and the scan pages by "id > the last id seen", starting after
// reconcile.BeforeFirstLMSID (-2^63), so it never reaches a row whose id is
// -2^63 itself. Such a row would fail every pass with a driver error, or be
// passed over without a word; instead trashd refuses the table while one
// exists, at start and at the start of every pass, with a MIN and a MAX that
// the id's key answers at once. Every other id, 0 and negative ones too, is
// an id like any other.

// checkIDRange refuses the LMS table while its id column holds an id that
// trashd cannot keep; c is that column, a BIGINT.
func checkIDRange(ctx context.Context, sqlDB *sql.DB, table string, c column) error {
	var lo, hi sql.NullString
	err := sqlDB.QueryRowContext(ctx, "SELECT MIN("+quote(c.name)+"), MAX("+quote(c.name)+") FROM "+quote(table)).Scan(&lo, &hi)
	if err != nil {
		return fmt.Errorf("read the smallest and largest id of %s: %w", table, err)
	}
	var errs []error
	if hi.Valid {
		errs = append(errs, idRangeError(table, c, hi.String))
	}
	if lo.Valid {
		errs = append(errs, idRangeError(table, c, lo.String))
	}
	return errors.Join(errs...)
}

// idRangeError is the refusal of the LMS table for holding id, or nil when
// trashd can keep id.
func idRangeError(table string, c column, id string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) && id[0] != '-':
		first := strconv.FormatUint(math.MaxInt64+1, 10)
		return fmt.Errorf("IDColumn: column %q of table %q is %s and holds id %s, at or above 2^63 (%s): trashd keeps LMS ids as signed 64-bit numbers and cannot handle ids at or above 2^63, so it does nothing with the table while one is there; "+
			"renumber those rows below %s (SELECT %s FROM %s WHERE %s >= %s lists them), or name as IDColumn (TRASHD_LMS_ID_COLUMN) another column that is unique per row and below 2^63",
			c.name, table, c.typeText(), id, first, first, quote(c.name), quote(table), quote(c.name), first)
	case err != nil:
		return fmt.Errorf("IDColumn: column %q of table %q holds id %q, which trashd cannot read as a number: %w", c.name, table, id, err)
	case n == reconcile.BeforeFirstLMSID:
		return fmt.Errorf("IDColumn: column %q of table %q is %s and holds id %d, the smallest it can: trashd pages through the table from just above that id, so it cannot handle that row, and does nothing with the table while it is there; "+
			"renumber it (SELECT %s FROM %s WHERE %s = %d finds it), or name as IDColumn (TRASHD_LMS_ID_COLUMN) another column that is unique per row",
			c.name, table, c.typeText(), n, quote(c.name), quote(table), quote(c.name), n)
	}
	return nil
}

// checkIDRange is the check of the Store's table, for the start of a pass:
// the LMS may have inserted such a row since the Store was made.
func (s *Store) checkIDRange(ctx context.Context) error {
	if s.idColumn.typ != "bigint" {
		return nil
	}
	return checkIDRange(ctx, s.db, s.lms.Table, s.idColumn)
}

// lmsID scans an id of the LMS table. An id that trashd cannot keep (an
// UNSIGNED one from 2^63 up, inserted since the last check) is an
// *idOutOfRange, which the caller turns into the refusal that names the
// table (idRangeError), rather than the driver's conversion error.
type lmsID struct {
	id    int64
	valid bool
}

type idOutOfRange struct{ id string }

func (e *idOutOfRange) Error() string { return "LMS id " + e.id + " is out of range" }

func (v *lmsID) Scan(src any) error {
	switch x := src.(type) {
	case nil:
		*v = lmsID{}
		return nil
	case int64:
		*v = lmsID{x, true}
		return nil
	case uint64:
		if x > math.MaxInt64 {
			return &idOutOfRange{strconv.FormatUint(x, 10)}
		}
		*v = lmsID{int64(x), true}
		return nil
	case []byte:
		return v.parse(string(x))
	case string:
		return v.parse(x)
	}
	return fmt.Errorf("LMS id: unexpected %T", src)
}

func (v *lmsID) parse(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return &idOutOfRange{s}
	}
	if err != nil {
		return fmt.Errorf("LMS id %q: %w", s, err)
	}
	*v = lmsID{n, true}
	return nil
}

// idScanError turns an id out of range in err into the refusal of the table.
func (s *Store) idScanError(err error) error {
	var out *idOutOfRange
	if errors.As(err, &out) {
		if refusal := idRangeError(s.lms.Table, s.idColumn, out.id); refusal != nil {
			return refusal
		}
	}
	return err
}
