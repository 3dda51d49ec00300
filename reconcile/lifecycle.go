package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Validate reports every problem with the rule at once.
func (r LifecycleRule) Validate() error {
	var errs []error
	if r.ID == "" || len(r.ID) > 255 {
		errs = append(errs, fmt.Errorf("rule id %q must be 1 to 255 characters", r.ID))
	}
	if !slices.Contains(ArchiveClasses, r.StorageClass) {
		errs = append(errs, fmt.Errorf("storage class %q is not one of %s", r.StorageClass, strings.Join(ArchiveClasses, ", ")))
	}
	if r.TransitionDays < 0 {
		errs = append(errs, fmt.Errorf("transition days %d must not be negative", r.TransitionDays))
	}
	if r.ExpirationDays != 0 && r.ExpirationDays <= r.TransitionDays {
		errs = append(errs, fmt.Errorf("expiration after %d days must come after the transition (%d days)", r.ExpirationDays, r.TransitionDays))
	}
	if r.MinSize < 0 {
		errs = append(errs, fmt.Errorf("minimum size %d must not be negative", r.MinSize))
	}
	if r.AbortIncompleteDays < 0 || r.AbortIncompleteDays > MaxAbortIncompleteDays {
		errs = append(errs, fmt.Errorf("abort of incomplete multipart uploads after %d days must be between 0 (none) and %d", r.AbortIncompleteDays, MaxAbortIncompleteDays))
	}
	if r.AbortIncompleteDays > 0 && r.MinSize > 0 {
		// An upload has no size yet: S3 refuses the action in a rule
		// that filters on size ("AbortIncompleteMultipartUpload cannot be
		// specified with Object Size"), and on tags, which trashd's rule
		// never has.
		errs = append(errs, fmt.Errorf("abort of incomplete multipart uploads (after %d days) cannot be in a rule with a minimum size (%d bytes): "+
			"S3 refuses AbortIncompleteMultipartUpload with an object size filter; set one of them to 0", r.AbortIncompleteDays, r.MinSize))
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
