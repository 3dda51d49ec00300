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

// ErrMostTrashed: a pass would take up most of what it is weighed against
// (most of the LMS table's rows look trashed, most files in the trash would
// be restored or orphaned): a wrong setting, not a day's work. It is a kind
// of ErrMassChange: errors.Is finds both.
var ErrMostTrashed = errors.New("most rows at once")

// MassLimits is the brake on mass changes. One wrong setting (the LMS table
// pointed at a staging copy, an integer column taken for the trash flag, a
// table emptied for maintenance) could otherwise move every file, restore
// everything from the archive class (retrieval and early-deletion fees), or
// orphan every record. Per pass, new discoveries, restore requests and
// orphanings are each weighed against what they are measured against (the
// LMS table's rows, the files in the trash), all of them before the pass
// records any of it, and the pass stops when either rule trips:
//   - the share: more than Count and more than Share of it; Count is a
//     small floor, so that the share holds for a small LMS too;
//   - the majority: more than half of it, when that is more than
//     MassHandful. A trash column under which most rows look trashed is
//     the wrong column or kind, whatever the table's size. Restores and
//     orphanings are weighed against the files in the trash, which in a
//     young trash may be a single course: for them the majority counts
//     only when the change is also large, more than Count or more than
//     Share of the LMS table's rows, so that a teacher restoring the one
//     course in the trash is a normal day, while a trash column read
//     backwards (every row looking live) still stops the pass.
type MassLimits struct {
	Count int     // default DefaultMassCount
	Share float64 // of the LMS table (discoveries) or of the records (restores, orphanings); default DefaultMassShare
	Allow bool    // the operator's override: let this pass through
	// Override names the override for messages: a flag of `trashd
	// reconcile`, a variable for `trashd serve`.
	Override string
}

// Defaults that a normal day never reaches: DefaultMassCount is a floor, so
// that a day's trash of a small LMS (a course deleted) passes while every
// file of it does not.
const (
	DefaultMassCount = 50
	DefaultMassShare = 0.10
	// MassHandful: the majority rule weighs changes of more than this many
	// things; a table of a handful of rows may well be mostly trash.
	MassHandful = 10
)

func (l MassLimits) withDefaults() MassLimits {
	l.Count = cmp.Or(l.Count, DefaultMassCount)
	l.Share = cmp.Or(l.Share, DefaultMassShare)
	l.Override = cmp.Or(l.Override, "TRASHD_ALLOW_MASS_CHANGE=true (or `trashd reconcile --allow-mass-change`)")
	return l
}

// weighs reports whether a change of n things needs weighing at all: above
// the count or a handful, either rule may trip.
func (l MassLimits) weighs(n int) bool { return !l.Allow && n > min(l.Count, MassHandful) }

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

// change is one kind of change a pass would make, for the brake to weigh.
type change struct {
	what   string // "move the files of newly trashed LMS rows:"
	n, of  int    // how many, out of how many
	ofWhat string // "LMS rows"
	// most says what a majority means: the setting that is probably
	// wrong, and how to check it.
	most string
	// minor: the change is small against the LMS table, and the majority
	// rule does not apply (restores and orphanings of a young trash).
	minor bool
}

// check stops c when it trips either rule. The majority comes first: it
// names the setting that is probably wrong.
func (l MassLimits) check(c change) error {
	if l.Allow {
		return nil
	}
	share := 1.0
	if c.of > 0 {
		share = float64(c.n) / float64(c.of)
	}
	if c.n > MassHandful && 2*c.n > c.of && !c.minor {
		return fmt.Errorf("%w: %w: this pass would %s %d of %d %s (%.0f%%): %s; nothing was changed. "+
			"If that is really what you mean, let one pass through with %s",
			ErrMassChange, ErrMostTrashed, c.what, c.n, c.of, c.ofWhat, 100*share, c.most, l.Override)
	}
	if c.n <= l.Count || float64(c.n) <= l.Share*float64(c.of) {
		return nil
	}
	return fmt.Errorf("%w: this pass would %s %d (%.0f%% of %d %s), above the limits of %d and %.0f%%: "+
		"nothing was changed. If that is what you mean (check the LMS settings first: the table, the trash column and its kind), "+
		"let one pass through with %s",
		ErrMassChange, c.what, c.n, 100*share, c.of, c.ofWhat, l.Count, 100*l.Share, l.Override)
}

