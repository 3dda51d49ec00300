package reconcile

import (
	"errors"
	"slices"
	"strings"
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
	Applied   bool     // the desired rule was written
}

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

// keepLifecycle checks the trash bucket's rule and, in enforce mode, merges
// it in. Problems are loud but never stop the moves: trash in STANDARD is
// still safe.
func (p *pass) keepLifecycle() {
	a := p.r.cfg.Archive
	if a.LifecycleMode == LifecycleOff {
		return
	}
	rep, err := p.r.s3.CheckLifecycle(p.stop, p.r.cfg.TrashBucket, a.Rule)
	if err == nil && !rep.InPlace() && a.LifecycleMode == LifecycleEnforce {
		p.log.Warn("lifecycle rule drift; repairing it", "bucket", p.r.cfg.TrashBucket, "drift", rep.Drift)
		rep, err = p.r.s3.ApplyLifecycle(p.stop, p.r.cfg.TrashBucket, a.Rule)
	}
	p.r.lifecycle.Store(&LifecycleState{Report: rep, Err: err, Checked: p.r.now()})
	switch {
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
}
