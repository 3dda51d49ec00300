package s3ops_test

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// trashRule is the rule most tests want: trash/ to GLACIER at once.
var trashRule = reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "trash/", StorageClass: "GLACIER"}

func TestDesiredRule(t *testing.T) {
	tests := []struct {
		name string
		want reconcile.LifecycleRule
		rule types.LifecycleRule
	}{
		{"prefix only", trashRule, types.LifecycleRule{
			ID:          aws.String("trashd-archive"),
			Status:      types.ExpirationStatusEnabled,
			Filter:      &types.LifecycleRuleFilter{Prefix: aws.String("trash/")},
			Transitions: []types.Transition{{Days: aws.Int32(0), StorageClass: types.TransitionStorageClassGlacier}},
		}},
		{"prefix and size through And, with expiration",
			reconcile.LifecycleRule{ID: "t", Prefix: "trash/", TransitionDays: 30, StorageClass: "DEEP_ARCHIVE", ExpirationDays: 400, MinSize: 1 << 20},
			types.LifecycleRule{
				ID:     aws.String("t"),
				Status: types.ExpirationStatusEnabled,
				Filter: &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{
					Prefix: aws.String("trash/"), ObjectSizeGreaterThan: aws.Int64(1 << 20),
				}},
				Transitions: []types.Transition{{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassDeepArchive}},
				Expiration:  &types.LifecycleExpiration{Days: aws.Int32(400)},
			}},
		{"abort incomplete uploads",
			reconcile.LifecycleRule{ID: "t", Prefix: "trash/", StorageClass: "GLACIER", AbortIncompleteDays: 7},
			types.LifecycleRule{
				ID:                             aws.String("t"),
				Status:                         types.ExpirationStatusEnabled,
				Filter:                         &types.LifecycleRuleFilter{Prefix: aws.String("trash/")},
				Transitions:                    []types.Transition{{Days: aws.Int32(0), StorageClass: types.TransitionStorageClassGlacier}},
				AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)},
			}},
		{"size alone, whole bucket",
			reconcile.LifecycleRule{ID: "t", TransitionDays: 1, StorageClass: "GLACIER_IR", MinSize: 4096},
			types.LifecycleRule{
				ID:          aws.String("t"),
				Status:      types.ExpirationStatusEnabled,
				Filter:      &types.LifecycleRuleFilter{ObjectSizeGreaterThan: aws.Int64(4096)},
				Transitions: []types.Transition{{Days: aws.Int32(1), StorageClass: types.TransitionStorageClassGlacierIr}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s3ops.DesiredRule(tt.want)
			if !reflect.DeepEqual(got, tt.rule) {
				t.Errorf("DesiredRule(%+v):\n got %s\nwant %s", tt.want, s3ops.DescribeRule(got), s3ops.DescribeRule(tt.rule))
			}
			// The rule as written is the rule as wanted.
			if d := s3ops.CompareLifecycle("b", s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{got}}, tt.want).Drift; len(d) > 0 {
				t.Errorf("drift of the desired rule itself: %q", d)
			}
		})
	}
}

func TestDescribeRule(t *testing.T) {
	date := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		rule types.LifecycleRule
		want string
	}{
		{s3ops.DesiredRule(reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "trash/", StorageClass: "GLACIER", ExpirationDays: 365, MinSize: 131072}),
			`"trashd-archive" Enabled; filter: prefix "trash/", larger than 131072 bytes; transition: GLACIER after 0 days; expiration: after 365 days`},
		{types.LifecycleRule{ID: aws.String("logs"), Status: types.ExpirationStatusDisabled, Prefix: aws.String("logs/"),
			Expiration: &types.LifecycleExpiration{Date: &date}},
			`"logs" Disabled; filter: prefix "logs/" (rule-level prefix, lifecycle V1); transition: none; expiration: on 2030-01-02`},
		{types.LifecycleRule{ID: aws.String("tiers"), Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{
				ObjectSizeGreaterThan: aws.Int64(10), ObjectSizeLessThan: aws.Int64(1000),
				Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
			}},
			Transitions: []types.Transition{
				{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassStandardIa},
				{Days: aws.Int32(90), StorageClass: types.TransitionStorageClassGlacier},
			},
			NoncurrentVersionExpiration:    &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(30), NewerNoncurrentVersions: aws.Int32(2)},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)},
		}, `"tiers" Enabled; filter: all keys, larger than 10 and smaller than 1000 bytes, tagged k=v; ` +
			`transition: STANDARD_IA after 30 days, GLACIER after 90 days; expiration: none; ` +
			`expire noncurrent versions after 30 days (keeping 2 newer); abort incomplete multipart uploads after 7 days`},
	}
	for _, tt := range tests {
		if got := s3ops.DescribeRule(tt.rule); got != tt.want {
			t.Errorf("DescribeRule:\n got %s\nwant %s", got, tt.want)
		}
	}
}

