package main

import (
	"time"

	"trashd/reconcile"
)

// archiveVariables are the variables of the lifecycle rule, transitions,
// restores and prices; reconcile.ArchiveConfig.Validate and
// reconcile.Prices.Validate check them.
func archiveVariables() []variable {
	return []variable{
		stringVar("TRASHD_ARCHIVE_MODE", reconcile.ArchiveLifecycle, "`lifecycle`: copies land in STANDARD and the bucket's rule transitions them; `direct`: copies are written in `TRASHD_STORAGE_CLASS` at once", func(c *Config) *string { return &c.Reconcile.Archive.Mode }),
		stringVar("TRASHD_LIFECYCLE_MODE", reconcile.LifecycleVerify, "each pass: `verify` (report drift in logs, metrics and `/readyz`; drift never stops the moves), `enforce` (repair drift by merging the rule in) or `off`. In every mode another rule that deletes trash copies earlier than trashd's stops the moves", func(c *Config) *string { return &c.Reconcile.Archive.LifecycleMode }),
		stringVar("TRASHD_LIFECYCLE_RULE_ID", reconcile.DefaultRuleID, "the id of trashd's rule in the trash bucket's lifecycle configuration", func(c *Config) *string { return &c.Reconcile.Archive.Rule.ID }),
		stringVar("TRASHD_LIFECYCLE_PREFIX", "", "the rule's prefix filter; empty: the whole trash bucket. A prefix no trash key can start with is refused (under `{id}/{key}` every key starts with a digit; under `trash/{id}/{key}`, `trash/` matches)", func(c *Config) *string { return &c.Reconcile.Archive.Rule.Prefix }),
		intVar("TRASHD_TRANSITION_DAYS", reconcile.DefaultTransitionDays, "days after the move before S3 transitions a copy (0: at the next daily lifecycle run); recently trashed files stay instantly restorable", func(c *Config) *int { return &c.Reconcile.Archive.Rule.TransitionDays }),
		stringVar("TRASHD_STORAGE_CLASS", reconcile.DefaultStorageClass, "the archive class: `GLACIER`, `DEEP_ARCHIVE` or `GLACIER_IR`", func(c *Config) *string { return &c.Reconcile.Archive.Rule.StorageClass }),
		intVar("TRASHD_EXPIRATION_DAYS", 0, "days after the move before S3 deletes a copy for good; `0`: never. trashd warns at start when no pass applies it (`TRASHD_LIFECYCLE_MODE=off`) and when it deletes copies before the storage class's minimum duration counted from the transition (90 days in GLACIER and GLACIER_IR, 180 in DEEP_ARCHIVE), which bills an early deletion", func(c *Config) *int { return &c.Reconcile.Archive.Rule.ExpirationDays }),
		intVar("TRASHD_ABORT_UPLOADS_DAYS", reconcile.DefaultAbortIncompleteDays, "the rule also aborts multipart uploads to the trash bucket left unfinished this many days (a crash mid-copy); `0`: not part of the rule. Not allowed with `TRASHD_TRANSITION_MIN_SIZE` (AWS refuses it with a size filter)", func(c *Config) *int { return &c.Reconcile.Archive.Rule.AbortIncompleteDays }),
		bytesVar("TRASHD_TRANSITION_MIN_SIZE", 0, "transition only copies larger than this (the rule's size filter); `0`: S3's default, 128 KB", func(c *Config) *int64 { return &c.Reconcile.Archive.Rule.MinSize }),
		durationVar("TRASHD_TRANSITION_GRACE", reconcile.DefaultTransitionGrace, "a transition is overdue this long after it was due: the rule's days after the move, rounded up to the next midnight UTC, which trashd counts as one more day (S3 queues transitions then and can run them hours or days later)", func(c *Config) *time.Duration { return &c.Reconcile.Archive.Grace }),
		intVar("TRASHD_TRANSITION_CHECKS", reconcile.DefaultChecksPerPass, "copies checked with HEAD per pass for their transition", func(c *Config) *int { return &c.Reconcile.Archive.ChecksPerPass }),
		intVar("TRASHD_RESTORE_DAYS", reconcile.DefaultRestoreDays, "days S3 keeps the temporary copy of a restore from the archive class", func(c *Config) *int { return &c.Reconcile.Archive.RestoreDays }),
		stringVar("TRASHD_RESTORE_TIER", reconcile.DefaultRestoreTier, "`Expedited` (minutes), `Standard` (hours) or `Bulk` (up to 12/48 h)", func(c *Config) *string { return &c.Reconcile.Archive.RestoreTier }),
		durationVar("TRASHD_RESTORE_POLL", reconcile.DefaultRestorePoll, "how often a restore in progress is looked at", func(c *Config) *time.Duration { return &c.Reconcile.Archive.RestorePoll }),
		stringVar("TRASHD_RESTORE_EXPEDITED_FALLBACK", reconcile.DefaultExpeditedFallback, "the tier an `Expedited` restore takes where S3 has none: from `DEEP_ARCHIVE` (and Intelligent-Tiering's Deep Archive Access tier), and while S3 answers 503 `GlacierExpeditedRetrievalNotAvailable`; `Standard`, `Bulk`, or `off` (fail, or retry Expedited)",
			func(c *Config) *string { return &c.Reconcile.Archive.ExpeditedFallback }),
		priceVar("STANDARD", "`status --cost`: USD per GB-month in STANDARD (us-east-1 list price, January 2025)"),
		priceVar("GLACIER_IR", "`status --cost`: USD per GB-month in GLACIER_IR"),
		priceVar("GLACIER", "`status --cost`: USD per GB-month in GLACIER"),
		priceVar("DEEP_ARCHIVE", "`status --cost`: USD per GB-month in DEEP_ARCHIVE"),
		durationVar("TRASHD_LIFECYCLE_DAY_LENGTH", reconcile.DefaultDayLength, "the length of a lifecycle day; change it only against an S3 emulation with an accelerated clock (the demo does)", func(c *Config) *time.Duration { return &c.Reconcile.Archive.DayLength }),
	}
}

// priceVar is TRASHD_PRICE_<class>, the class's price for `status --cost`;
// reconcile.Prices.Validate checks it.
func priceVar(class, desc string) variable {
	name := "TRASHD_PRICE_" + class
	return variable{Name: name, Default: formatPrice(reconcile.DefaultPrices[class]), Desc: desc, Opt: "Prices." + class,
		parse: func(p *problems, v string, c *Config) {
			c.Prices[class] = p.float(name, v, "a price in USD per GB-month, such as 0.0036")
		}}
}
