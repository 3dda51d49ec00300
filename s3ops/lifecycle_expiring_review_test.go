package s3ops_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
)

// trashd copies every file into the trash bucket whatever its size; its
// rule's size filter (TRASHD_TRANSITION_MIN_SIZE) bounds only what its rule
// transitions. Another rule that expires the small copies deletes files.
func TestReviewExpiringSmallCopiesBelowTrashdSizeFilter(t *testing.T) {
	want := reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "", StorageClass: "GLACIER", TransitionDays: 30, MinSize: 1 << 20}
	other := types.LifecycleRule{ID: aws.String("small-files"), Status: types.ExpirationStatusEnabled,
		Filter:     &types.LifecycleRuleFilter{ObjectSizeLessThan: aws.Int64(1 << 20)},
		Expiration: &types.LifecycleExpiration{Days: aws.Int32(7)}}
	cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{other, s3ops.DesiredRule(want)}}
	if got := s3ops.CompareLifecycle("b", cfg, want).Expiring; len(got) == 0 {
		t.Errorf("a rule expiring every trash copy under 1 MiB after 7 days is not listed as deleting trash copies: the moves go on")
	}
}

// A rule that carries trashd's id but expires copies after 7 days (edited
// in the console, or left from an older configuration) deletes trash copies
// as surely as one with another id; in verify or off mode it is never
// repaired, and nothing stops the moves.
func TestReviewExpiringRuleWithTrashdsID(t *testing.T) {
	want := reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "", StorageClass: "GLACIER", TransitionDays: 30}
	edited := s3ops.DesiredRule(want)
	edited.Expiration = &types.LifecycleExpiration{Days: aws.Int32(7)}
	cfg := s3ops.LifecycleConfiguration{Rules: []types.LifecycleRule{edited}}
	rep := s3ops.CompareLifecycle("b", cfg, want)
	if len(rep.Expiring) == 0 {
		t.Errorf("trashd's rule edited to expire after 7 days (trashd's: never) is not listed as deleting trash copies; drift only: %q", rep.Drift)
	}
}
