package db

import (
	"context"
	"fmt"

	"trashd/reconcile"
)

// IntelligentTiering counts the records whose trash copy is in
// INTELLIGENT_TIERING: archived (a transition check saw it in an archive
// access tier, reconcile.Object.Archived) and restoring, for `trashd
// status`.
func (s *Store) IntelligentTiering(ctx context.Context) (reconcile.IntelligentTieringStatus, error) {
	var st reconcile.IntelligentTieringStatus
	err := s.db.QueryRowContext(ctx, "SELECT"+
		" COALESCE(SUM(state = "+stateSQL(reconcile.StateArchived)+"), 0),"+
		" COALESCE(SUM(CASE WHEN state = "+stateSQL(reconcile.StateArchived)+" THEN source_size END), 0),"+
		" COALESCE(SUM(state = "+stateSQL(reconcile.StateRestoring)+"), 0)"+
		" FROM trash_objects WHERE storage_class = 'INTELLIGENT_TIERING'",
	).Scan(&st.Archived, &st.ArchivedBytes, &st.Restoring)
	if err != nil {
		return st, fmt.Errorf("count the trash copies in Intelligent-Tiering's archive tiers: %w", err)
	}
	return st, nil
}
