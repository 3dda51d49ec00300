package reconcile

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"
)

// Archive modes: how trash reaches the archive class.
const (
	// ArchiveLifecycle: copies land in STANDARD and the bucket's lifecycle
	// rule transitions them; passes confirm each transition.
	ArchiveLifecycle = "lifecycle"
	// ArchiveDirect: the copy itself writes the archive class, so nothing
	// waits for lifecycle.
	ArchiveDirect = "direct"
)

// Lifecycle modes: what a pass does about the trash bucket's rule.
const (
	LifecycleOff     = "off"     // nothing
	LifecycleVerify  = "verify"  // report drift (logs, metrics, readiness); never stops the moves
	LifecycleEnforce = "enforce" // repair drift by merging the rule in
)

// FallbackOff as ArchiveConfig.ExpeditedFallback: no other tier is tried.
const FallbackOff = "off"

// ArchiveConfig is how trash is archived and restored.
type ArchiveConfig struct {
	Rule          LifecycleRule
	Mode          string // ArchiveLifecycle (default) or ArchiveDirect
	LifecycleMode string // LifecycleVerify (default), LifecycleEnforce or LifecycleOff
	// Grace: a transition is overdue Rule.TransitionDays + 1 day (S3's
	// rounding up to midnight) + Grace after the copy; default 48h, S3's
	// lag.
	Grace         time.Duration
	ChecksPerPass int    // transition HEADs per pass; default 1000
	RestoreDays   int    // how long S3 keeps a restored copy; default 7
	RestoreTier   string // Expedited, Standard (default) or Bulk
	// ExpeditedFallback is the tier an Expedited restore takes instead
	// where S3 has none: from DEEP_ARCHIVE (and Intelligent-Tiering's Deep
	// Archive Access tier), and while it answers 503
	// GlacierExpeditedRetrievalNotAvailable. Standard (default), Bulk, or
	// FallbackOff to fail (DEEP_ARCHIVE) or retry (503) instead.
	ExpeditedFallback string
	RestorePoll       time.Duration // how often a restore in progress is looked at; default 15m
	// DayLength is how long a lifecycle "day" lasts: 24h, except against an
	// S3 emulation with an accelerated clock (tests, the demo).
	DayLength time.Duration
}

// Defaults of ArchiveConfig and of its rule. TransitionDays,
// ExpirationDays, AbortIncompleteDays and MinSize have no zero default: 0
// is a value of its own there (at the next lifecycle run, never, not part of
// the rule, S3's 128 KB), so a zero ArchiveConfig keeps them at 0; cmd's
// environment starts from these constants.
const (
	DefaultTransitionGrace     = 48 * time.Hour
	DefaultChecksPerPass       = 1000
	DefaultRestoreDays         = 7
	DefaultRestoreTier         = "Standard"
	DefaultExpeditedFallback   = "Standard"
	DefaultRestorePoll         = 15 * time.Minute
	DefaultDayLength           = 24 * time.Hour
	DefaultRuleID              = "trashd-archive"
	DefaultStorageClass        = "GLACIER"
	DefaultTransitionDays      = 30
	DefaultAbortIncompleteDays = 7
	// MinDayLength is the shortest lifecycle day: anything shorter is a
	// unit mistaken (24 for 24h), and no emulation runs lifecycle that fast.
	MinDayLength = time.Second
	// MaxChecksPerPass and MaxRestoreDays bound their fields: a typo, not a
	// policy, beyond that (S3 allows restores of up to 30,000 days).
	MaxChecksPerPass = 1000000
	MaxRestoreDays   = 30000
)

// RestoreTiers are S3's retrieval tiers, fastest first.
var RestoreTiers = []string{"Expedited", "Standard", "Bulk"}

func (c ArchiveConfig) withDefaults() ArchiveConfig {
	c.Mode = cmp.Or(c.Mode, ArchiveLifecycle)
	c.LifecycleMode = cmp.Or(c.LifecycleMode, LifecycleVerify)
	c.Grace = cmp.Or(c.Grace, DefaultTransitionGrace)
	c.ChecksPerPass = cmp.Or(c.ChecksPerPass, DefaultChecksPerPass)
	c.RestoreDays = cmp.Or(c.RestoreDays, DefaultRestoreDays)
	c.RestoreTier = cmp.Or(c.RestoreTier, DefaultRestoreTier)
	c.ExpeditedFallback = cmp.Or(c.ExpeditedFallback, DefaultExpeditedFallback)
	c.RestorePoll = cmp.Or(c.RestorePoll, DefaultRestorePoll)
	c.DayLength = cmp.Or(c.DayLength, DefaultDayLength)
	c.Rule.ID = cmp.Or(c.Rule.ID, DefaultRuleID)
	c.Rule.StorageClass = cmp.Or(c.Rule.StorageClass, DefaultStorageClass)
	return c
}

