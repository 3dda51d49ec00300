package s3ops

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
)

var _ reconcile.LifecycleKeeper = (*Client)(nil)

// LifecycleConfiguration is a bucket's lifecycle configuration as S3 returns
// it: the rules exactly as read, so that a merge writes every rule that is
// not trashd's back unchanged.
type LifecycleConfiguration struct {
	Rules []types.LifecycleRule
	// TransitionDefaultMinimumObjectSize is the bucket's default for rules
	// without a size filter (all_storage_classes_128K unless someone changed
	// it); "" when the server did not say. A PUT without it resets it to
	// AWS's default, so a merge writes it back as read.
	TransitionDefaultMinimumObjectSize types.TransitionDefaultMinimumObjectSize
}

// minTransitionDays is the fewest days after creation a transition to a
// class may be set to (AWS, API Transition): STANDARD_IA and ONEZONE_IA need
// 30; INTELLIGENT_TIERING, GLACIER_IR, GLACIER and DEEP_ARCHIVE accept 0,
// "transition at once" (charged for the class's minimum storage duration:
// 90 days GLACIER_IR and GLACIER, 180 DEEP_ARCHIVE).
var minTransitionDays = map[string]int{
	string(types.TransitionStorageClassStandardIa): 30,
	string(types.TransitionStorageClassOnezoneIa):  30,
}

// CheckLifecycle compares bucket's lifecycle configuration with want. A
// bucket without a configuration has no rules, which is drift, not an error.
func (c *Client) CheckLifecycle(ctx context.Context, bucket string, want reconcile.LifecycleRule) (reconcile.LifecycleReport, error) {
	cfg, err := c.readLifecycle(ctx, bucket)
	if err != nil {
		return reconcile.LifecycleReport{Bucket: bucket}, err
	}
	return CompareLifecycle(bucket, cfg, want), nil
}

// ApplyLifecycle puts want into bucket's lifecycle configuration.
// PutBucketLifecycleConfiguration replaces the whole set, so it reads the
// configuration, adds want or replaces the rule with want's ID, keeps every
// other rule exactly as read, checks the result (MergeLifecycle) and writes
// it; then it reads the configuration back and reports the drift that is
// left. Nothing is written when the rule is already in place, or when the
// result would be refused: an invalid rule, too many rules, or other rules
// that would fight with want over the same objects (the error lists them,
// wrapped around reconcile.ErrPermanent, and the report says the same).
// Such conflicts are an error even when want is in place already: the
// bucket will not do what trashd expects until someone changes those rules.
//
// S3 has no conditional write for lifecycle configurations: a rule someone
// else adds between the read and the write is lost. Two trashd instances
// applying the same rule at once write the same configuration.
//
// AWS takes a few minutes to propagate a new configuration; a read-back
// during that time may still show the old one, and the next check will tell.
func (c *Client) ApplyLifecycle(ctx context.Context, bucket string, want reconcile.LifecycleRule) (reconcile.LifecycleReport, error) {
	cfg, err := c.readLifecycle(ctx, bucket)
	if err != nil {
		return reconcile.LifecycleReport{Bucket: bucket}, err
	}
	report := CompareLifecycle(bucket, cfg, want)
	if report.InPlace() && len(report.Conflicts) == 0 {
		return report, nil
	}
	merged, err := MergeLifecycle(cfg, want)
	if err != nil {
		return report, fmt.Errorf("apply lifecycle rule %q to bucket %q: %w: nothing was written: %w", want.ID, bucket, reconcile.ErrPermanent, err)
	}
	if err := c.writeLifecycle(ctx, bucket, merged); err != nil {
		return report, err
	}
	cfg, err = c.readLifecycle(ctx, bucket)
	if err != nil {
		report.Applied = true
		return report, fmt.Errorf("apply lifecycle rule %q to bucket %q: written, but not read back: %w", want.ID, bucket, err)
	}
	report = CompareLifecycle(bucket, cfg, want)
	report.Applied = true
	return report, nil
}

