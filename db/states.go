package db

import (
	"strings"

	"trashd/reconcile"
)

// stateSQL is the SQL literal 'in_trash' of state s. A state's name is
// defined once, in reconcile; the values are reconcile's own constants
// (plain words), never input, so they are written into the SQL rather than
// bound.
func stateSQL(s reconcile.State) string { return "'" + string(s) + "'" }

// inStates is the SQL list "('pending', 'copied')" of states, for
// "state IN …". The state sets are defined once, in reconcile.
func inStates(states []reconcile.State) string {
	lits := make([]string, len(states))
	for i, s := range states {
		lits[i] = stateSQL(s)
	}
	return "(" + strings.Join(lits, ", ") + ")"
}

// The predicates built from reconcile's state sets.
var (
	moveStatesSQL   = inStates(reconcile.MoveStates())
	movingSQL       = inStates(reconcile.MovingStates())
	restorableSQL   = inStates(reconcile.RestorableStates())
	restoreClaimSQL = inStates(reconcile.RestoreClaimStates())
	copyHolderSQL   = inStates(reconcile.CopyHolderStates())
	inTrashSQL      = inStates(reconcile.InTrashStates())
	orphanableSQL   = inStates(reconcile.OrphanableStates())
	orphanedSQL     = stateSQL(reconcile.StateOrphaned)
)
