package main

import (
	"fmt"
	"strings"

	"trashd/reconcile"
)

// checkAcross checks the rules that tie two packages' options together, or
// two variables that no package's Validate sees side by side: only cmd sees
// both.
func checkAcross(p *problems, c Config) {
	// A renewal must fit well inside the lease: a delete needs a fence sent
	// less than a quarter of the lease ago, and a database that takes its
	// full timeouts to answer would otherwise let the lease lapse.
	lease := c.Reconcile.Lease
	if mysql := c.DB.DialTimeout + c.DB.ReadTimeout + c.DB.WriteTimeout; lease > 0 && mysql > 0 && lease < 3*mysql {
		p.add("TRASHD_LEASE", fmt.Sprintf("%s is shorter than 3 × (TRASHD_MYSQL_DIAL_TIMEOUT + TRASHD_MYSQL_READ_TIMEOUT + TRASHD_MYSQL_WRITE_TIMEOUT) = %s: "+
			"a lease must outlast several database round trips at their timeouts; raise the lease or lower the timeouts", lease, formatDuration(3*mysql)))
	}
	checkLifecyclePrefix(p, c.Reconcile)
	checkInventoryBuckets(p, c)
}

// checkLifecyclePrefix refuses a rule prefix that no trash key can start
// with: the rule would be in place, and verified, and never transition (or
// expire) a single copy.
func checkLifecyclePrefix(p *problems, r reconcile.Config) {
	prefix, tmpl := r.Archive.Rule.Prefix, r.TrashKeys
	if prefix == "" || tmpl.String() == "" || p.unreadable["TRASHD_LIFECYCLE_PREFIX"] || tmpl.CanStartWith(prefix) {
		return // "" is a template that did not parse, reported already
	}
	suggest := `"" (the whole trash bucket)`
	// The template's text before its first placeholder starts every key.
	if lit, _, _ := strings.Cut(tmpl.String(), "{"); lit != "" {
		suggest = fmt.Sprintf("%q, or empty for the whole trash bucket", lit)
	}
	p.add("TRASHD_LIFECYCLE_PREFIX", fmt.Sprintf("%q matches no trash key: TRASHD_TRASH_KEY_TEMPLATE %q never renders a key that starts with it, "+
		"so the lifecycle rule would never transition a copy to %s (nor expire one); set it to a prefix the keys start with, such as %s",
		prefix, tmpl.String(), r.Archive.Rule.StorageClass, suggest))
}

// lifecycleWarnings are the settings of the lifecycle rule that are valid
// but cost money or do nothing: an expiration no pass writes, and one that
// deletes copies before their storage class's minimum duration.
func lifecycleWarnings(a reconcile.ArchiveConfig) []string {
	rule := a.Rule
	if rule.ExpirationDays <= 0 {
		return nil
	}
	var out []string
	if a.LifecycleMode == reconcile.LifecycleOff {
		out = append(out, fmt.Sprintf("TRASHD_EXPIRATION_DAYS=%d is never applied: with TRASHD_LIFECYCLE_MODE=off no pass writes or checks the lifecycle rule, "+
			"so S3 deletes no copy unless the rule is written by `trashd lifecycle --apply`; set TRASHD_LIFECYCLE_MODE=enforce (or verify, and run --apply once), "+
			"or unset TRASHD_EXPIRATION_DAYS", rule.ExpirationDays))
	}
	// A copy reaches the archive class at the transition (at the move in
	// direct mode) and is billed there for at least the class's minimum
	// storage duration, deleted or not (AWS S3 pricing).
	archived, from := rule.TransitionDays, fmt.Sprintf("TRASHD_TRANSITION_DAYS=%d", rule.TransitionDays)
	if a.Mode == reconcile.ArchiveDirect {
		archived, from = 0, "the move (TRASHD_ARCHIVE_MODE=direct)"
	}
	if minDays := reconcile.MinStorageDays(rule.StorageClass); minDays > 0 && rule.ExpirationDays < archived+minDays {
		kept := rule.ExpirationDays - archived
		out = append(out, fmt.Sprintf("TRASHD_EXPIRATION_DAYS=%d deletes each copy %d days after it reached %s at %s, "+
			"but %s is billed for at least %d days: every expired copy is billed an early deletion of %d more days; "+
			"set TRASHD_EXPIRATION_DAYS to at least %d (%d + %d)",
			rule.ExpirationDays, kept, rule.StorageClass, from, rule.StorageClass, minDays, minDays-kept, archived+minDays, archived, minDays))
	}
	return out
}
