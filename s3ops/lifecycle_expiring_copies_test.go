package s3ops_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
)

// trashd copies every file into the trash bucket whatever its size; its
// rule's size filter (TRASHD_TRANSITION_MIN_SIZE) bounds only what its rule
// transitions. Another rule that expires the small copies deletes files.
func TestLifecycleExpiringSmallCopiesBelowTrashdsSizeFilter(t *testing.T) {
	want := reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "", StorageClass: "GLACIER", TransitionDays: 30, MinSize: 1 << 20}
	other := types.LifecycleRule{ID: aws.String("small-files"), Status: types.ExpirationStatusEnabled,
		Filter:     &types.LifecycleRuleFilter{ObjectSizeLessThan: aws.Int64(1 << 20)},
		Expiration: &types.LifecycleExpiration{Days: aws.Int32(7)}}
	cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{other, s3ops.DesiredRule(want)}}
	got := s3ops.CompareLifecycle("b", cfg, want).Expiring
	if len(got) != 1 || got[0].ID != "small-files" || got[0].Days != 7 || !strings.Contains(got[0].Does, "smaller than 1048576 bytes") {
		t.Errorf("Expiring = %+v: want the rule expiring every trash copy under 1 MiB after 7 days listed as deleting trash copies", got)
	}
}

// A rule that carries trashd's id but expires copies earlier than
// configured (edited in the console, or left from an older configuration)
// deletes trash copies as surely as one with another id; in verify or off
// mode it is never repaired. One that expires them later, or as
// configured, is drift only.
func TestLifecycleExpiringRuleWithTrashdsID(t *testing.T) {
	never := reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "", StorageClass: "GLACIER", TransitionDays: 30}
	yearly := never
	yearly.ExpirationDays = 365
	date := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		want       reconcile.LifecycleRule
		expiration *types.LifecycleExpiration
		listed     bool
		does       string
	}{
		{"expires, configured never", never, &types.LifecycleExpiration{Days: aws.Int32(7)}, true, "after 7 days (trashd's rule: never)"},
		{"expires earlier than configured", yearly, &types.LifecycleExpiration{Days: aws.Int32(90)}, true, "after 90 days (trashd's rule: after 365 days)"},
		{"expires on a date", yearly, &types.LifecycleExpiration{Date: &date}, true, "on 2030-01-02"},
		{"expires later than configured", yearly, &types.LifecycleExpiration{Days: aws.Int32(400)}, false, ""},
		{"expires as configured", yearly, &types.LifecycleExpiration{Days: aws.Int32(365)}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := s3ops.DesiredRule(tt.want)
			edited.Expiration = tt.expiration
			rep := s3ops.CompareLifecycle("b", s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{edited}}, tt.want)
			if len(rep.Drift) == 0 && tt.expiration.Days != nil && int(*tt.expiration.Days) != tt.want.ExpirationDays {
				t.Errorf("an edited expiration is not drift: %q", rep.Drift)
			}
			if !tt.listed {
				if len(rep.Expiring) > 0 {
					t.Errorf("Expiring = %+v, want none (drift only: %q)", rep.Expiring, rep.Drift)
				}
				return
			}
			if len(rep.Expiring) != 1 || !rep.Expiring[0].Own || rep.Expiring[0].ID != "trashd-archive" ||
				!strings.Contains(rep.Expiring[0].String(), tt.does) || !strings.Contains(rep.Expiring[0].String(), "trashd's own id") {
				t.Errorf("Expiring = %+v, want trashd's own rule listed as deleting trash copies, saying %q (drift: %q)", rep.Expiring, tt.does, rep.Drift)
			}
		})
	}
}

// Copies are wherever the trash key template puts them, whatever prefix
// trashd's own rule filters on: a rule over keys the template can render
// deletes copies, one over keys it never renders does not.
func TestLifecycleExpiringLooksWhereTheTemplatePutsCopies(t *testing.T) {
	tmpl := func(s string) reconcile.KeyTemplate {
		k, err := reconcile.ParseKeyTemplate(s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	tests := []struct {
		name   string
		keys   string
		prefix string // trashd's rule's
		other  string // the expiring rule's
		listed bool
	}{
		{"under the template's prefix, outside the rule's", "trash/{id}/{key}", "trash/1", "trash/2", true},
		{"beside the template's prefix", "trash/{id}/{key}", "trash/", "logs/", false},
		{"default template, outside the rule's prefix", "{id}/{key}", "1", "2", true},
		{"default template, keys it never renders", "{id}/{key}", "", "logs/", false},
		{"default template, a row id's start", "{id}/{key}", "", "42/", true},
		{"a filter on every key", "trash/{id}/{key}", "trash/", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := reconcile.LifecycleRule{ID: "trashd-archive", Prefix: tt.prefix, StorageClass: "GLACIER", TransitionDays: 30, Keys: tmpl(tt.keys)}
			other := types.LifecycleRule{ID: aws.String("other"), Status: types.ExpirationStatusEnabled,
				Filter: &types.LifecycleRuleFilter{Prefix: aws.String(tt.other)}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(7)}}
			got := s3ops.CompareLifecycle("b", s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{other, s3ops.DesiredRule(want)}}, want).Expiring
			if listed := len(got) == 1 && got[0].ID == "other"; listed != tt.listed || len(got) > 1 {
				t.Errorf("template %q, rule on %q: Expiring = %+v, want listed %v", tt.keys, tt.other, got, tt.listed)
			}
		})
	}
}