func (c *Client) readLifecycle(ctx context.Context, bucket string) (LifecycleConfiguration, error) {
	out, err := c.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
	if errorCode(err) == "NoSuchLifecycleConfiguration" {
		return LifecycleConfiguration{}, nil
	}
	if err != nil {
		err = mapError(lifecycleCall("read the lifecycle configuration of", bucket, "s3:GetLifecycleConfiguration"), err)
		if errorCode(err) == "NotImplemented" || httpStatus(err) == 501 {
			// A server without lifecycle configurations has no rule
			// that deletes trash copies either.
			err = fmt.Errorf("%w: %w", reconcile.ErrLifecycleUnsupported, err)
		}
		return LifecycleConfiguration{}, err
	}
	return LifecycleConfiguration{Rules: out.Rules, TransitionDefaultMinimumObjectSize: out.TransitionDefaultMinimumObjectSize}, nil
}

func (c *Client) writeLifecycle(ctx context.Context, bucket string, cfg LifecycleConfiguration) error {
	_, err := c.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                             aws.String(bucket),
		LifecycleConfiguration:             &types.BucketLifecycleConfiguration{Rules: cfg.Rules},
		TransitionDefaultMinimumObjectSize: cfg.TransitionDefaultMinimumObjectSize,
	})
	return mapError(lifecycleCall("write the lifecycle configuration of", bucket, "s3:PutLifecycleConfiguration"), err)
}

func lifecycleCall(op, bucket, allow string) call {
	return call{
		op:      fmt.Sprintf("%s bucket %q", op, bucket),
		buckets: []string{bucket},
		allow:   fmt.Sprintf("%s on arn:aws:s3:::%s", allow, bucket),
		unsupported: "the server does not support lifecycle transition rules: use an S3 service that does, " +
			"or direct mode, which copies trash straight into the archive storage class",
	}
}

// DesiredRule is want as S3 writes it: enabled, filtered on the prefix (and
// on size above MinSize, through And when there is a prefix too, since a
// Filter holds one predicate), one transition, an expiration when
// ExpirationDays > 0, and an AbortIncompleteMultipartUpload when
// AbortIncompleteDays > 0.
func DesiredRule(want reconcile.LifecycleRule) types.LifecycleRule {
	filter := &types.LifecycleRuleFilter{Prefix: aws.String(want.Prefix)}
	switch {
	case want.MinSize > 0 && want.Prefix != "":
		filter = &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{
			Prefix:                aws.String(want.Prefix),
			ObjectSizeGreaterThan: aws.Int64(want.MinSize),
		}}
	case want.MinSize > 0:
		filter = &types.LifecycleRuleFilter{ObjectSizeGreaterThan: aws.Int64(want.MinSize)}
	}
	rule := types.LifecycleRule{
		ID:     aws.String(want.ID),
		Status: types.ExpirationStatusEnabled,
		Filter: filter,
		Transitions: []types.Transition{{
			Days:         aws.Int32(clampInt32(want.TransitionDays)),
			StorageClass: types.TransitionStorageClass(want.StorageClass),
		}},
	}
	if want.ExpirationDays > 0 {
		rule.Expiration = &types.LifecycleExpiration{Days: aws.Int32(clampInt32(want.ExpirationDays))}
	}
	if want.AbortIncompleteDays > 0 {
		rule.AbortIncompleteMultipartUpload = &types.AbortIncompleteMultipartUpload{
			DaysAfterInitiation: aws.Int32(clampInt32(want.AbortIncompleteDays)),
		}
	}
	return rule
}

func clampInt32(n int) int32 { return int32(min(max(n, math.MinInt32), math.MaxInt32)) }

// CompareLifecycle reports how cfg differs from want: every rule in one
// line, the drift of the rule with want's ID, and the other enabled rules
// that act on the same objects in a way that fights with want.
func CompareLifecycle(bucket string, cfg LifecycleConfiguration, want reconcile.LifecycleRule) reconcile.LifecycleReport {
	report := reconcile.LifecycleReport{Bucket: bucket}
	for _, r := range cfg.Rules {
		report.Rules = append(report.Rules, DescribeRule(r))
	}
	if s := cfg.TransitionDefaultMinimumObjectSize; s != "" {
		report.Rules = append(report.Rules, describeDefaultMinimumSize(s))
	}
	report.Drift = drift(cfg.Rules, want)
	if len(report.Drift) > 0 {
		// A merge adds trashd's Filter rule, so it rewrites these too.
		report.Drift = append(report.Drift, legacyRules(cfg.Rules, want)...)
	}
	report.Conflicts = conflicts(cfg.Rules, want)
	report.Expiring = expiring(cfg.Rules, want)
	return report
}