func TestCompareLifecycleReportsDefaultMinimumSize(t *testing.T) {
	cfg := s3ops.LifecycleConfiguration{
		Rules:                              []types.LifecycleRule{s3ops.DesiredRule(trashRule)},
		TransitionDefaultMinimumObjectSize: types.TransitionDefaultMinimumObjectSizeAllStorageClasses128k,
	}
	report := s3ops.CompareLifecycle("b", cfg, trashRule)
	if len(report.Rules) != 2 || !strings.Contains(report.Rules[1], "all_storage_classes_128K") || !strings.Contains(report.Rules[1], "128 KB") {
		t.Errorf("Rules = %q, want the rule and a line on the bucket's default minimum size", report.Rules)
	}
	if !report.InPlace() || len(report.Conflicts) > 0 || report.Bucket != "b" {
		t.Errorf("report = %+v, want the rule in place without conflicts", report)
	}
}

func TestLifecycleDrift(t *testing.T) {
	want := reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "trash/", TransitionDays: 0, StorageClass: "GLACIER", ExpirationDays: 365}
	date := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		change func(*types.LifecycleRule)
		want   []string
	}{
		{"in place", func(*types.LifecycleRule) {}, nil},
		{"deprecated rule-level prefix means the same", func(r *types.LifecycleRule) {
			r.Filter, r.Prefix = nil, aws.String("trash/")
		}, nil},
		{"another id", func(r *types.LifecycleRule) { r.ID = aws.String("other") }, []string{`no rule with id "trashd-archive"`}},
		{"disabled", func(r *types.LifecycleRule) { r.Status = types.ExpirationStatusDisabled }, []string{"status Disabled, want Enabled"}},
		{"prefix", func(r *types.LifecycleRule) { r.Filter.Prefix = aws.String("old/") }, []string{`prefix "old/", want "trash/"`}},
		{"transition days", func(r *types.LifecycleRule) { r.Transitions[0].Days = aws.Int32(30) }, []string{"transition after 30 days, want 0"}},
		{"storage class", func(r *types.LifecycleRule) { r.Transitions[0].StorageClass = types.TransitionStorageClassGlacierIr },
			[]string{"storage class GLACIER_IR, want GLACIER"}},
		{"transition date and class", func(r *types.LifecycleRule) {
			r.Transitions[0] = types.Transition{Date: &date, StorageClass: types.TransitionStorageClassDeepArchive}
		}, []string{"transition on 2030-01-02, want after 0 days", "storage class DEEP_ARCHIVE, want GLACIER"}},
		{"no transition", func(r *types.LifecycleRule) { r.Transitions = nil }, []string{"no transition, want GLACIER after 0 days"}},
		{"two transitions", func(r *types.LifecycleRule) {
			r.Transitions = append(r.Transitions, types.Transition{Days: aws.Int32(180), StorageClass: types.TransitionStorageClassDeepArchive})
		}, []string{"2 transitions (GLACIER after 0 days, DEEP_ARCHIVE after 180 days), want one: GLACIER after 0 days"}},
		{"no expiration", func(r *types.LifecycleRule) { r.Expiration = nil }, []string{"no expiration, want after 365 days"}},
		{"expiration days", func(r *types.LifecycleRule) { r.Expiration.Days = aws.Int32(90) }, []string{"expiration after 90 days, want 365"}},
		{"expiration date", func(r *types.LifecycleRule) { r.Expiration = &types.LifecycleExpiration{Date: &date} },
			[]string{"expiration on 2030-01-02, want after 365 days"}},
		{"size filter", func(r *types.LifecycleRule) {
			r.Filter = &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{Prefix: aws.String("trash/"), ObjectSizeGreaterThan: aws.Int64(1024)}}
		}, []string{"size filter larger than 1024 bytes, want any size"}},
		{"tag filter", func(r *types.LifecycleRule) {
			r.Filter = &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{Prefix: aws.String("trash/"),
				Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}
		}, []string{"tag filter k=v, want none"}},
		{"extra action", func(r *types.LifecycleRule) {
			r.AbortIncompleteMultipartUpload = &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)}
		}, []string{"extra action: abort incomplete multipart uploads after 7 days, want none"}},
		{"everything at once", func(r *types.LifecycleRule) {
			r.Status = types.ExpirationStatusDisabled
			r.Filter.Prefix = aws.String("")
			r.Transitions[0].Days = aws.Int32(1)
			r.Expiration = nil
		}, []string{"status Disabled, want Enabled", `prefix "", want "trash/"`, "transition after 1 days, want 0", "no expiration, want after 365 days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := s3ops.DesiredRule(want)
			tt.change(&rule)
			cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{rule}}
			got := s3ops.CompareLifecycle("b", cfg, want).Drift
			if !slices.Equal(got, tt.want) {
				t.Errorf("drift of %s:\n got %q\nwant %q", s3ops.DescribeRule(rule), got, tt.want)
			}
		})
	}

	t.Run("size filter wanted", func(t *testing.T) {
		sized := want
		sized.MinSize = 128 << 10
		cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{s3ops.DesiredRule(want)}}
		got := s3ops.CompareLifecycle("b", cfg, sized).Drift
		if w := []string{"size filter any size, want larger than 131072 bytes"}; !slices.Equal(got, w) {
			t.Errorf("drift = %q, want %q", got, w)
		}
	})
	t.Run("expiration not wanted", func(t *testing.T) {
		never := want
		never.ExpirationDays = 0
		cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{s3ops.DesiredRule(want)}}
		got := s3ops.CompareLifecycle("b", cfg, never).Drift
		if w := []string{"expiration after 365 days, want none"}; !slices.Equal(got, w) {
			t.Errorf("drift = %q, want %q", got, w)
		}
	})
	t.Run("abort of incomplete uploads wanted", func(t *testing.T) {
		aborting := want
		aborting.AbortIncompleteDays = 7
		other := aborting
		other.AbortIncompleteDays = 3
		for _, tt := range []struct {
			name string
			have reconcile.LifecycleRule
			want []string
		}{
			{"in place", aborting, nil},
			{"missing", want, []string{"no abort of incomplete multipart uploads, want after 7 days"}},
			{"other days", other, []string{"abort of incomplete multipart uploads after 3 days, want 7"}},
		} {
			cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{s3ops.DesiredRule(tt.have)}}
			if got := s3ops.CompareLifecycle("b", cfg, aborting).Drift; !slices.Equal(got, tt.want) {
				t.Errorf("%s: drift = %q, want %q", tt.name, got, tt.want)
			}
		}
	})
	t.Run("no configuration", func(t *testing.T) {
		got := s3ops.CompareLifecycle("b", s3ops.LifecycleConfiguration{}, want)
		if w := []string{`no rule with id "trashd-archive"`}; !slices.Equal(got.Drift, w) || len(got.Rules) != 0 || got.InPlace() {
			t.Errorf("report = %+v, want drift %q and no rules", got, w)
		}
	})
}

