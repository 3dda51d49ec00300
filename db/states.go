package db

import (
	"strings"

	"trashd/reconcile"
)

// inStates is the SQL list "('pending', 'copied')" of states, for
// "state IN …". The state sets are defined once, in reconcile; the values
// are reconcile's own constants (plain words), never input, so they are
// written into the SQL rather than bound.
func inStates(states []reconcile.State) string {
	var b strings.Builder
	b.WriteString("(")
	for i, s := range states {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + string(s) + "'")
	}
	b.WriteString(")")
	return b.String()
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
)