// legacy reports whether r selects its objects with the deprecated
// rule-level Prefix ("Lifecycle V1") instead of a Filter.
func legacy(r types.LifecycleRule) bool { return r.Filter == nil && r.Prefix != nil }

// asFilterRule is r with a rule-level Prefix moved into Filter{Prefix},
// nothing else changed: AWS refuses a configuration that mixes the two forms
// ("Filter element can only be used in Lifecycle V2" when the first rule has
// a rule-level Prefix, "Base level prefix cannot be used in Lifecycle V2"
// otherwise), and trashd's rule always has a Filter. The two select the
// same objects.
func asFilterRule(r types.LifecycleRule) types.LifecycleRule {
	if !legacy(r) {
		return r
	}
	r.Filter = &types.LifecycleRuleFilter{Prefix: r.Prefix}
	r.Prefix = nil
	return r
}

// legacyRules says, for each rule other than want's that a merge rewrites
// from the rule-level Prefix to a Filter, what will change.
func legacyRules(rules []types.LifecycleRule, want reconcile.LifecycleRule) []string {
	var out []string
	for _, r := range rules {
		if legacy(r) && aws.ToString(r.ID) != want.ID {
			out = append(out, fmt.Sprintf("rule %q uses the deprecated rule-level prefix %q (lifecycle V1), which AWS refuses next to trashd's Filter rule: "+
				"it will be rewritten as Filter{Prefix: %q}, nothing else changed", aws.ToString(r.ID), aws.ToString(r.Prefix), aws.ToString(r.Prefix)))
		}
	}
	return out
}

// MergeLifecycle returns cfg with want added, or in place of the rule with
// want's ID, every other rule kept as it is. It refuses, listing every
// reason, when want is not valid, when the result has more rules than S3
// allows or two rules with one ID, and when other enabled rules act on
// want's objects in a way that fights with it.
func MergeLifecycle(cfg LifecycleConfiguration, want reconcile.LifecycleRule) (LifecycleConfiguration, error) {
	var errs []error
	if err := want.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("rule %q is not valid: %w", want.ID, err))
	}
	if low := minTransitionDays[want.StorageClass]; want.TransitionDays < low {
		errs = append(errs, fmt.Errorf("a transition to %s must come at least %d days after creation, not %d", want.StorageClass, low, want.TransitionDays))
	}

	merged := LifecycleConfiguration{
		Rules:                              make([]types.LifecycleRule, 0, len(cfg.Rules)+1),
		TransitionDefaultMinimumObjectSize: cfg.TransitionDefaultMinimumObjectSize,
	}
	replaced := false
	for _, r := range cfg.Rules {
		if !replaced && aws.ToString(r.ID) == want.ID {
			r, replaced = DesiredRule(want), true
		}
		merged.Rules = append(merged.Rules, asFilterRule(r))
	}
	if !replaced {
		merged.Rules = append(merged.Rules, DesiredRule(want))
	}

	if n := len(merged.Rules); n > reconcile.MaxLifecycleRules {
		errs = append(errs, fmt.Errorf("the configuration would have %d rules, more than the %d a bucket may have", n, reconcile.MaxLifecycleRules))
	}
	seen := make(map[string]int)
	for _, r := range merged.Rules {
		if id := aws.ToString(r.ID); id != "" {
			seen[id]++
		}
	}
	for _, id := range slices.Sorted(maps.Keys(seen)) {
		if seen[id] > 1 {
			errs = append(errs, fmt.Errorf("%d rules have the id %q; ids must be unique", seen[id], id))
		}
	}
	if cs := conflicts(cfg.Rules, want); len(cs) > 0 {
		errs = append(errs, fmt.Errorf("other rules would fight with rule %q over the same objects (change or remove them, or give trashd's rule a prefix of its own): %s",
			want.ID, strings.Join(cs, "; ")))
	}
	if len(errs) > 0 {
		return LifecycleConfiguration{}, problems(errs)
	}
	return merged, nil
}

