package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// ArchiveClasses are the storage classes a lifecycle rule (or direct mode)
// may move trash into.
var ArchiveClasses = []string{"GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"}

// S3 facts that shape the rule (AWS documentation, Lifecycle and Glacier):
const (
	// Since September 2024, S3 does not transition objects smaller than
	// 128 KB unless a rule's size filter says otherwise.
	DefaultMinTransitionSize = 128 << 10
	// A bucket's lifecycle configuration holds at most 1,000 rules.
	MaxLifecycleRules = 1000
	// MaxAbortIncompleteDays bounds AbortIncompleteDays (a hundred years:
	// a typo, not a policy, beyond that).
	MaxAbortIncompleteDays = 36500
	// MaxLifecycleDays bounds TransitionDays and ExpirationDays likewise.
	MaxLifecycleDays = 36500
	// MaxObjectSize is S3's largest object, 5 TiB.
	MaxObjectSize = 5 << 40
)

// LifecycleRule is the rule trashd keeps on the trash bucket: objects under
// Prefix move to StorageClass TransitionDays after they were created, and,
// if ExpirationDays > 0, are deleted that many days after creation.
type LifecycleRule struct {
	ID             string
	Prefix         string
	TransitionDays int
	StorageClass   string
	ExpirationDays int   // 0: never
	MinSize        int64 // ObjectSizeGreaterThan; 0: S3's default (128 KB)
	// AbortIncompleteDays > 0 has S3 abort multipart uploads under Prefix
	// that are still unfinished that many days after they were started
	// (AbortIncompleteMultipartUpload): the parts of a copy that died are
	// billed until then. 0: no such action.
	AbortIncompleteDays int
}

// Validate reports every problem with the rule at once, each a *FieldError.
func (r LifecycleRule) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	if r.ID == "" || len(r.ID) > 255 {
		bad("ID", "%q must be 1 to 255 characters", r.ID)
	}
	if !slices.Contains(ArchiveClasses, r.StorageClass) {
		bad("StorageClass", "%q is not one of %s", r.StorageClass, strings.Join(ArchiveClasses, ", "))
	}
	if r.TransitionDays < 0 || r.TransitionDays > MaxLifecycleDays {
		bad("TransitionDays", "%d is not a whole number from 0 to %d", r.TransitionDays, MaxLifecycleDays)
	}
	if r.ExpirationDays < 0 || r.ExpirationDays > MaxLifecycleDays {
		bad("ExpirationDays", "%d is not a whole number from 0 (never) to %d", r.ExpirationDays, MaxLifecycleDays)
	} else if r.ExpirationDays != 0 && r.ExpirationDays <= r.TransitionDays {
		bad("ExpirationDays", "%d must be 0 (never) or more than {{TransitionDays}} (%d): a copy must reach the archive class before it expires", r.ExpirationDays, r.TransitionDays)
	}
	if r.MinSize < 0 || r.MinSize > MaxObjectSize {
		bad("MinSize", "%d bytes is not a size from 0 (S3's default, 128 KB) to 5 TiB", r.MinSize)
	}
	if r.AbortIncompleteDays < 0 || r.AbortIncompleteDays > MaxAbortIncompleteDays {
		bad("AbortIncompleteDays", "%d must be between 0 (none) and %d", r.AbortIncompleteDays, MaxAbortIncompleteDays)
	} else if r.AbortIncompleteDays > 0 && r.MinSize > 0 {
		// An upload has no size yet: S3 refuses the action in a rule
		// that filters on size ("AbortIncompleteMultipartUpload cannot be
		// specified with Object Size"), and on tags, which trashd's rule
		// never has.
		bad("AbortIncompleteDays", "must be 0 when {{MinSize}} is set: S3 refuses AbortIncompleteMultipartUpload in a rule with an object-size filter")
	}
	return errors.Join(errs...)
}

// MinTransitionSize is the smallest object the rule transitions: larger than
// MinSize when the rule filters on size, else S3's default.
func (r LifecycleRule) MinTransitionSize() int64 {
	if r.MinSize > 0 {
		return r.MinSize + 1 // ObjectSizeGreaterThan is exclusive
	}
	return DefaultMinTransitionSize
}

