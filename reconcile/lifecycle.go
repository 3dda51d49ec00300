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
	// Keys is the trash key template, which sets where trash copies are:
	// at every key it renders, of any size (trashd copies files of every
	// size, whatever MinSize its rule transitions), with whatever tags the
	// LMS's objects carry (trashd sets none). The lifecycle brake looks for
	// rules that expire copies there. Not part of the rule S3 holds; the
	// Runner sets it from Config.TrashKeys. Zero: copies are taken to be
	// under Prefix.
	Keys KeyTemplate
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
	// Expiring are the rules that delete trash copies before trashd's
	// rule as configured would (or at all, when it never does), its own
	// id included when its expiration was changed: while one is in
	// place, no file is moved into the bucket.
	Expiring []ExpiringRule
	Applied  bool // the desired rule was written
}

// ExpiringRule is a lifecycle rule that deletes trash copies earlier than
// trashd's rule as configured: another rule, or one with trashd's id whose
// expiration was changed.
type ExpiringRule struct {
	ID   string
	Does string    // what it does to which objects, in words
	Days int       // it expires objects this many days after their creation; 0 with Date
	Date time.Time // it expires every object it covers on this day
	// Own: the rule has trashd's id; putting the configured rule back
	// (`trashd lifecycle --apply`, or enforce mode) removes it.
	Own bool
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

// ErrLifecycleConflict is the lifecycle brake: a lifecycle rule on the
// trash bucket deletes trash copies earlier than trashd's own rule as
// configured (or at all, when trashd's never expires them), or the
// configuration could not be read and no earlier read by the process found
// it free of such rules (ErrLifecycleUnread). No file is moved into the
// bucket meanwhile: a copy such a rule removes is a file lost, and its
// record would say in_trash.
var ErrLifecycleConflict = errors.New("a lifecycle rule on the trash bucket deletes trash copies")

// ErrLifecycleUnread: the trash bucket's lifecycle configuration could not
// be read, and this process has not read it since it started, so whether a
// rule deletes trash copies is not known. It wraps ErrLifecycleConflict:
// the pass holds its moves back as the lifecycle brake does.
var ErrLifecycleUnread = errors.New("the trash bucket's lifecycle configuration could not be read")

// ErrLifecycleUnsupported: the server does not implement lifecycle
// configurations (501 NotImplemented), so no rule there deletes trash
// copies; trashd's rule cannot be checked either.
var ErrLifecycleUnsupported = errors.New("the server keeps no lifecycle configurations")

// lifecycleUnreadError holds a pass's moves back while the trash bucket's
// lifecycle configuration is unknown.
type lifecycleUnreadError struct {
	bucket string
	err    error
}

func (e *lifecycleUnreadError) Error() string {
	fix := "the next pass reads it again"
	if errors.Is(e.err, ErrPermanent) {
		fix = "grant s3:GetLifecycleConfiguration on the trash bucket, or set TRASHD_LIFECYCLE_MODE=off to have an unreadable configuration only warned about"
	}
	return fmt.Sprintf("lifecycle brake: the lifecycle configuration of the trash bucket %q could not be read (%v), and no earlier read by this process "+
		"found it free of rules that delete trash copies: no file is moved into the trash bucket this pass (restores and checks go on); %s",
		e.bucket, e.err, fix)
}

func (e *lifecycleUnreadError) Unwrap() []error {
	return []error{ErrLifecycleUnread, ErrLifecycleConflict, e.err}
}

// foreignRules are the trash bucket's rules that delete trash copies, as the
// last pass read them, for the reasons a transition check records.
type foreignRules struct {
	// rules is nil until the configuration was read once by this
	// process.
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

// read reports whether the configuration was read once by this process.
func (f *foreignRules) read() bool { return f.rules.Load() != nil }

// keepLifecycle checks the trash bucket's rule and, in enforce mode, merges
// it in. Drift is loud but never stops the moves: trash in STANDARD is still
// safe. A rule that deletes trash copies earlier than trashd's does stop
// them, in every mode: keepLifecycle returns ErrLifecycleConflict. When that
// rule is trashd's own, edited, enforce mode puts the configured one back
// first. A configuration that cannot be read stops them too, unless an
// earlier read by this process found no such rule.
func (p *pass) keepLifecycle() error {
	a := p.r.cfg.Archive
	if a.LifecycleMode == LifecycleOff {
		return p.checkForeignExpiration()
	}
	want := p.r.brakeRule()
	rep, err := p.r.s3.CheckLifecycle(p.stop, p.r.cfg.TrashBucket, want)
	if err == nil || errors.Is(err, ErrLifecycleUnsupported) {
		p.r.foreign.set(rep.Expiring)
	}
	if err == nil && !rep.InPlace() && a.LifecycleMode == LifecycleEnforce && onlyOwn(rep.Expiring) {
		p.log.Warn("lifecycle rule drift; repairing it", "bucket", p.r.cfg.TrashBucket, "drift", rep.Drift)
		applied, aerr := p.r.s3.ApplyLifecycle(p.stop, p.r.cfg.TrashBucket, want)
		if aerr == nil {
			p.r.foreign.set(applied.Expiring)
		}
		if aerr != nil && !applied.Applied {
			// Nothing was written: the bucket is as read.
			applied.Expiring = rep.Expiring
		}
		rep, err = applied, aerr
	}
	p.r.lifecycle.Store(&LifecycleState{Report: rep, Err: err, Checked: p.r.now()})
	switch {
	case err != nil && !p.r.foreign.read():
		// Said once, by the pass's error.
		return &lifecycleUnreadError{bucket: p.r.cfg.TrashBucket, err: err}
	case err != nil && len(p.r.foreign.get()) == 0:
		p.log.Error("lifecycle rule not checked; objects may never reach the archive class (an earlier read found no rule that deletes trash copies, so the moves go on)",
			"bucket", p.r.cfg.TrashBucket, "err", err)
	case err != nil:
		p.log.Error("lifecycle rule not repaired", "bucket", p.r.cfg.TrashBucket, "err", err)
	case len(rep.Expiring) > 0:
		// Said once, by the pass's error.
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

// onlyOwn reports whether every rule is trashd's own (edited), which a
// merge of the configured rule replaces.
func onlyOwn(rules []ExpiringRule) bool {
	for _, e := range rules {
		if !e.Own {
			return false
		}
	}
	return true
}

// brakeRule is the configured rule with the trash key template, so that a
// check looks for expiring rules wherever trash copies are.
func (r *Runner) brakeRule() LifecycleRule {
	want := r.cfg.Archive.Rule
	want.Keys = r.cfg.TrashKeys
	if want.Keys.String() == "" {
		want.Keys = KeyTemplate{raw: DefaultKeyTemplate}
	}
	return want
}

// checkForeignExpiration reads the trash bucket's rules with the lifecycle
// mode off, only to look for rules that delete trash copies. An operator who
// turned the mode off may not have granted s3:GetLifecycleConfiguration, or
// use a server without lifecycle rules: a refused read is said once, as a
// warning, and the moves go on. Any other failed read stops the moves
// unless an earlier read by this process found no such rule.
func (p *pass) checkForeignExpiration() error {
	rep, err := p.r.s3.CheckLifecycle(p.stop, p.r.cfg.TrashBucket, p.r.brakeRule())
	switch {
	case err != nil && errors.Is(err, ErrPermanent):
		if errors.Is(err, ErrLifecycleUnsupported) {
			p.r.foreign.set(nil)
		}
		if !p.r.foreign.unread.Swap(true) {
			p.log.Warn("TRASHD_LIFECYCLE_MODE=off and the trash bucket's lifecycle configuration cannot be read, so trashd cannot see "+
				"whether another rule deletes trash copies before it expects; grant s3:GetLifecycleConfiguration on the trash bucket to have it checked "+
				"(said once)", "bucket", p.r.cfg.TrashBucket, "err", err)
		}
	case err != nil && !p.r.foreign.read():
		// Said once, by the pass's error.
		return &lifecycleUnreadError{bucket: p.r.cfg.TrashBucket, err: err}
	case err != nil:
		p.log.Warn("the trash bucket's lifecycle configuration was not read; an earlier read found no rule that deletes trash copies, so the moves go on; "+
			"the next pass looks again", "bucket", p.r.cfg.TrashBucket, "err", err)
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
	fixes := "remove the rule, or narrow it so that it does not cover trashd's copies (a prefix of its own, outside TRASHD_TRASH_KEY_TEMPLATE's)"
	own := slices.ContainsFunc(rules, func(e ExpiringRule) bool { return e.Own })
	switch {
	case own && onlyOwn(rules):
		fixes = ""
	case own:
		fixes = "for another rule: " + fixes + "; "
	}
	if own {
		fixes += "for trashd's own rule: run `trashd lifecycle --apply` or set TRASHD_LIFECYCLE_MODE=enforce to put the configured rule back"
	}
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
// returns the ErrLifecycleConflict the first pass of a process would stop
// its moves with, or nil: a rule that deletes trash copies, or a
// configuration that cannot be read (but for one refused with the
// lifecycle mode off, which a pass only warns about). It changes nothing,
// for a dry run.
func (r *Runner) ForeignExpiration(ctx context.Context) error {
	rep, err := r.s3.CheckLifecycle(ctx, r.cfg.TrashBucket, r.brakeRule())
	switch {
	case err != nil && (errors.Is(err, ErrLifecycleUnsupported) || (r.cfg.Archive.LifecycleMode == LifecycleOff && errors.Is(err, ErrPermanent))):
		return nil
	case err != nil:
		return &lifecycleUnreadError{bucket: r.cfg.TrashBucket, err: err}
	case len(rep.Expiring) == 0:
		return nil
	}
	return r.conflictError(rep.Expiring)
}