func TestLifecycleConflicts(t *testing.T) {
	want := reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "trash/", TransitionDays: 0, StorageClass: "GLACIER", ExpirationDays: 365, MinSize: 1000}
	expire := func(days int32) *types.LifecycleExpiration { return &types.LifecycleExpiration{Days: aws.Int32(days)} }
	to := func(class types.TransitionStorageClass, days int32) []types.Transition {
		return []types.Transition{{Days: aws.Int32(days), StorageClass: class}}
	}
	prefix := func(p string) *types.LifecycleRuleFilter { return &types.LifecycleRuleFilter{Prefix: aws.String(p)} }
	date := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		rule types.LifecycleRule
		want string // "" for no conflict, else a part of the one conflict
	}{
		{"other prefix", types.LifecycleRule{Filter: prefix("logs/"), Expiration: expire(7)}, ""},
		{"sibling prefix", types.LifecycleRule{Filter: prefix("trash2/"), Expiration: expire(7)}, ""},
		{"inside trash expires earlier", types.LifecycleRule{Filter: prefix("trash/tmp/"), Expiration: expire(7)},
			"it expires them after 7 days, trashd's rule after 365 days"},
		{"whole bucket expires earlier", types.LifecycleRule{Filter: prefix(""), Expiration: expire(30)}, "after 30 days"},
		{"deprecated prefix above trash", types.LifecycleRule{Prefix: aws.String("tr"), Expiration: expire(30)}, `prefix "tr"`},
		{"expires later", types.LifecycleRule{Filter: prefix(""), Expiration: expire(400)}, ""},
		{"expires the same day", types.LifecycleRule{Filter: prefix(""), Expiration: expire(365)}, ""},
		{"expires on a date", types.LifecycleRule{Filter: prefix("trash/"), Expiration: &types.LifecycleExpiration{Date: &date}},
			"it expires them on 2030-01-02"},
		{"delete markers only", types.LifecycleRule{Filter: prefix(""), Expiration: &types.LifecycleExpiration{ExpiredObjectDeleteMarker: aws.Bool(true)}}, ""},
		{"same class", types.LifecycleRule{Filter: prefix(""), Transitions: to(types.TransitionStorageClassGlacier, 10)}, ""},
		{"other class", types.LifecycleRule{Filter: prefix("trash/x"), Transitions: to(types.TransitionStorageClassDeepArchive, 180)},
			"it transitions them to DEEP_ARCHIVE after 180 days, trashd's rule to GLACIER"},
		{"disabled", types.LifecycleRule{Status: types.ExpirationStatusDisabled, Filter: prefix(""), Expiration: expire(1)}, ""},
		{"only smaller objects", types.LifecycleRule{Filter: &types.LifecycleRuleFilter{ObjectSizeLessThan: aws.Int64(1001)}, Expiration: expire(1)}, ""},
		{"sizes meet", types.LifecycleRule{Filter: &types.LifecycleRuleFilter{ObjectSizeLessThan: aws.Int64(1002)}, Expiration: expire(1)},
			"smaller than 1002 bytes"},
		{"tagged objects may be trash", types.LifecycleRule{Filter: &types.LifecycleRuleFilter{Tag: &types.Tag{Key: aws.String("k"), Value: aws.String("v")}},
			Transitions: to(types.TransitionStorageClassStandardIa, 30)}, "tagged k=v"},
		{"noncurrent versions only", types.LifecycleRule{Filter: prefix(""),
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := tt.rule
			other.ID = aws.String("other")
			if other.Status == "" {
				other.Status = types.ExpirationStatusEnabled
			}
			cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{other, s3ops.DesiredRule(want)}}
			got := s3ops.CompareLifecycle("b", cfg, want).Conflicts
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("conflicts = %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want) || !strings.Contains(got[0], `rule "other"`)):
				t.Errorf("conflicts = %q, want one naming rule \"other\" and saying %q", got, tt.want)
			}
			// A conflict is also a refusal to merge.
			_, err := s3ops.MergeLifecycle(cfg, want)
			if (err != nil) != (tt.want != "") {
				t.Errorf("MergeLifecycle: %v, want an error: %v", err, tt.want != "")
			}
		})
	}
}