// LifecycleReport is a bucket's lifecycle configuration compared with the
// desired rule.
type LifecycleReport struct {
	Bucket    string
	Rules     []string // every rule in the bucket, one line each, as found
	Drift     []string // how the bucket differs from the desired rule; empty when it is in place
	Conflicts []string // other rules that act on the same objects and would fight with it
	// Expiring are the other rules that delete trash copies before
	// trashd's rule would (or at all, when it never does): while one is
	// in place, no file is moved into the bucket.
	Expiring []ExpiringRule
	Applied  bool // the desired rule was written
}

// ExpiringRule is a lifecycle rule that is not trashd's and deletes trash
// copies earlier than trashd's rule.
type ExpiringRule struct {
	ID   string
	Does string    // what it does to which objects, in words
	Days int       // it expires objects this many days after their creation; 0 with Date
	Date time.Time // it expires every object it covers on this day
}

// String names the rule and what it does.
func (e ExpiringRule) String() string { return fmt.Sprintf("rule %q %s", e.ID, e.Does) }

// InPlace reports whether the desired rule is in the bucket as desired.
func (r LifecycleReport) InPlace() bool { return len(r.Drift) == 0 }

// LifecycleState is the last lifecycle check of the trash bucket.
type LifecycleState struct {
	Report  LifecycleReport
	Err     error
	Checked time.Time
}

// Lifecycle returns the last lifecycle check, if any pass made one.
func (r *Runner) Lifecycle() (LifecycleState, bool) {
	s := r.lifecycle.Load()
	if s == nil {
		return LifecycleState{}, false
	}
	return *s, true
}

// ErrLifecycleConflict: a lifecycle rule on the trash bucket that is not
// trashd's deletes trash copies earlier than trashd's own rule (or at all,
// when trashd's never expires them). No file is moved into the bucket while
// it is there: a copy it removes is a file lost, and its record would say
// in_trash.
var ErrLifecycleConflict = errors.New("a lifecycle rule on the trash bucket deletes trash copies")

// foreignRules are the trash bucket's rules that delete trash copies, as the
// last pass read them, for the reasons a transition check records.
type foreignRules struct {
	rules atomic.Pointer[[]ExpiringRule]
	// unread: the configuration could not be read with the lifecycle
	// mode off, and that was said once.
	unread atomic.Bool
}

func (f *foreignRules) set(rules []ExpiringRule) { f.rules.Store(&rules) }

func (f *foreignRules) get() []ExpiringRule {
	if p := f.rules.Load(); p != nil {
		return *p
	}
	return nil
}

// keepLifecycle checks the trash bucket's rule and, in enforce mode, merges
// it in. Drift is loud but never stops the moves: trash in STANDARD is still
// safe. Another rule that deletes trash copies earlier than trashd's does
// stop them, in every mode: keepLifecycle returns ErrLifecycleConflict.
func (p *pass) keepLifecycle() error {
	a := p.r.cfg.Archive
	if a.LifecycleMode == LifecycleOff {
		return p.checkForeignExpiration()
	}
	rep, err := p.r.s3.CheckLifecycle(p.stop, p.r.cfg.TrashBucket, a.Rule)
	if err == nil {
		p.r.foreign.set(rep.Expiring)
	}
	if err == nil && !rep.InPlace() && a.LifecycleMode == LifecycleEnforce && len(rep.Expiring) == 0 {
		p.log.Warn("lifecycle rule drift; repairing it", "bucket", p.r.cfg.TrashBucket, "drift", rep.Drift)
		rep, err = p.r.s3.ApplyLifecycle(p.stop, p.r.cfg.TrashBucket, a.Rule)
	}
	p.r.lifecycle.Store(&LifecycleState{Report: rep, Err: err, Checked: p.r.now()})
	switch {
	case len(rep.Expiring) > 0:
		// Said once, by the pass's error.
	case err != nil:
		p.log.Error("lifecycle rule not checked; objects may never reach the archive class", "bucket", p.r.cfg.TrashBucket, "err", err)
	case rep.Applied:
		p.log.Info("lifecycle rule applied", "bucket", p.r.cfg.TrashBucket, "rule", a.Rule.ID)
	case !rep.InPlace():
		p.log.Error("lifecycle rule drift: objects may not reach the archive class; run `trashd lifecycle --apply` or set TRASHD_LIFECYCLE_MODE=enforce",
			"bucket", p.r.cfg.TrashBucket, "drift", rep.Drift, "conflicts", rep.Conflicts)
	case len(rep.Conflicts) > 0:
		p.log.Warn("other lifecycle rules act on the same objects", "bucket", p.r.cfg.TrashBucket, "conflicts", rep.Conflicts)
	}
	return p.r.refuseKnownExpiring()
}

