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

// Expiring lists the other rules that delete trashd's copies earlier than
// trashd's rule would: by a date, or after fewer days, or at all when
// trashd's never expires them; each with its days or date and what it does.
func TestLifecycleExpiring(t *testing.T) {
	expire := func(days int32) *types.LifecycleExpiration { return &types.LifecycleExpiration{Days: aws.Int32(days)} }
	prefix := func(p string) *types.LifecycleRuleFilter { return &types.LifecycleRuleFilter{Prefix: aws.String(p)} }
	date := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	never := reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "trash/", StorageClass: "GLACIER", TransitionDays: 30}
	yearly := never
	yearly.ExpirationDays = 365
	tests := []struct {
		name string
		want reconcile.LifecycleRule
		rule types.LifecycleRule
		days int    // the rule's days in the report; -1: not listed
		does string // a part of what it is said to do
	}{
		{"expires, trashd never", never, types.LifecycleRule{Filter: prefix(""), Expiration: expire(7)}, 7, "after 7 days (trashd's rule: never)"},
		{"expires earlier than trashd", yearly, types.LifecycleRule{Filter: prefix("trash/"), Expiration: expire(30)}, 30, "after 30 days (trashd's rule: after 365 days)"},
		{"expires the same day", yearly, types.LifecycleRule{Filter: prefix(""), Expiration: expire(365)}, -1, ""},
		{"expires later", yearly, types.LifecycleRule{Filter: prefix(""), Expiration: expire(400)}, -1, ""},
		{"on a date", yearly, types.LifecycleRule{Filter: prefix(""), Expiration: &types.LifecycleExpiration{Date: &date}}, 0, "on 2030-01-02"},
		{"other prefix", never, types.LifecycleRule{Filter: prefix("logs/"), Expiration: expire(1)}, -1, ""},
		{"disabled", never, types.LifecycleRule{Status: types.ExpirationStatusDisabled, Filter: prefix(""), Expiration: expire(1)}, -1, ""},
		{"delete markers only", never, types.LifecycleRule{Filter: prefix(""), Expiration: &types.LifecycleExpiration{ExpiredObjectDeleteMarker: aws.Bool(true)}}, -1, ""},
		{"transition only", never, types.LifecycleRule{Filter: prefix(""), Transitions: []types.Transition{{Days: aws.Int32(1), StorageClass: types.TransitionStorageClassDeepArchive}}}, -1, ""},
		// Versions something else deleted: trashd's copies are current.
		{"noncurrent versions only", never, types.LifecycleRule{Filter: prefix(""),
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}}, -1, ""},
		{"expires and then deletes the versions", never, types.LifecycleRule{Filter: prefix(""), Expiration: expire(7),
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}}, 7, "deletes the expired versions 1 days later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := tt.rule
			other.ID = aws.String("other")
			if other.Status == "" {
				other.Status = types.ExpirationStatusEnabled
			}
			cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{other, s3ops.DesiredRule(tt.want)}}
			got := s3ops.CompareLifecycle("b", cfg, tt.want).Expiring
			if tt.days < 0 {
				if len(got) > 0 {
					t.Errorf("Expiring = %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].ID != "other" || got[0].Days != tt.days || !strings.Contains(got[0].String(), tt.does) {
				t.Errorf("Expiring = %+v, want rule \"other\" after %d days saying %q", got, tt.days, tt.does)
			}
		})
	}
}
