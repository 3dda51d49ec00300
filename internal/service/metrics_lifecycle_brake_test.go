package service

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/prometheus/client_golang/prometheus"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// A real pass whose moves a lifecycle rule that deletes trash copies
// stopped counts as a trip of the lifecycle brake, not of the mass-change
// brake.
func TestMetricsLifecycleBrake(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	env := testworld.New(t)
	env.AddFile(t, "course-1/slides.pdf", testworld.Body("slides", 700), true, 0)
	_, err := env.SDK.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket: aws.String(env.Trash),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("expire-weekly"), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(7)},
		}}},
	})
	testworld.Must(t, err)
	m.passStarted(reconcile.TriggerManual)
	sum, err := env.Runner(t, env.Config("lifecycle-metrics-test")).Run(t.Context(), reconcile.TriggerManual)
	m.passFinished(sum, err)
	if !errors.Is(err, reconcile.ErrLifecycleConflict) {
		t.Fatalf("pass with an expiring rule on the trash bucket: err %v, want the moves stopped", err)
	}
	got := gatherMetrics(t, reg)
	for brake, want := range map[string]float64{"lifecycle": 1, "mass_change": 0, "outage": 0} {
		if v := seriesValue(t, got, "trashd_brake_trips_total", "brake", brake); v != want {
			t.Errorf("trashd_brake_trips_total{brake=%q} = %v, want %v", brake, v, want)
		}
	}
	env.CheckInvariant(t)
}