// checkForeignExpiration reads the trash bucket's rules with the lifecycle
// mode off, only to look for rules that delete trash copies. An operator who
// turned the mode off may not have granted s3:GetLifecycleConfiguration:
// that is said once, as a warning, and the moves go on.
func (p *pass) checkForeignExpiration() error {
	a := p.r.cfg.Archive
	rep, err := p.r.s3.CheckLifecycle(p.stop, p.r.cfg.TrashBucket, a.Rule)
	switch {
	case err != nil && errors.Is(err, ErrPermanent):
		if !p.r.foreign.unread.Swap(true) {
			p.log.Warn("TRASHD_LIFECYCLE_MODE=off and the trash bucket's lifecycle configuration cannot be read, so trashd cannot see "+
				"whether another rule deletes trash copies before it expects; grant s3:GetLifecycleConfiguration on the trash bucket to have it checked "+
				"(said once)", "bucket", p.r.cfg.TrashBucket, "err", err)
		}
	case err != nil:
		p.log.Warn("the trash bucket's lifecycle configuration was not read; the next pass looks again for rules that delete trash copies",
			"bucket", p.r.cfg.TrashBucket, "err", err)
	default:
		p.r.foreign.set(rep.Expiring)
	}
	return p.r.refuseKnownExpiring()
}

// refuseKnownExpiring returns the error that stops the moves while the
// trash bucket has rules that delete trash copies, as the last read of its
// configuration found them: a read that failed since (a timeout) lets no
// move through that the last one stopped.
func (r *Runner) refuseKnownExpiring() error {
	rules := r.foreign.get()
	if len(rules) == 0 {
		return nil
	}
	return r.conflictError(rules)
}

// conflictError is the error that stops the moves while rules are on the
// trash bucket: it names each rule, what it does, and the ways out.
func (r *Runner) conflictError(rules []ExpiringRule) error {
	lines := make([]string, len(rules))
	for i, e := range rules {
		lines[i] = e.String()
	}
	fixes := "remove the rule, or narrow it so that it does not cover trashd's copies (a prefix of its own; trashd's is TRASHD_LIFECYCLE_PREFIX)"
	if d := earliestDays(rules); d > 0 {
		fixes += fmt.Sprintf(", or set TRASHD_EXPIRATION_DAYS=%d to match it (with TRASHD_TRANSITION_DAYS below that) if copies are meant to go then", d)
	}
	return fmt.Errorf("%w: on bucket %q, %s: trash copies would be deleted before trashd expects, and their files could not be restored. "+
		"No file is moved into the trash bucket while such a rule is there (restores and checks go on): %s",
		ErrLifecycleConflict, r.cfg.TrashBucket, strings.Join(lines, "; "), fixes)
}

// earliestDays is the fewest days after which one of rules expires copies;
// 0 when none counts in days.
func earliestDays(rules []ExpiringRule) int {
	d := 0
	for _, e := range rules {
		if e.Days > 0 && (d == 0 || e.Days < d) {
			d = e.Days
		}
	}
	return d
}

// ForeignExpiration reads the trash bucket's lifecycle configuration and
// returns the ErrLifecycleConflict a pass would stop its moves with, or nil
// (also when the configuration cannot be read: a pass would go on). It
// changes nothing, for a dry run.
func (r *Runner) ForeignExpiration(ctx context.Context) error {
	rep, err := r.s3.CheckLifecycle(ctx, r.cfg.TrashBucket, r.cfg.Archive.Rule)
	if err != nil || len(rep.Expiring) == 0 {
		return nil
	}
	return r.conflictError(rep.Expiring)
}