func TestMergeLifecycleKeepsOtherRules(t *testing.T) {
	logs := types.LifecycleRule{
		ID: aws.String("logs"), Status: types.ExpirationStatusEnabled,
		Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
		Expiration: &types.LifecycleExpiration{Days: aws.Int32(7)},
	}
	archive := types.LifecycleRule{
		ID: aws.String("archive"), Status: types.ExpirationStatusEnabled, Prefix: aws.String("archive/"),
		Transitions:                    []types.Transition{{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassDeepArchive}},
		AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(3)},
	}
	// A rule with the deprecated rule-level Prefix comes out as a Filter
	// rule, which AWS accepts next to trashd's.
	archiveV2 := archive
	archiveV2.Prefix, archiveV2.Filter = nil, &types.LifecycleRuleFilter{Prefix: aws.String("archive/")}
	old := s3ops.DesiredRule(reconcile.LifecycleRule{ID: trashRule.ID, Prefix: "old/", TransitionDays: 5, StorageClass: "GLACIER_IR"})
	const minSize = types.TransitionDefaultMinimumObjectSizeVariesByStorageClass

	t.Run("replaces in place", func(t *testing.T) {
		cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{logs, old, archive}, TransitionDefaultMinimumObjectSize: minSize}
		got, err := s3ops.MergeLifecycle(cfg, trashRule)
		if err != nil {
			t.Fatal(err)
		}
		want := s3ops.LifecycleConfiguration{
			Rules:                              []types.LifecycleRule{logs, s3ops.DesiredRule(trashRule), archiveV2},
			TransitionDefaultMinimumObjectSize: minSize,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("merged = %q, want %q", describe(got.Rules), describe(want.Rules))
		}
		if !reflect.DeepEqual(cfg.Rules, []types.LifecycleRule{logs, old, archive}) {
			t.Error("MergeLifecycle changed its argument")
		}
	})
	t.Run("adds", func(t *testing.T) {
		cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{logs, archive}}
		got, err := s3ops.MergeLifecycle(cfg, trashRule)
		if err != nil {
			t.Fatal(err)
		}
		if want := []types.LifecycleRule{logs, archiveV2, s3ops.DesiredRule(trashRule)}; !reflect.DeepEqual(got.Rules, want) {
			t.Errorf("merged = %q, want %q", describe(got.Rules), describe(want))
		}
	})
}

