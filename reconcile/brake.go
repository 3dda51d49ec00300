package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

// ErrMassChange: a pass would change far more than a normal day does, and
// stopped before it changed anything.
var ErrMassChange = errors.New("mass change")

// MassLimits is the brake on mass changes. One wrong setting (the LMS table
// pointed at a staging copy, an integer column taken for the trash flag, a
// table emptied for maintenance) could otherwise move every file, restore
// everything from the archive class (retrieval and early-deletion fees), or
// orphan every record. Per pass, new discoveries, restore requests and
// orphanings are each weighed: above both Count and Share of what they are
// measured against, the pass stops before doing any of it.
type MassLimits struct {
	Count int     // default DefaultMassCount
	Share float64 // of the LMS table (discoveries) or of the records (restores, orphanings); default DefaultMassShare
	Allow bool    // the operator's override: let this pass through
	// Override names the override for messages: a flag of `trashd
	// reconcile`, a variable for `trashd serve`.
	Override string
}

// Defaults that a normal day never reaches.
const (
	DefaultMassCount = 1000
	DefaultMassShare = 0.10
)

func (l MassLimits) withDefaults() MassLimits {
	l.Count = cmp.Or(l.Count, DefaultMassCount)
	l.Share = cmp.Or(l.Share, DefaultMassShare)
	l.Override = cmp.Or(l.Override, "TRASHD_ALLOW_MASS_CHANGE=true (or `trashd reconcile --allow-mass-change`)")
	return l
}

func (l MassLimits) count() int { return l.Count }

// Validate reports every limit out of range, each a *FieldError.
func (l MassLimits) Validate() error {
	var errs []error
	if l.Count < 1 {
		errs = append(errs, fieldErr("Count", "%d must be at least 1", l.Count))
	}
	// Written so that NaN fails too.
	if !(l.Share > 0 && l.Share <= 1) {
		errs = append(errs, fieldErr("Share", "%v is not a share above 0 and at most 1, such as 0.1", l.Share))
	}
	return errors.Join(errs...)
}

// check stops a change of n things when it is above both limits, measured
// against of.
func (l MassLimits) check(what string, n, of int, ofWhat string) error {
	if l.Allow || n <= l.Count || float64(n) <= l.Share*float64(of) {
		return nil
	}
	share := 1.0
	if of > 0 {
		share = float64(n) / float64(of)
	}
	return fmt.Errorf("%w: this pass would %s %d (%.0f%% of %d %s), above the limits of %d and %.0f%%: "+
		"nothing was changed. If that is what you mean (check the LMS settings first: the table, the trash column and its kind), "+
		"let one pass through with %s",
		ErrMassChange, what, n, 100*share, of, ofWhat, l.Count, 100*l.Share, l.Override)
}

// Census counts what the brake weighs changes against.
type Census interface {
	// Census returns the LMS table's rows (an estimate), trashd's records,
	// and the records whose object is in the trash bucket.
	Census(ctx context.Context) (lmsRows, records, inTrash int, err error)
	// CountUndiscovered counts the trashed LMS rows without a record.
	CountUndiscovered(ctx context.Context) (int, error)
}

func (r *Runner) weighRestores(ctx context.Context, l MassLimits, n int) error {
	if l.Allow || n <= l.Count {
		return nil
	}
	_, _, inTrash, err := r.store.Census(ctx)
	if err != nil {
		return err
	}
	return l.check("restore files whose trash flag was cleared:", n, inTrash, "files in the trash")
}

func (r *Runner) weighOrphans(ctx context.Context, l MassLimits, n int) error {
	if l.Allow || n <= l.Count {
		return nil
	}
	_, _, inTrash, err := r.store.Census(ctx)
	if err != nil {
		return err
	}
	return l.check("orphan records whose LMS row is gone:", n, inTrash, "files in the trash")
}

// WeighChanges says whether a pass would stop at the mass-change brake with
// these numbers of discoveries, restores and orphanings (for a dry run).
func (r *Runner) WeighChanges(ctx context.Context, discoveries, restores, orphans int) error {
	l := r.cfg.Mass
	if !l.Allow && discoveries > l.Count {
		rows, _, _, err := r.store.Census(ctx)
		if err != nil {
			return err
		}
		if err := l.check("move the files of newly trashed LMS rows:", discoveries, max(rows, discoveries), "LMS rows"); err != nil {
			return err
		}
	}
	if err := r.weighRestores(ctx, l, restores); err != nil {
		return err
	}
	return r.weighOrphans(ctx, l, orphans)
}