// Census counts what the brake weighs changes against.
type Census interface {
	// Census returns the LMS table's rows (exact for a small table, else
	// an estimate), trashd's records, and the records whose object is in
	// the trash bucket (in_trash, archived: not a record still on its way).
	Census(ctx context.Context) (lmsRows, records, inTrash int, err error)
	// CountUndiscovered counts the trashed LMS rows without a record.
	CountUndiscovered(ctx context.Context) (int, error)
	// TrashFlag describes how a row is read as trashed (the table, the
	// trash column and its kind), for messages.
	TrashFlag() string
}

// The settings that decide which rows look trashed, for messages.
const trashSettings = "TRASHD_LMS_TABLE, TRASHD_LMS_TRASH_COLUMN and TRASHD_LMS_TRASH_KIND (with kind value, TRASHD_LMS_TRASH_VALUES)"

func (r *Runner) discoveries(rows, n int) change {
	return change{
		what: "move the files of newly trashed LMS rows:", n: n, of: max(rows, n), ofWhat: "LMS rows",
		most: fmt.Sprintf("most of the table looks trashed under %s; an LMS keeps most of its files live, "+
			"so this is almost certainly the wrong trash column or kind: check %s", r.store.TrashFlag(), trashSettings),
	}
}

// minor reports whether a restore or orphaning of n things is small against
// the LMS table's rows: at most Count, and at most Share of the rows.
func (l MassLimits) minor(n, lmsRows int) bool {
	return n <= l.Count && float64(n) <= l.Share*float64(lmsRows)
}

func (r *Runner) weighRestores(ctx context.Context, l MassLimits, n int) error {
	if !l.weighs(n) {
		return nil
	}
	rows, _, inTrash, err := r.store.Census(ctx)
	if err != nil {
		return err
	}
	return l.check(change{
		what: "restore files whose trash flag was cleared:", n: n, of: max(inTrash, n), ofWhat: "files in the trash",
		most: fmt.Sprintf("most of the trash would come back at once, as if the trash flag now read otherwise (%s): check %s",
			r.store.TrashFlag(), trashSettings),
		minor: l.minor(n, rows),
	})
}

func (r *Runner) weighOrphans(ctx context.Context, l MassLimits, n int) error {
	if !l.weighs(n) {
		return nil
	}
	rows, _, inTrash, err := r.store.Census(ctx)
	if err != nil {
		return err
	}
	return l.check(change{
		what: "orphan records whose LMS row is gone:", n: n, of: max(inTrash, n), ofWhat: "files in the trash",
		most: "most of the trash lost its LMS rows at once: TRASHD_LMS_TABLE may name another table (a staging copy), " +
			"or the table was emptied for maintenance",
		minor: l.minor(n, rows),
	})
}

// WeighChanges says whether a pass would stop at the mass-change brake with
// these numbers of discoveries (new trashed rows and restored rows trashed
// again, together, as a pass weighs them), restores and orphanings (for a
// dry run).
func (r *Runner) WeighChanges(ctx context.Context, discoveries, restores, orphans int) error {
	l := r.cfg.Mass
	if l.weighs(discoveries) {
		rows, _, _, err := r.store.Census(ctx)
		if err != nil {
			return err
		}
		if err := l.check(r.discoveries(rows, discoveries)); err != nil {
			return err
		}
	}
	if err := r.weighRestores(ctx, l, restores); err != nil {
		return err
	}
	return r.weighOrphans(ctx, l, orphans)
}