// problems are several reasons at once, on one line for the log; each
// stays reachable through errors.Is and errors.As.
type problems []error

func (p problems) Error() string {
	lines := make([]string, len(p))
	for i, err := range p {
		lines[i] = strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return strings.Join(lines, "; ")
}

func (p problems) Unwrap() []error { return p }

// drift lists what is missing or different about the rule with want's ID:
// everything a merge would change.
func drift(rules []types.LifecycleRule, want reconcile.LifecycleRule) []string {
	var found []types.LifecycleRule
	for _, r := range rules {
		if aws.ToString(r.ID) == want.ID {
			found = append(found, r)
		}
	}
	if len(found) == 0 {
		return []string{fmt.Sprintf("no rule with id %q", want.ID)}
	}
	var d []string
	if len(found) > 1 {
		d = append(d, fmt.Sprintf("%d rules with id %q, want one", len(found), want.ID))
	}
	r := found[0]
	if r.Status != types.ExpirationStatusEnabled {
		d = append(d, fmt.Sprintf("status %s, want Enabled", r.Status))
	}

	got, wantScope := scopeOf(r), scopeOfWant(want)
	if got.prefix != wantScope.prefix {
		d = append(d, fmt.Sprintf("prefix %q, want %q", got.prefix, wantScope.prefix))
	}
	if got.size != wantScope.size {
		d = append(d, fmt.Sprintf("size filter %s, want %s", got.size, wantScope.size))
	}
	if len(got.tags) > 0 {
		d = append(d, fmt.Sprintf("tag filter %s, want none", describeTags(got.tags)))
	}

	d = append(d, transitionDrift(r.Transitions, want)...)
	d = append(d, expirationDrift(r.Expiration, want)...)
	d = append(d, abortDrift(r.AbortIncompleteMultipartUpload, want)...)
	wanted := r
	if want.AbortIncompleteDays > 0 {
		wanted.AbortIncompleteMultipartUpload = nil // compared above
	}
	for _, extra := range otherActions(wanted) {
		d = append(d, "extra action: "+extra+", want none")
	}
	return d
}

// abortDrift compares the rule's AbortIncompleteMultipartUpload with a
// wanted one; a rule that has one where none is wanted is an extra action.
func abortDrift(a *types.AbortIncompleteMultipartUpload, want reconcile.LifecycleRule) []string {
	switch {
	case want.AbortIncompleteDays == 0:
		return nil
	case a == nil || a.DaysAfterInitiation == nil:
		return []string{fmt.Sprintf("no abort of incomplete multipart uploads, want after %d days", want.AbortIncompleteDays)}
	case int(*a.DaysAfterInitiation) != want.AbortIncompleteDays:
		return []string{fmt.Sprintf("abort of incomplete multipart uploads after %d days, want %d", *a.DaysAfterInitiation, want.AbortIncompleteDays)}
	}
	return nil
}

func transitionDrift(ts []types.Transition, want reconcile.LifecycleRule) []string {
	wantLine := fmt.Sprintf("%s after %d days", want.StorageClass, want.TransitionDays)
	switch len(ts) {
	case 0:
		return []string{"no transition, want " + wantLine}
	case 1:
	default:
		lines := make([]string, len(ts))
		for i, t := range ts {
			lines[i] = describeTransition(t)
		}
		return []string{fmt.Sprintf("%d transitions (%s), want one: %s", len(ts), strings.Join(lines, ", "), wantLine)}
	}
	t := ts[0]
	var d []string
	switch {
	case t.Date != nil:
		d = append(d, fmt.Sprintf("transition on %s, want after %d days", day(*t.Date), want.TransitionDays))
	case t.Days == nil:
		d = append(d, fmt.Sprintf("transition without days, want after %d days", want.TransitionDays))
	case int(*t.Days) != want.TransitionDays:
		d = append(d, fmt.Sprintf("transition after %d days, want %d", *t.Days, want.TransitionDays))
	}
	if string(t.StorageClass) != want.StorageClass {
		d = append(d, fmt.Sprintf("storage class %s, want %s", t.StorageClass, want.StorageClass))
	}
	return d
}

func expirationDrift(e *types.LifecycleExpiration, want reconcile.LifecycleRule) []string {
	wantLine := "none"
	if want.ExpirationDays > 0 {
		wantLine = fmt.Sprintf("after %d days", want.ExpirationDays)
	}
	switch {
	case e == nil || (e.Days == nil && e.Date == nil && !aws.ToBool(e.ExpiredObjectDeleteMarker)):
		if want.ExpirationDays > 0 {
			return []string{"no expiration, want " + wantLine}
		}
		return nil
	case e.Date != nil:
		return []string{fmt.Sprintf("expiration on %s, want %s", day(*e.Date), wantLine)}
	case e.Days != nil && int(*e.Days) != want.ExpirationDays && want.ExpirationDays > 0:
		return []string{fmt.Sprintf("expiration after %d days, want %d", *e.Days, want.ExpirationDays)}
	case e.Days != nil && want.ExpirationDays == 0:
		return []string{fmt.Sprintf("expiration after %d days, want none", *e.Days)}
	case e.Days == nil:
		// Only ExpiredObjectDeleteMarker: a versioned bucket's cleanup.
		return []string{fmt.Sprintf("expiration of expired delete markers only, want %s", wantLine)}
	}
	return nil
}

// conflicts lists the enabled rules other than want's that act on objects
// want acts on (their prefixes nest and their size ranges meet) and would
// fight with it: transitions to another class, which S3 resolves by its own
// precedence rather than by trashd's, or an expiration earlier than want's
// (S3 lets deletion win), which removes trash before trashd expects.
func conflicts(rules []types.LifecycleRule, want reconcile.LifecycleRule) []string {
	ws := scopeOfWant(want)
	var out []string
	for _, r := range rules {
		if aws.ToString(r.ID) == want.ID || r.Status != types.ExpirationStatusEnabled {
			continue
		}
		s := scopeOf(r)
		if !s.overlaps(ws) {
			continue
		}
		var why []string
		for _, t := range r.Transitions {
			if string(t.StorageClass) != want.StorageClass {
				why = append(why, fmt.Sprintf("it transitions them to %s %s, trashd's rule to %s", t.StorageClass, when(t.Days, t.Date), want.StorageClass))
			}
		}
		if e := r.Expiration; e != nil {
			wantExpiry := "never"
			if want.ExpirationDays > 0 {
				wantExpiry = fmt.Sprintf("after %d days", want.ExpirationDays)
			}
			switch {
			case e.Date != nil:
				why = append(why, fmt.Sprintf("it expires them on %s, trashd's rule %s", day(*e.Date), wantExpiry))
			case e.Days != nil && (want.ExpirationDays == 0 || int(*e.Days) < want.ExpirationDays):
				why = append(why, fmt.Sprintf("it expires them after %d days, trashd's rule %s", *e.Days, wantExpiry))
			}
		}
		if len(why) > 0 {
			out = append(out, fmt.Sprintf("rule %q (%s) acts on objects of rule %q (%s): %s",
				aws.ToString(r.ID), s, want.ID, ws, strings.Join(why, "; ")))
		}
	}
	return out
}

// expiring lists the enabled rules that delete trash copies before want's
// expiration would, or at all when want never expires them: an Expiration
// by date, or after fewer days. A rule counts when its filter meets the
// scope of every trash copy (holdsCopies), not only the objects want
// transitions: trashd copies files of every size. The rule with want's own
// id counts too when its expiration is not want's (edited in the console,
// left from an older configuration): it deletes copies as surely as
// another's, and in verify or off mode nothing repairs it. On a versioned
// bucket an expiration hides the current version behind a delete marker,
// which is as gone for a restore; a rule's NoncurrentVersionExpiration
// alone acts only on versions something else has already deleted or
// replaced (trashd's copies are current until then), so it is not one.
func expiring(rules []types.LifecycleRule, want reconcile.LifecycleRule) []reconcile.ExpiringRule {
	wantExpiry := "never"
	if want.ExpirationDays > 0 {
		wantExpiry = fmt.Sprintf("after %d days", want.ExpirationDays)
	}
	var out []reconcile.ExpiringRule
	for _, r := range rules {
		e := r.Expiration
		if r.Status != types.ExpirationStatusEnabled || e == nil {
			continue
		}
		s := scopeOf(r)
		if !s.holdsCopies(want) {
			continue
		}
		x := reconcile.ExpiringRule{ID: aws.ToString(r.ID)}
		switch {
		case e.Date != nil:
			x.Date = *e.Date
			x.Does = fmt.Sprintf("expires every object of %s on %s (trashd's rule: %s)", s, day(*e.Date), wantExpiry)
		case e.Days != nil && (want.ExpirationDays == 0 || int(*e.Days) < want.ExpirationDays):
			x.Days = int(*e.Days)
			x.Does = fmt.Sprintf("expires the objects of %s after %d days (trashd's rule: %s)", s, *e.Days, wantExpiry)
		default:
			continue
		}
		if e := r.NoncurrentVersionExpiration; e != nil {
			x.Does += fmt.Sprintf(", and on a versioned bucket deletes the expired versions %d days later", aws.ToInt32(e.NoncurrentDays))
		}
		if x.ID == want.ID {
			x.Own = true
			x.Does = fmt.Sprintf("(trashd's own id, changed from the configured rule) %s", x.Does)
		}
		out = append(out, x)
	}
	return out
}

// holdsCopies reports whether s may select a trash copy: trashd copies
// files of every size, under every key its template renders (want.Prefix
// stands for them when the template is not known), and sets no tag, so a
// tag filter is taken to match, since copies carry the tags of the LMS's
// objects.
func (s scope) holdsCopies(want reconcile.LifecycleRule) bool {
	if s.size.above >= s.size.below-1 {
		return false // no size is in the range
	}
	if want.Keys.String() == "" {
		return strings.HasPrefix(s.prefix, want.Prefix) || strings.HasPrefix(want.Prefix, s.prefix)
	}
	return want.Keys.CanStartWith(s.prefix)
}

// scope is the set of objects a rule's filter selects.
type scope struct {
	prefix string
	size   sizeRange
	tags   []types.Tag
}

// sizeRange is the object sizes s with above < s < below (S3's
// ObjectSizeGreaterThan and ObjectSizeLessThan are both exclusive).
type sizeRange struct{ above, below int64 }

var anySize = sizeRange{above: -1, below: math.MaxInt64}

// scopeOf reads a rule's filter: Filter with one predicate or an And of
// several, or the deprecated rule-level Prefix of older configurations.
func scopeOf(r types.LifecycleRule) scope {
	s := scope{prefix: aws.ToString(r.Prefix), size: anySize}
	f := r.Filter
	if f == nil {
		return s
	}
	prefix, above, below := f.Prefix, f.ObjectSizeGreaterThan, f.ObjectSizeLessThan
	if f.Tag != nil {
		s.tags = []types.Tag{*f.Tag}
	}
	if a := f.And; a != nil {
		prefix, above, below, s.tags = a.Prefix, a.ObjectSizeGreaterThan, a.ObjectSizeLessThan, a.Tags
	}
	if prefix != nil {
		s.prefix = *prefix
	}
	if above != nil {
		s.size.above = *above
	}
	if below != nil {
		s.size.below = *below
	}
	return s
}

func scopeOfWant(want reconcile.LifecycleRule) scope {
	s := scope{prefix: want.Prefix, size: anySize}
	if want.MinSize > 0 {
		s.size.above = want.MinSize
	}
	return s
}

// overlaps reports whether some object may be in both scopes: one prefix
// begins the other, and a size is in both ranges. A tag filter is taken to
// match, since trash carries the tags of the LMS's objects.
func (s scope) overlaps(o scope) bool {
	nested := strings.HasPrefix(s.prefix, o.prefix) || strings.HasPrefix(o.prefix, s.prefix)
	above, below := max(s.size.above, o.size.above), min(s.size.below, o.size.below)
	return nested && above < below-1
}

func (s scope) String() string {
	parts := []string{"all keys"}
	if s.prefix != "" {
		parts[0] = fmt.Sprintf("prefix %q", s.prefix)
	}
	if s.size != anySize {
		parts = append(parts, s.size.String())
	}
	if len(s.tags) > 0 {
		parts = append(parts, "tagged "+describeTags(s.tags))
	}
	return strings.Join(parts, ", ")
}

func (r sizeRange) String() string {
	switch {
	case r == anySize:
		return "any size"
	case r.below == anySize.below:
		return fmt.Sprintf("larger than %d bytes", r.above)
	case r.above == anySize.above:
		return fmt.Sprintf("smaller than %d bytes", r.below)
	}
	return fmt.Sprintf("larger than %d and smaller than %d bytes", r.above, r.below)
}

func describeTags(tags []types.Tag) string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = aws.ToString(t.Key) + "=" + aws.ToString(t.Value)
	}
	return strings.Join(s, " and ")
}