func TestMergeLifecycleRefuses(t *testing.T) {
	many := make([]types.LifecycleRule, reconcile.MaxLifecycleRules)
	for i := range many {
		many[i] = types.LifecycleRule{ID: aws.String(fmt.Sprintf("r%d", i)), Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{Prefix: aws.String(fmt.Sprintf("p%d/", i))}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}}
	}
	dup := types.LifecycleRule{ID: aws.String("dup"), Status: types.ExpirationStatusDisabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("x/")}}
	tests := []struct {
		name string
		cfg  s3ops.LifecycleConfiguration
		want reconcile.LifecycleRule
		says []string
	}{
		{"1,000 rules and one more", s3ops.LifecycleConfiguration{Rules: many}, trashRule,
			[]string{"1001 rules, more than the 1000"}},
		{"1,000 rules with trashd's among them is fine", s3ops.LifecycleConfiguration{Rules: append(slices.Clone(many[1:]), s3ops.DesiredRule(trashRule))}, trashRule,
			nil},
		{"duplicate ids", s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{dup, dup}}, trashRule,
			[]string{`2 rules have the id "dup"`}},
		{"invalid rule", s3ops.LifecycleConfiguration{}, reconcile.LifecycleRule{ID: "t", StorageClass: "STANDARD_IA", TransitionDays: 1},
			[]string{`rule "t" is not valid`, "STANDARD_IA", "at least 30 days after creation, not 1"}},
		{"abort of incomplete uploads with a size filter", s3ops.LifecycleConfiguration{},
			reconcile.LifecycleRule{ID: "t", StorageClass: "GLACIER", MinSize: 1 << 20, AbortIncompleteDays: 7},
			[]string{`rule "t" is not valid`, "AbortIncompleteDays must be 0 when MinSize is set", "S3 refuses AbortIncompleteMultipartUpload in a rule with an object-size filter"}},
		{"abort of incomplete uploads out of range", s3ops.LifecycleConfiguration{},
			reconcile.LifecycleRule{ID: "t", StorageClass: "GLACIER", AbortIncompleteDays: 36501},
			[]string{"AbortIncompleteDays 36501 must be between 0 (none) and 36500"}},
		{"conflict", s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{{ID: aws.String("tmp"), Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{Prefix: aws.String("trash/tmp/")}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)}}}}, trashRule,
			[]string{`other rules would fight with rule "trashd-archive"`, `rule "tmp" (prefix "trash/tmp/")`, "expires them after 1 days, trashd's rule never"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s3ops.MergeLifecycle(tt.cfg, tt.want)
			if tt.says == nil {
				if err != nil {
					t.Fatalf("MergeLifecycle: %v", err)
				}
				return
			}
			if err == nil || got.Rules != nil {
				t.Fatalf("MergeLifecycle = %d rules, %v; want no rules and an error", len(got.Rules), err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func describe(rules []types.LifecycleRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = s3ops.DescribeRule(r)
	}
	return out
}

// lifecycleRequest matches requests to a bucket's ?lifecycle subresource
// with method.
func lifecycleRequest(method string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Method == method && r.URL.Query().Has("lifecycle") }
}

// TestLifecycleOnSeaweedFS runs against the S3-compatible server itself,
// which keeps expiration rules but answers a transition rule with 501.
func TestLifecycleOnSeaweedFS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	report, err := b.client.CheckLifecycle(ctx, b.trash, trashRule)
	if err != nil {
		t.Fatalf("CheckLifecycle of a bucket without configuration: %v", err)
	}
	if w := []string{`no rule with id "trashd-archive"`}; !slices.Equal(report.Drift, w) || len(report.Rules) != 0 {
		t.Errorf("report = %+v, want drift %q and no rules", report, w)
	}

	report, err = b.client.ApplyLifecycle(ctx, b.trash, trashRule)
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), "the server does not support lifecycle transition rules") {
		t.Fatalf("ApplyLifecycle on SeaweedFS: %v, want ErrPermanent saying the server does not support transition rules", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("write the lifecycle configuration of bucket %q", b.trash)) || report.Applied {
		t.Errorf("error %q, report %+v: want the write and the bucket named, nothing applied", err, report)
	}
	if report, err := b.client.CheckLifecycle(ctx, b.trash, trashRule); err != nil || report.InPlace() {
		t.Errorf("after the refused write: %+v, %v; want the rule still missing", report, err)
	}
}

func TestLifecycleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		fault  s3test.Fault
		apply  bool
		says   []string
	}{
		{"read 501", http.MethodGet, s3test.Fault{Status: 501, Code: "NotImplemented", Message: "A header you provided implies functionality that is not implemented"},
			false, []string{"read the lifecycle configuration of bucket", "the server does not support lifecycle transition rules"}},
		{"read denied", http.MethodGet, s3test.Fault{Status: 403, Code: "AccessDenied", Message: "Access Denied"},
			false, []string{"the IAM policy must allow s3:GetLifecycleConfiguration on arn:aws:s3:::"}},
		{"write denied", http.MethodPut, s3test.Fault{Status: 403, Code: "AccessDenied", Message: "Access Denied"},
			true, []string{"write the lifecycle configuration of bucket", "the IAM policy must allow s3:PutLifecycleConfiguration on arn:aws:s3:::"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ft := s3test.NewFaultTransport(s3test.When(lifecycleRequest(tt.method), tt.fault))
			b := setup(t, func(o *s3ops.Options) { o.HTTPClient = ft.Client() })
			var err error
			if tt.apply {
				_, err = b.client.ApplyLifecycle(t.Context(), b.trash, trashRule)
			} else {
				_, err = b.client.CheckLifecycle(t.Context(), b.trash, trashRule)
			}
			if !errors.Is(err, reconcile.ErrPermanent) {
				t.Fatalf("got %v, want ErrPermanent", err)
			}
			for _, s := range append(tt.says, b.trash) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// glacierBundle is a client that talks to the test server through the
// Glacier emulation layer, and a bucket of its own there.
type glacierBundle struct {
	srv    *glacier.Server
	client *s3ops.Client
	s3     *s3.Client // through the layer too, for seeding and checking
	bucket string
	// lifecyclePuts counts the client's PutBucketLifecycleConfiguration
	// requests (not the seeding client's).
	lifecyclePuts *atomic.Int64
}

func setupGlacier(t *testing.T, cfg glacier.Config) *glacierBundle {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = glacier.NewClock() // moved on with srv.Advance, not waited for
	}
	srv := glacier.Start(t, cfg) // in front of the test server, with its credentials

	puts := new(atomic.Int64)
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if lifecycleRequest(http.MethodPut)(r) {
			puts.Add(1)
		}
		return s3test.Fault{}
	})
	o := s3test.Options(t)
	o.Endpoint = srv.URL
	seedOpts := o
	o.HTTPClient = ft.Client()
	seed := s3test.NewClient(t, seedOpts).S3()
	return &glacierBundle{
		srv:           srv,
		client:        s3test.NewClient(t, o),
		s3:            seed,
		bucket:        s3test.NewBucket(t, seed, "s3ops-glacier"),
		lifecyclePuts: puts,
	}
}