// Validate reports every problem at once, each a *FieldError naming its
// field (the rule's under "Rule").
func (c ArchiveConfig) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	errs = append(errs, WithFieldPrefix("Rule", c.Rule.Validate()))
	if !slices.Contains([]string{ArchiveLifecycle, ArchiveDirect}, c.Mode) {
		bad("Mode", "%q is not %s or %s", c.Mode, ArchiveLifecycle, ArchiveDirect)
	}
	if !slices.Contains([]string{LifecycleOff, LifecycleVerify, LifecycleEnforce}, c.LifecycleMode) {
		bad("LifecycleMode", "%q is not %s, %s or %s", c.LifecycleMode, LifecycleVerify, LifecycleEnforce, LifecycleOff)
	}
	if !slices.Contains(RestoreTiers, c.RestoreTier) {
		bad("RestoreTier", "%q is not one of %s", c.RestoreTier, strings.Join(RestoreTiers, ", "))
	} else if c.RestoreTier == "Expedited" && c.Rule.StorageClass == "DEEP_ARCHIVE" && c.ExpeditedFallback == FallbackOff {
		bad("RestoreTier", "DEEP_ARCHIVE has no Expedited restores; use Standard or Bulk, or let Expedited fall back to one of them (TRASHD_RESTORE_EXPEDITED_FALLBACK)")
	}
	if !slices.Contains([]string{"Standard", "Bulk", FallbackOff}, c.ExpeditedFallback) {
		bad("ExpeditedFallback", "%q is not Standard, Bulk or %s", c.ExpeditedFallback, FallbackOff)
	}
	if c.Grace <= 0 {
		bad("Grace", "%s is not a positive duration", c.Grace)
	}
	if c.RestorePoll <= 0 {
		bad("RestorePoll", "%s is not a positive duration", c.RestorePoll)
	}
	if c.DayLength < MinDayLength {
		bad("DayLength", "%s is shorter than %s; a lifecycle day is 24h except against an S3 emulation with an accelerated clock", c.DayLength, MinDayLength)
	}
	if c.ChecksPerPass < 1 || c.ChecksPerPass > MaxChecksPerPass {
		bad("ChecksPerPass", "%d is not a whole number from 1 to %d", c.ChecksPerPass, MaxChecksPerPass)
	}
	if c.RestoreDays < 1 || c.RestoreDays > MaxRestoreDays {
		bad("RestoreDays", "%d is not a whole number from 1 to %d", c.RestoreDays, MaxRestoreDays)
	}
	return errors.Join(errs...)
}

// transitionAge is how old a copy must be before S3 moves it: the rule's
// days, or nothing in direct mode.
func (c ArchiveConfig) transitionAge() time.Duration {
	if c.Mode == ArchiveDirect {
		return 0
	}
	return time.Duration(c.Rule.TransitionDays) * c.DayLength
}

// minTransitionSize is the smallest copy that reaches the archive class:
// every copy in direct mode, else what the rule (or S3's default) allows.
func (c ArchiveConfig) minTransitionSize() int64 {
	if c.Mode == ArchiveDirect {
		return 0
	}
	return c.Rule.MinTransitionSize()
}

// OverdueQuery is what `trashd status` counts as overdue and ineligible.
func (c ArchiveConfig) OverdueQuery() ArchiveQuery {
	c = c.withDefaults()
	return ArchiveQuery{MinSize: c.minTransitionSize(), OverdueAge: c.overdueAge()}
}

// overdueAge is how old a copy that is not in the archive class yet must be
// for its transition to count as overdue. S3 adds the rule's days to the
// object's creation and rounds up to the next midnight UTC, which can add
// almost a day, and queues the transition then, to run in a lifecycle pass
// that may come hours later (AWS, Lifecycle: "Transitioning objects" and
// "Setting a lifecycle configuration"): the rounding is counted here as a
// whole day, so that Grace is all for S3's lag. Direct mode writes the class
// with the copy: only Grace.
func (c ArchiveConfig) overdueAge() time.Duration {
	if c.Mode == ArchiveDirect {
		return c.Grace
	}
	return c.transitionAge() + c.DayLength + c.Grace
}

// ArchiveQuery selects what status reports count as overdue and ineligible.
type ArchiveQuery struct {
	MinSize    int64
	OverdueAge time.Duration
}

// ArchiveStatus is the trash bucket as trashd's records see it.
type ArchiveStatus struct {
	Overdue         int // copies old enough to be transitioned that are not yet
	OverdueBytes    int64
	Ineligible      int // copies S3 will not transition (too small for the rule)
	IneligibleBytes int64
	Classes         []ClassUsage
}

// IntelligentTieringStatus is what trashd's records know of trash copies
// in S3 Intelligent-Tiering's archive access tiers (ARCHIVE_ACCESS,
// DEEP_ARCHIVE_ACCESS), which trashd's own rule never moves them to: only
// another rule can. Such a copy needs a restore, without Days, before it can
// be copied back.
type IntelligentTieringStatus struct {
	Archived      int // seen in an archive access tier by the last transition check
	ArchivedBytes int64
	Restoring     int // INTELLIGENT_TIERING copies being restored
}

// ClassUsage is what the trash bucket holds in one storage class.
type ClassUsage struct {
	Class      string
	Objects    int
	Bytes      int64
	Young      int // archived more recently than the class's minimum storage duration
	YoungBytes int64
}

// OverdueRecord is one copy that should have been transitioned by now.
type OverdueRecord struct {
	LMSID        int64
	Bucket, Key  string
	TrashKey     string
	Size         int64
	StorageClass string
	CopiedAt     time.Time
	CheckedAt    time.Time
}