// DescribeRule writes a rule in one line: id, status, filter, transitions,
// expiration, and any other action.
//
//	"trashd-archive" Enabled; filter: prefix "trash/"; transition: GLACIER after 0 days; expiration: after 365 days
func DescribeRule(r types.LifecycleRule) string {
	transitions := "none"
	if len(r.Transitions) > 0 {
		lines := make([]string, len(r.Transitions))
		for i, t := range r.Transitions {
			lines[i] = describeTransition(t)
		}
		transitions = strings.Join(lines, ", ")
	}
	expiration := "none"
	if e := r.Expiration; e != nil {
		var parts []string
		if e.Days != nil || e.Date != nil {
			parts = append(parts, when(e.Days, e.Date))
		}
		if aws.ToBool(e.ExpiredObjectDeleteMarker) {
			parts = append(parts, "expired delete markers")
		}
		if len(parts) > 0 {
			expiration = strings.Join(parts, ", ")
		}
	}
	filter := scopeOf(r).String()
	if legacy(r) {
		filter += " (rule-level prefix, lifecycle V1)"
	}
	line := fmt.Sprintf("%q %s; filter: %s; transition: %s; expiration: %s", aws.ToString(r.ID), r.Status, filter, transitions, expiration)
	for _, a := range otherActions(r) {
		line += "; " + a
	}
	return line
}