// rules reads the bucket's lifecycle rules with the SDK, by id.
func (g *glacierBundle) rules(t *testing.T) map[string]types.LifecycleRule {
	t.Helper()
	out := g.configuration(t)
	byID := make(map[string]types.LifecycleRule, len(out.Rules))
	for _, r := range out.Rules {
		byID[aws.ToString(r.ID)] = r
	}
	return byID
}

func (g *glacierBundle) configuration(t *testing.T) *s3.GetBucketLifecycleConfigurationOutput {
	t.Helper()
	out, err := g.s3.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(g.bucket)})
	if err != nil {
		t.Fatalf("get lifecycle configuration of %s: %v", g.bucket, err)
	}
	return out
}

// putRules writes rules as the bucket's whole configuration with the SDK.
func (g *glacierBundle) putRules(t *testing.T, rules ...types.LifecycleRule) {
	t.Helper()
	g.putConfiguration(t, s3ops.LifecycleConfiguration{Rules: rules})
}

func (g *glacierBundle) putConfiguration(t *testing.T, cfg s3ops.LifecycleConfiguration) {
	t.Helper()
	if _, err := g.s3.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                             aws.String(g.bucket),
		LifecycleConfiguration:             &types.BucketLifecycleConfiguration{Rules: cfg.Rules},
		TransitionDefaultMinimumObjectSize: cfg.TransitionDefaultMinimumObjectSize,
	}); err != nil {
		t.Fatalf("put lifecycle configuration of %s: %v", g.bucket, err)
	}
}

// Two rules that have nothing to do with trashd's: logs expire after a
// week, archive/ goes to DEEP_ARCHIVE after 30 days.
var (
	logsRule = types.LifecycleRule{
		ID: aws.String("logs"), Status: types.ExpirationStatusEnabled,
		Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
		Expiration: &types.LifecycleExpiration{Days: aws.Int32(7)},
	}
	archiveRule = types.LifecycleRule{
		ID: aws.String("archive"), Status: types.ExpirationStatusEnabled,
		Filter:      &types.LifecycleRuleFilter{Prefix: aws.String("archive/")},
		Transitions: []types.Transition{{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassDeepArchive}},
	}
)

func TestCheckLifecycleWithoutConfiguration(t *testing.T) {
	t.Parallel()
	g := setupGlacier(t, glacier.Config{})
	report, err := g.client.CheckLifecycle(t.Context(), g.bucket, trashRule)
	if err != nil {
		t.Fatal(err)
	}
	if w := []string{`no rule with id "trashd-archive"`}; !slices.Equal(report.Drift, w) || len(report.Rules) != 0 || len(report.Conflicts) != 0 {
		t.Errorf("report = %+v, want drift %q only", report, w)
	}
}

