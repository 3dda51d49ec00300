package service

import (
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"trashd/internal/testworld"
	"trashd/reconcile"
)

// A real pass stopped by the mass-change brake shows as a brake trip, not
// only as a pass with status error: an operator must know that a decision is
// waiting, not a server.
func TestMetricsBrakeTripped(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	env := testworld.New(t)
	for i := range 5 {
		key := fmt.Sprintf("course-%d/slides.pdf", i)
		env.AddFile(t, key, testworld.Body(key, 700), true, 0)
	}
	env.AddFile(t, "course-9/kept.pdf", testworld.Body("kept", 500), false, 0)

	cfg := env.Config("brake-metrics-test")
	cfg.Mass = reconcile.MassLimits{Count: 2, Share: 0.1}
	m.passStarted(reconcile.TriggerManual)
	sum, err := env.Runner(t, cfg).Run(t.Context(), reconcile.TriggerManual)
	m.passFinished(sum, err)
	if !errors.Is(err, reconcile.ErrMassChange) {
		t.Fatalf("pass over 5 of 6 rows trashed with a brake at 2: err %v, want the mass-change brake", err)
	}
	if got := env.States(t); len(got) != 0 {
		t.Fatalf("the braked pass recorded %v", got)
	}

	got := gatherMetrics(t, reg)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"brake", "mass_change"}, 1},
		{[]string{"brake", "outage"}, 0},
	} {
		if v := seriesValue(t, got, "trashd_brake_trips_total", c.labels...); v != c.want {
			t.Errorf("trashd_brake_trips_total%v = %v, want %v", c.labels, v, c.want)
		}
	}
	if v := seriesValue(t, got, "trashd_passes_total", "status", "error"); v != 1 {
		t.Errorf("trashd_passes_total{status=error} = %v, want 1", v)
	}

	// The same registry after a pass the brake lets through: no new trip.
	cfg.Mass.Allow = true
	sum, err = env.Runner(t, cfg).Run(t.Context(), reconcile.TriggerManual)
	m.passFinished(sum, err)
	if err != nil || sum.Counts.Moved != 5 {
		t.Fatalf("pass allowed through the brake: moved %d, err %v", sum.Counts.Moved, err)
	}
	got = gatherMetrics(t, reg)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"brake", "mass_change"}, 1},
		{[]string{"brake", "outage"}, 0},
	} {
		if v := seriesValue(t, got, "trashd_brake_trips_total", c.labels...); v != c.want {
			t.Errorf("trashd_brake_trips_total%v after a pass let through = %v, want %v", c.labels, v, c.want)
		}
	}
	env.CheckInvariant(t)
}

// The outage brake (S3 failing as a whole) is told apart from the
// mass-change brake by the error the pass returns.
func TestMetricsBrakeOutage(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.passFinished(reconcile.Summary{Status: reconcile.RunError}, fmt.Errorf("move: %w: 12 transient errors in a row", reconcile.ErrOutage))
	got := gatherMetrics(t, reg)
	if v := seriesValue(t, got, "trashd_brake_trips_total", "brake", "outage"); v != 1 {
		t.Errorf("trashd_brake_trips_total{brake=outage} = %v, want 1", v)
	}
	if v := seriesValue(t, got, "trashd_brake_trips_total", "brake", "mass_change"); v != 0 {
		t.Errorf("trashd_brake_trips_total{brake=mass_change} = %v, want 0", v)
	}
}
