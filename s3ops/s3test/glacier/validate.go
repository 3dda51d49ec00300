package glacier

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// S3's limits on lifecycle configurations.
const (
	maxRules      = 1000
	maxRuleID     = 255 // characters, counted as UTF-16 units
	maxPrefix     = 1024
	maxFilterSize = 1_099_511_627_776_000 // 1000 TiB: the range S3 accepts for size filters
	maxFilterTags = 10
)

// transitionClasses are the classes a Transition may name (S3's
// TransitionStorageClass), in the order S3's waterfall moves objects: a
// lifecycle rule only ever moves an object to a class later in the list.
var transitionClasses = []string{"STANDARD_IA", "INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}

// classRank orders storage classes by S3's waterfall; STANDARD (and
// anything else) is 0.
func classRank(class string) int {
	return slices.Index(transitionClasses, class) + 1
}

// validateLifecycle checks a configuration as S3 does, first fault first:
// the number of rules and their IDs, then each rule, then, in a
// configuration of the deprecated form, overlapping prefixes. Where S3's
// answer is known the code and message are S3's.
func validateLifecycle(cfg *lifecycleConfiguration) *apiError {
	if len(cfg.Rules) == 0 {
		return errInvalidRequest("At least one lifecycle rule must be specified.")
	}
	if len(cfg.Rules) > maxRules {
		return errInvalidRequest("The number of lifecycle rules must not exceed the allowed limit of 1000 rules.")
	}
	ids := make(map[string]bool, len(cfg.Rules))
	for _, r := range cfg.Rules {
		id := deref(r.ID)
		if id == "" {
			continue
		}
		if len(utf16.Encode([]rune(id))) > maxRuleID {
			return errInvalidArgument("ID length should not exceed allowed limit of 255")
		}
		if ids[id] {
			return errInvalidArgument("Rule ID must be unique. Found same ID for more than one rule")
		}
		ids[id] = true
	}
	// S3 reads the configuration as "Lifecycle V2" when its first rule
	// has a Filter, and then refuses rule-level prefixes (and vice versa).
	v2 := cfg.Rules[0].Filter != nil
	for i := range cfg.Rules {
		if e := validateRule(&cfg.Rules[i], v2); e != nil {
			return e
		}
	}
	if !v2 {
		return overlappingPrefixes(cfg.Rules)
	}
	return nil
}

func validateRule(r *lifecycleRule, v2 bool) *apiError {
	if st := deref(r.Status); st != "Enabled" && st != "Disabled" {
		return errMalformedXML()
	}
	switch {
	case r.Prefix == nil && r.Filter == nil:
		return errMalformedXML()
	case r.Prefix != nil && v2:
		return errInvalidRequest("Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter.")
	case r.Filter != nil && !v2:
		return errInvalidRequest("Filter element can only be used in Lifecycle V2.")
	}
	if len(deref(r.Prefix)) > maxPrefix {
		return errInvalidArgument("The maximum size of a prefix is 1024.")
	}
	if e := validateFilter(r.Filter); e != nil {
		return e
	}
	if len(r.Transitions) == 0 && r.Expiration == nil && len(r.NoncurrentVersionTransitions) == 0 &&
		r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil {
		return errInvalidRequest("At least one action needs to be specified in a rule")
	}
	tags, sizes := r.usesTags(), r.usesSizes()
	if x := r.Expiration; x != nil {
		if e := validateExpiration(x); e != nil {
			return e
		}
		if x.ExpiredObjectDeleteMarker != nil && tags {
			return errInvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Tags.")
		}
		if x.ExpiredObjectDeleteMarker != nil && sizes {
			return errInvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Object Size.")
		}
	}
	if x := r.NoncurrentVersionExpiration; x != nil {
		if x.NoncurrentDays == nil {
			return errMalformedXML()
		}
		if *x.NoncurrentDays <= 0 {
			return errInvalidArgument("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if e := validateNewer(x.NewerNoncurrentVersions, v2); e != nil {
			return e
		}
	}
	if x := r.AbortIncompleteMultipartUpload; x != nil {
		switch {
		case x.DaysAfterInitiation == nil:
			return errMalformedXML()
		case *x.DaysAfterInitiation <= 0:
			return errInvalidArgument("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		case tags:
			return errInvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
		case sizes:
			return errInvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Object Size.")
		}
	}
	return validateTransitions(r, v2)
}

func validateFilter(f *ruleFilter) *apiError {
	if f == nil {
		return nil
	}
	n := 0
	for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.And != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errMalformedXML() // more than one predicate needs an And
	}
	if f.And == nil {
		return validatePredicates(f.Prefix, tagList(f.Tag), f.ObjectSizeGreaterThan, f.ObjectSizeLessThan)
	}
	return validatePredicates(f.And.Prefix, f.And.Tags, f.And.ObjectSizeGreaterThan, f.And.ObjectSizeLessThan)
}

func tagList(t *tag) []tag {
	if t == nil {
		return nil
	}
	return []tag{*t}
}

func validatePredicates(prefix *string, tags []tag, larger, smaller *int64) *apiError {
	if len(deref(prefix)) > maxPrefix {
		return errInvalidArgument("The maximum size of a prefix is 1024.")
	}
	if len(tags) > maxFilterTags {
		return errInvalidArgument("Object tags cannot be greater than 10")
	}
	keys := make(map[string]bool, len(tags))
	for _, t := range tags {
		if deref(t.Key) == "" || t.Value == nil {
			return errMalformedXML()
		}
		if keys[*t.Key] {
			return errInvalidRequest("Duplicate Tag Keys are not allowed.")
		}
		keys[*t.Key] = true
	}
	if larger != nil && (*larger < 0 || *larger > maxFilterSize) {
		return errInvalidRequest("'ObjectSizeGreaterThan' should be between 0 and 1099511627776000.")
	}
	if smaller != nil && (*smaller < 1 || *smaller > maxFilterSize) {
		return errInvalidRequest("'ObjectSizeLessThan' should be between 1 and 1099511627776000.")
	}
	if larger != nil && smaller != nil && *larger >= *smaller {
		return errInvalidRequest("'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.")
	}
	return nil
}

func validateExpiration(x *expiration) *apiError {
	n := 0
	for _, set := range []bool{x.Date != nil, x.Days != nil, x.ExpiredObjectDeleteMarker != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errMalformedXML()
	}
	switch {
	case x.Days != nil && *x.Days <= 0:
		return errInvalidArgument("'Days' for Expiration action must be a positive integer")
	case x.Date != nil:
		return validateDate(*x.Date)
	case x.ExpiredObjectDeleteMarker != nil:
		v, err := strconv.ParseBool(strings.TrimSpace(*x.ExpiredObjectDeleteMarker))
		if err != nil {
			return errMalformedXML()
		}
		*x.ExpiredObjectDeleteMarker = strconv.FormatBool(v)
	}
	return nil
}

// validateDate checks a Date, which S3 takes only at midnight UTC.
func validateDate(s string) *apiError {
	t, err := parseDate(s)
	if err != nil {
		return errMalformedXML()
	}
	if !t.Equal(t.Truncate(24 * time.Hour)) {
		return errInvalidArgument("'Date' must be at midnight GMT")
	}
	return nil
}

func parseDate(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
}

func validateNewer(n *int64, v2 bool) *apiError {
	switch {
	case n == nil:
		return nil
	case !v2:
		return errInvalidRequest("NewerNoncurrentVersions element can only be used in Lifecycle V2.")
	case *n <= 0:
		return errInvalidArgument("'NewerNoncurrentVersions' must be a positive integer")
	}
	return nil
}

// validateTransitions checks a rule's transitions: each names a class S3
// knows and one of Date or Days; the infrequent-access classes wait at least
// 30 days; no class twice; dates and day counts not mixed with the
// expiration's; and an expiration after every transition.
func validateTransitions(r *lifecycleRule, v2 bool) *apiError {
	dated := r.Expiration != nil && r.Expiration.Date != nil
	counted := r.Expiration != nil && r.Expiration.Days != nil
	var lastDays int64 = -1
	classes := map[string]bool{}
	for _, t := range r.Transitions {
		class := deref(t.StorageClass)
		if !slices.Contains(transitionClasses, class) || (t.Date == nil) == (t.Days == nil) {
			return errMalformedXML()
		}
		if t.Date != nil {
			if e := validateDate(*t.Date); e != nil {
				return e
			}
			dated = true
		} else {
			days := *t.Days
			if days < 0 {
				return errInvalidArgument("'Days' in Transition action must be nonnegative")
			}
			if days < 30 && (class == "STANDARD_IA" || class == "ONEZONE_IA") {
				return errInvalidArgument(fmt.Sprintf("'Days' in Transition action must be greater than or equal to 30 for storageClass '%s'", class))
			}
			lastDays = max(lastDays, days)
			counted = true
		}
		if classes[class] {
			return errInvalidRequest("'StorageClass' must be different for 'Transition' actions in same 'Rule' with " + r.describeFilter())
		}
		classes[class] = true
	}
	if dated && counted {
		return errInvalidRequest("Found mixed 'Date' and 'Days' based Expiration and Transition actions in lifecycle rule for " + r.describeFilter())
	}
	if r.Expiration != nil && r.Expiration.Days != nil && lastDays >= *r.Expiration.Days {
		return errInvalidArgument("'Days' in the Expiration action for " + r.describeFilter() +
			" must be greater than 'Days' in the Transition action")
	}
	classes = map[string]bool{}
	for _, t := range r.NoncurrentVersionTransitions {
		class := deref(t.StorageClass)
		if !slices.Contains(transitionClasses, class) || t.NoncurrentDays == nil {
			return errMalformedXML()
		}
		if *t.NoncurrentDays < 0 {
			return errInvalidArgument("'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative")
		}
		if e := validateNewer(t.NewerNoncurrentVersions, v2); e != nil {
			return e
		}
		if classes[class] {
			return errInvalidRequest("'StorageClass' must be different for 'NoncurrentVersionTransition' actions in same 'Rule' with " + r.describeFilter())
		}
		classes[class] = true
	}
	return nil
}

// overlappingPrefixes refuses, in a configuration of the deprecated form,
// two rules whose prefixes overlap and that take the same kind of action.
func overlappingPrefixes(rules []lifecycleRule) *apiError {
	kinds := []struct {
		name  string
		takes func(*lifecycleRule) bool
	}{
		{"Expiration", func(r *lifecycleRule) bool { return r.Expiration != nil }},
		{"Transition", func(r *lifecycleRule) bool { return len(r.Transitions) > 0 }},
		{"NoncurrentVersionTransition", func(r *lifecycleRule) bool { return len(r.NoncurrentVersionTransitions) > 0 }},
		{"NoncurrentVersionExpiration", func(r *lifecycleRule) bool { return r.NoncurrentVersionExpiration != nil }},
		{"AbortIncompleteMultipartUpload", func(r *lifecycleRule) bool { return r.AbortIncompleteMultipartUpload != nil }},
	}
	for _, k := range kinds {
		var prefixes []string
		for i := range rules {
			if k.takes(&rules[i]) {
				prefixes = append(prefixes, deref(rules[i].Prefix))
			}
		}
		// Sorted, a prefix that begins another also begins its successor.
		slices.Sort(prefixes)
		for i := 1; i < len(prefixes); i++ {
			if strings.HasPrefix(prefixes[i], prefixes[i-1]) {
				return errInvalidRequest(fmt.Sprintf("Found overlapping prefixes '%s' and '%s' for same action type '%s'",
					prefixes[i-1], prefixes[i], k.name))
			}
		}
	}
	return nil
}

// nameRules gives each rule without an ID one, as S3 does: a random,
// unique, 48-character string.
func nameRules(rules []lifecycleRule) {
	taken := map[string]bool{}
	for _, r := range rules {
		taken[deref(r.ID)] = true
	}
	for i := range rules {
		if deref(rules[i].ID) != "" {
			continue
		}
		for {
			b := make([]byte, 36)
			_, _ = rand.Read(b)
			id := base64.RawURLEncoding.EncodeToString(b)
			if !taken[id] {
				taken[id] = true
				rules[i].ID = &id
				break
			}
		}
	}
}
