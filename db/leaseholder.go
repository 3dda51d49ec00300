package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LeaseHolder is the worker that holds a record's lease: its owner (host,
// pid and a random suffix), when the lease runs out, and how long that is
// from now, both by the database's clock, which every host's leases use.
type LeaseHolder struct {
	Owner string
	Until time.Time
	Left  time.Duration
}

// LeaseOf returns who holds the lease of LMS row lmsID's record now; false
// when nobody does (no record, no lease, or a lease that ran out).
func (s *Store) LeaseOf(ctx context.Context, lmsID int64) (LeaseHolder, bool, error) {
	var (
		h     LeaseHolder
		owner sql.NullString
		left  int64
	)
	err := s.db.QueryRowContext(ctx, "SELECT lease_owner, lease_expires_at, TIMESTAMPDIFF(MICROSECOND, NOW(6), lease_expires_at)"+
		" FROM trash_objects WHERE lms_id = ? AND lease_token IS NOT NULL AND lease_expires_at > NOW(6)", lmsID).Scan(&owner, &h.Until, &left)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return LeaseHolder{}, false, nil
	case err != nil:
		return LeaseHolder{}, false, fmt.Errorf("read the lease of LMS row %d's record: %w", lmsID, err)
	}
	h.Owner, h.Left = owner.String, time.Duration(left)*time.Microsecond
	return h, true, nil
}
