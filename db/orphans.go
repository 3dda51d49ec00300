package db

import (
	"context"
	"fmt"
	"strings"

	"trashd/reconcile"
)

// OrphanCandidates lists the records in the trash bucket whose LMS row is
// gone altogether. It changes nothing: the runner weighs the number first
// (the mass-change brake), then MarkOrphans.
func (s *Store) OrphanCandidates(ctx context.Context) ([]int64, error) {
	t := s.lms
	ids, err := s.selectIDs(ctx, "SELECT t.id FROM trash_objects AS t LEFT JOIN "+quote(t.Table)+" AS l ON l."+quote(t.IDColumn)+" = t.lms_id"+
		" WHERE l."+quote(t.IDColumn)+" IS NULL AND t.state IN "+orphanableSQL+" AND t.lease_token IS NULL")
	if err != nil {
		return nil, fmt.Errorf("find records whose LMS row is gone: %w", err)
	}
	return ids, nil
}

// MarkOrphans records ids as orphaned: nobody can restore them, and the
// lifecycle rule decides their fate. The state they had is kept, so that
// ReturnOrphans can undo it if the row comes back. A record that a worker
// leased since it was listed is left to that worker: its holder may be in
// the middle of a restore.
func (s *Store) MarkOrphans(ctx context.Context, ids []int64) (int, error) {
	n, err := s.updateIDs(ctx, ids, "orphaned_from = state, state = "+orphanedSQL+", finished_at = NOW(6), updated_at = NOW(6)",
		"state IN "+orphanableSQL+" AND lease_token IS NULL")
	if err != nil {
		return n, fmt.Errorf("mark records whose LMS row is gone: %w", err)
	}
	return n, nil
}

// ReturnOrphans gives every orphaned record whose LMS row exists again (a
// table restored from a backup, a maintenance copy put back) the state it
// had before, and returns how many.
func (s *Store) ReturnOrphans(ctx context.Context) (int, error) {
	t := s.lms
	ids, err := s.selectIDs(ctx, "SELECT t.id FROM trash_objects AS t JOIN "+quote(t.Table)+" AS l ON l."+quote(t.IDColumn)+" = t.lms_id"+
		" WHERE t.state = "+orphanedSQL)
	if err != nil {
		return 0, fmt.Errorf("find orphaned records whose LMS row is back: %w", err)
	}
	// finished_at first: assignments run left to right, each seeing the
	// ones before it, so it must read orphaned_from before that is cleared.
	before := "COALESCE(orphaned_from, " + stateSQL(reconcile.StateInTrash) + ")"
	n, err := s.updateIDs(ctx, ids, "finished_at = CASE WHEN "+before+" = "+stateSQL(reconcile.StateArchived)+" THEN finished_at END,"+
		" state = "+before+", orphaned_from = NULL, updated_at = NOW(6)",
		"state = "+orphanedSQL)
	if err != nil {
		return n, fmt.Errorf("return orphaned records whose LMS row is back: %w", err)
	}
	return n, nil
}

// Census counts what the mass-change brake weighs changes against: the LMS
// table's rows, trashd's records, and the records whose object is in the
// trash bucket (in_trash, archived; not a record still on its way there,
// which a restore of a young trash must not be weighed against). The LMS table's rows are InnoDB's estimate, or the exact
// count up to censusExact rows where that is more: the estimate of a table
// just filled can be 0, and a small table must be weighed by its real size.
func (s *Store) Census(ctx context.Context) (lmsRows, records, inTrash int, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT GREATEST("+
		" COALESCE((SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?), 0),"+
		" (SELECT COUNT(*) FROM (SELECT 1 FROM "+quote(s.lms.Table)+" LIMIT ?) AS few)),"+
		" (SELECT COUNT(*) FROM trash_objects),"+
		" (SELECT COUNT(*) FROM trash_objects WHERE state IN "+inTrashSQL+")", s.lms.Table, censusExact).Scan(&lmsRows, &records, &inTrash)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("count LMS rows and records: %w", err)
	}
	return lmsRows, records, inTrash, nil
}

// censusExact bounds the exact count of the LMS table's rows: reading that
// many rows of an index takes milliseconds, and a table larger than that
// has an estimate worth the name.
const censusExact = 100_000

// TrashFlag describes how a row of the LMS table is read as trashed, for
// the brake's messages: "trash column `visible` of table `files`, kind flag
// (non-zero means trashed)".
func (s *Store) TrashFlag() string {
	t := s.lms
	var means string
	switch t.TrashKind {
	case TrashTimestamp:
		means = "non-NULL means trashed"
	case TrashValue:
		means = "one of " + strings.Join(t.TrashValues, ", ") + " means trashed"
	default:
		means = "non-zero means trashed"
	}
	return fmt.Sprintf("trash column %s of table %s, kind %s (%s)", quote(t.TrashColumn), quote(t.Table), t.TrashKind, means)
}
