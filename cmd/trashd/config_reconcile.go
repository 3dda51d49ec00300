package main

import (
	"fmt"
	"slices"
	"strings"

	"trashd/reconcile"
)

// parseReconcile reads the variables of a pass, the buckets and the archive;
// reconcile.Config.Validate checks them.
func parseReconcile(p *problems, e env) reconcile.Config {
	tmpl, err := reconcile.ParseKeyTemplate(e.TrashKeyTemplate)
	if err != nil {
		p.add("TRASHD_TRASH_KEY_TEMPLATE", err.Error())
	}
	return reconcile.Config{
		TrashBucket:   e.TrashBucket,
		TrashKeys:     tmpl,
		SourceBucket:  e.SourceBucket,
		Owner:         owner(),
		Host:          hostname(),
		BatchSize:     p.int("TRASHD_BATCH_SIZE", e.BatchSize),
		Concurrency:   p.int("TRASHD_CONCURRENCY", e.Concurrency),
		MoveBatch:     p.int("TRASHD_MOVE_BATCH", e.MoveBatch),
		Lease:         p.duration("TRASHD_LEASE", e.Lease),
		MaxAttempts:   p.int("TRASHD_MAX_ATTEMPTS", e.MaxAttempts),
		BackoffBase:   p.duration("TRASHD_BACKOFF_BASE", e.BackoffBase),
		BackoffMax:    p.duration("TRASHD_BACKOFF_MAX", e.BackoffMax),
		SourceRetries: reconcile.DefaultSourceRetries,
		Grace:         p.duration("TRASHD_SHUTDOWN_GRACE", e.ShutdownGrace),
		FailAfter:     p.duration("TRASHD_FAIL_AFTER", e.FailAfter),
		SharedRecheck: p.duration("TRASHD_SHARED_RECHECK", e.SharedRecheck),
		Mass: reconcile.MassLimits{
			Allow:    p.bool("TRASHD_ALLOW_MASS_CHANGE", e.AllowMassChange),
			Count:    p.int("TRASHD_MASS_CHANGE_COUNT", e.MassChangeCount),
			Share:    p.float("TRASHD_MASS_CHANGE_SHARE", e.MassChangeShare, "a share above 0 and at most 1, such as 0.1"),
			Override: "TRASHD_ALLOW_MASS_CHANGE=true for the service (unset it after), or `trashd reconcile --allow-mass-change` for one pass",
		},
		Archive:         parseArchive(p, e),
		Forbid:          parseForbid(p, e.S3Forbid),
		DeleteAfterHead: p.bool("TRASHD_S3_DELETE_AFTER_HEAD", e.DeleteAfterHead),
	}
}

// parseForbid reads TRASHD_S3_FORBID: conditions never to rely on.
func parseForbid(p *problems, v string) map[reconcile.Condition]string {
	out := map[reconcile.Condition]string{}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		cond := reconcile.Condition(name)
		if !slices.Contains(reconcile.Conditions(), cond) {
			var all []string
			for _, c := range reconcile.Conditions() {
				all = append(all, string(c))
			}
			p.add("TRASHD_S3_FORBID", fmt.Sprintf("%q is no condition trashd relies on; use any of %s", name, strings.Join(all, ", ")))
			continue
		}
		out[cond] = "TRASHD_S3_FORBID"
	}
	return out
}

// parseArchive reads the variables of the lifecycle rule, transitions and
// restores.
func parseArchive(p *problems, e env) reconcile.ArchiveConfig {
	return reconcile.ArchiveConfig{
		Rule: reconcile.LifecycleRule{
			ID:                  e.LifecycleRuleID,
			Prefix:              e.LifecyclePrefix,
			TransitionDays:      p.int("TRASHD_TRANSITION_DAYS", e.TransitionDays),
			StorageClass:        e.StorageClass,
			ExpirationDays:      p.int("TRASHD_EXPIRATION_DAYS", e.ExpirationDays),
			AbortIncompleteDays: p.int("TRASHD_ABORT_UPLOADS_DAYS", e.AbortUploadsDays),
			MinSize:             p.bytes("TRASHD_TRANSITION_MIN_SIZE", e.TransitionMinSize),
		},
		Mode:          e.ArchiveMode,
		LifecycleMode: e.LifecycleMode,
		Grace:         p.duration("TRASHD_TRANSITION_GRACE", e.TransitionGrace),
		ChecksPerPass: p.int("TRASHD_TRANSITION_CHECKS", e.TransitionChecks),
		RestoreDays:   p.int("TRASHD_RESTORE_DAYS", e.RestoreDays),
		RestoreTier:   e.RestoreTier,
		RestorePoll:   p.duration("TRASHD_RESTORE_POLL", e.RestorePoll),
		DayLength:     p.duration("TRASHD_LIFECYCLE_DAY_LENGTH", e.LifecycleDayLength),
		// Checked by ArchiveConfig.Validate.
		ExpeditedFallback: e.ExpeditedFallback,
	}
}

// parsePrices reads the TRASHD_PRICE_* variables; reconcile.Prices.Validate
// checks them.
func parsePrices(p *problems, e env) reconcile.Prices {
	const what = "a price in USD per GB-month, such as 0.0036"
	return reconcile.Prices{
		"STANDARD":     p.float("TRASHD_PRICE_STANDARD", e.PriceStandard, what),
		"GLACIER_IR":   p.float("TRASHD_PRICE_GLACIER_IR", e.PriceGlacierIR, what),
		"GLACIER":      p.float("TRASHD_PRICE_GLACIER", e.PriceGlacier, what),
		"DEEP_ARCHIVE": p.float("TRASHD_PRICE_DEEP_ARCHIVE", e.PriceDeepArchive, what),
	}
}