func TestApplyLifecycleKeepsOtherRules(t *testing.T) {
	t.Parallel()
	g := setupGlacier(t, glacier.Config{})
	ctx := t.Context()
	const minSize = types.TransitionDefaultMinimumObjectSizeVariesByStorageClass
	g.putConfiguration(t, s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{logsRule, archiveRule}, TransitionDefaultMinimumObjectSize: minSize})
	before := g.rules(t)

	report, err := g.client.ApplyLifecycle(ctx, g.bucket, trashRule)
	if err != nil {
		t.Fatalf("ApplyLifecycle: %v", err)
	}
	if !report.Applied || !report.InPlace() || len(report.Conflicts) > 0 || g.lifecyclePuts.Load() != 1 {
		t.Errorf("report = %+v after %d writes; want applied once, in place, no conflicts", report, g.lifecyclePuts.Load())
	}
	after := g.rules(t)
	if len(after) != 3 {
		t.Errorf("rules after apply: %q, want 3", slices.Sorted(maps.Keys(after)))
	}
	for _, id := range []string{"logs", "archive"} {
		if !reflect.DeepEqual(after[id], before[id]) {
			t.Errorf("rule %q changed:\n was %s\n now %s", id, s3ops.DescribeRule(before[id]), s3ops.DescribeRule(after[id]))
		}
	}
	if got, want := s3ops.DescribeRule(after[trashRule.ID]), s3ops.DescribeRule(s3ops.DesiredRule(trashRule)); got != want {
		t.Errorf("trashd's rule as read back:\n got %s\nwant %s", got, want)
	}
	if !slices.ContainsFunc(report.Rules, func(l string) bool { return strings.HasPrefix(l, `"logs" Enabled`) }) ||
		!slices.ContainsFunc(report.Rules, func(l string) bool { return strings.Contains(l, string(minSize)) }) {
		t.Errorf("report.Rules = %q, want a line for every rule and the bucket's default minimum size", report.Rules)
	}
	// PUT without the setting would have reset it to AWS's default.
	if got := g.configuration(t).TransitionDefaultMinimumObjectSize; got != minSize {
		t.Errorf("default minimum transition size after apply = %q, want %q kept", got, minSize)
	}

	// Again: nothing to do, nothing written.
	report, err = g.client.ApplyLifecycle(ctx, g.bucket, trashRule)
	if err != nil || report.Applied || !report.InPlace() || g.lifecyclePuts.Load() != 1 {
		t.Errorf("re-apply: %+v, %v after %d writes; want no write and no drift", report, err, g.lifecyclePuts.Load())
	}
}

func TestApplyLifecycleReplacesDriftedRule(t *testing.T) {
	t.Parallel()
	g := setupGlacier(t, glacier.Config{})
	old := s3ops.DesiredRule(reconcile.LifecycleRule{ID: trashRule.ID, Prefix: "trash/", TransitionDays: 30, StorageClass: "GLACIER_IR"})
	g.putRules(t, old, logsRule)

	report, err := g.client.CheckLifecycle(t.Context(), g.bucket, trashRule)
	if w := []string{"transition after 30 days, want 0", "storage class GLACIER_IR, want GLACIER"}; err != nil || !slices.Equal(report.Drift, w) {
		t.Fatalf("CheckLifecycle = %+v, %v; want drift %q", report, err, w)
	}
	report, err = g.client.ApplyLifecycle(t.Context(), g.bucket, trashRule)
	if err != nil || !report.Applied || !report.InPlace() {
		t.Fatalf("ApplyLifecycle = %+v, %v; want applied with no drift left", report, err)
	}
	if rules := g.rules(t); len(rules) != 2 || !reflect.DeepEqual(rules["logs"].Filter, logsRule.Filter) {
		t.Errorf("rules after apply: %q", describe(slices.Collect(maps.Values(rules))))
	}
}

func TestApplyLifecycleRefusesConflict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		other types.LifecycleRule
		says  string
	}{
		{"expires earlier", types.LifecycleRule{
			ID: aws.String("tmp"), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("trash/tmp/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(3)},
		}, `rule "tmp" (prefix "trash/tmp/") acts on objects of rule "trashd-archive" (prefix "trash/"): it expires them after 3 days, trashd's rule never`},
		{"transitions elsewhere", types.LifecycleRule{
			ID: aws.String("cold"), Status: types.ExpirationStatusEnabled,
			Filter:      &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Transitions: []types.Transition{{Days: aws.Int32(90), StorageClass: types.TransitionStorageClassDeepArchive}},
		}, `rule "cold" (all keys) acts on objects of rule "trashd-archive" (prefix "trash/"): it transitions them to DEEP_ARCHIVE after 90 days, trashd's rule to GLACIER`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := setupGlacier(t, glacier.Config{})
			g.putRules(t, logsRule, tt.other)
			before := g.rules(t)

			report, err := g.client.ApplyLifecycle(t.Context(), g.bucket, trashRule)
			if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "nothing was written") {
				t.Fatalf("ApplyLifecycle: %v; want ErrPermanent saying %q", err, tt.says)
			}
			if report.Applied || len(report.Conflicts) != 1 || !strings.Contains(report.Conflicts[0], tt.says) {
				t.Errorf("report = %+v, want the conflict and nothing applied", report)
			}
			if n := g.lifecyclePuts.Load(); n != 0 {
				t.Errorf("%d lifecycle writes, want none", n)
			}
			if after := g.rules(t); !reflect.DeepEqual(after, before) {
				t.Errorf("configuration changed: %q", describe(slices.Collect(maps.Values(after))))
			}
		})
	}
}