// otherActions describes the actions of r that trashd's rule never has.
func otherActions(r types.LifecycleRule) []string {
	var out []string
	for _, t := range r.NoncurrentVersionTransitions {
		out = append(out, fmt.Sprintf("noncurrent versions to %s after %d days", t.StorageClass, aws.ToInt32(t.NoncurrentDays)))
	}
	if e := r.NoncurrentVersionExpiration; e != nil {
		line := fmt.Sprintf("expire noncurrent versions after %d days", aws.ToInt32(e.NoncurrentDays))
		if n := aws.ToInt32(e.NewerNoncurrentVersions); n > 0 {
			line += fmt.Sprintf(" (keeping %d newer)", n)
		}
		out = append(out, line)
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		out = append(out, fmt.Sprintf("abort incomplete multipart uploads after %d days", aws.ToInt32(a.DaysAfterInitiation)))
	}
	return out
}

func describeTransition(t types.Transition) string {
	return fmt.Sprintf("%s %s", t.StorageClass, when(t.Days, t.Date))
}

func when(days *int32, date *time.Time) string {
	if date != nil {
		return "on " + day(*date)
	}
	return fmt.Sprintf("after %d days", aws.ToInt32(days))
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// describeDefaultMinimumSize explains the bucket's default for rules
// without a size filter (AWS, GetBucketLifecycleConfiguration).
func describeDefaultMinimumSize(s types.TransitionDefaultMinimumObjectSize) string {
	switch s {
	case types.TransitionDefaultMinimumObjectSizeAllStorageClasses128k:
		return fmt.Sprintf("bucket default minimum transition size %s: objects under 128 KB do not transition unless a rule's size filter says so", s)
	case types.TransitionDefaultMinimumObjectSizeVariesByStorageClass:
		return fmt.Sprintf("bucket default minimum transition size %s: objects under 128 KB transition to GLACIER and DEEP_ARCHIVE, not to other classes", s)
	}
	return fmt.Sprintf("bucket default minimum transition size %s", s)
}