// TestApplyLifecycleAbortIncomplete: through the Glacier emulation, trashd's
// rule gains, changes and loses its AbortIncompleteMultipartUpload as the
// setting says, the other rules stay as they were, and the combination S3
// refuses (with a size filter) is refused by the emulation too, as
// Validate refuses it before any write.
func TestApplyLifecycleAbortIncomplete(t *testing.T) {
	t.Parallel()
	g := setupGlacier(t, glacier.Config{})
	ctx := t.Context()
	g.putRules(t, logsRule, archiveRule)
	before := g.rules(t)

	want := trashRule
	for i, step := range []struct {
		days  int
		drift []string
	}{
		{7, []string{`no rule with id "trashd-archive"`}},
		{3, []string{"abort of incomplete multipart uploads after 7 days, want 3"}},
		{0, []string{"extra action: abort incomplete multipart uploads after 3 days, want none"}},
	} {
		want.AbortIncompleteDays = step.days
		report, err := g.client.CheckLifecycle(ctx, g.bucket, want)
		if err != nil || !slices.Equal(report.Drift, step.drift) {
			t.Fatalf("step %d: CheckLifecycle = %q, %v; want drift %q", i, report.Drift, err, step.drift)
		}
		report, err = g.client.ApplyLifecycle(ctx, g.bucket, want)
		if err != nil || !report.Applied || !report.InPlace() {
			t.Fatalf("step %d: ApplyLifecycle = %+v, %v; want applied, in place", i, report, err)
		}
		rules := g.rules(t)
		got := rules[want.ID].AbortIncompleteMultipartUpload
		switch {
		case step.days == 0 && got != nil:
			t.Errorf("step %d: rule still aborts uploads after %d days", i, aws.ToInt32(got.DaysAfterInitiation))
		case step.days > 0 && (got == nil || int(aws.ToInt32(got.DaysAfterInitiation)) != step.days):
			t.Errorf("step %d: rule as read back: %s; want an abort after %d days", i, s3ops.DescribeRule(rules[want.ID]), step.days)
		}
		for _, id := range []string{"logs", "archive"} {
			if !reflect.DeepEqual(rules[id], before[id]) {
				t.Errorf("step %d: rule %q changed: %s", i, id, s3ops.DescribeRule(rules[id]))
			}
		}
	}

	sized := trashRule
	sized.MinSize, sized.AbortIncompleteDays = 1<<20, 7
	if _, err := g.client.ApplyLifecycle(ctx, g.bucket, sized); !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("ApplyLifecycle of an abort with a size filter: %v, want ErrPermanent, nothing written", err)
	}
	_, err := g.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                 aws.String(g.bucket),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{s3ops.DesiredRule(sized)}},
	})
	if !strings.Contains(fmt.Sprint(err), "AbortIncompleteMultipartUpload cannot be specified with Object Size") {
		t.Errorf("PUT of an abort with a size filter: %v, want S3's InvalidRequest", err)
	}
}

// TestApplyLifecycleRewritesLegacyRules: a bucket whose rules use the
// deprecated rule-level Prefix (lifecycle V1) takes trashd's Filter rule
// only with those rules rewritten as Filter{Prefix}, which the emulation
// (as AWS) insists on; the drift report says so beforehand, and nothing else
// about the rules changes.
func TestApplyLifecycleRewritesLegacyRules(t *testing.T) {
	t.Parallel()
	g := setupGlacier(t, glacier.Config{})
	old := types.LifecycleRule{
		ID: aws.String("old-logs"), Status: types.ExpirationStatusEnabled, Prefix: aws.String("logs/"),
		Expiration:                     &types.LifecycleExpiration{Days: aws.Int32(7)},
		AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(3)},
	}
	off := types.LifecycleRule{
		ID: aws.String("old-tmp"), Status: types.ExpirationStatusDisabled, Prefix: aws.String("tmp/"),
		Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)},
	}
	g.putRules(t, old, off)

	report, err := g.client.CheckLifecycle(t.Context(), g.bucket, trashRule)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"old-logs", "old-tmp"} {
		if !slices.ContainsFunc(report.Drift, func(d string) bool {
			return strings.Contains(d, fmt.Sprintf("rule %q uses the deprecated rule-level prefix", id)) && strings.Contains(d, "Filter{Prefix:")
		}) {
			t.Errorf("drift %q: want the rewrite of rule %q announced", report.Drift, id)
		}
	}

	report, err = g.client.ApplyLifecycle(t.Context(), g.bucket, trashRule)
	if err != nil || !report.Applied || !report.InPlace() {
		t.Fatalf("ApplyLifecycle = %+v, %v; want applied with no drift left", report, err)
	}
	rules := g.rules(t)
	for _, was := range []types.LifecycleRule{old, off} {
		want := was
		want.Prefix, want.Filter = nil, &types.LifecycleRuleFilter{Prefix: was.Prefix}
		if got := rules[aws.ToString(was.ID)]; !reflect.DeepEqual(got, want) {
			t.Errorf("rule %q after apply:\n got %s\nwant %s", aws.ToString(was.ID), s3ops.DescribeRule(got), s3ops.DescribeRule(want))
		}
	}
	if len(rules) != 3 {
		t.Errorf("rules after apply: %q", describe(slices.Collect(maps.Values(rules))))
	}
}
