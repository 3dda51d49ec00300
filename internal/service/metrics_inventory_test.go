package service

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// trashd_inventory_age_seconds is absent until a report is read, then the
// age of the newest report read of each bucket at the scrape: it grows
// while no newer report comes.
func TestMetricsInventoryAge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	ages := newInventoryAges(reg, func() time.Time { return now })
	age := func(bucket string) (float64, bool) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "trashd_inventory_age_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == bucket {
					return m.GetGauge().GetValue(), true
				}
			}
		}
		return 0, false
	}
	if _, ok := age("lms-trash"); ok {
		t.Error("the age is exposed before any report was read")
	}
	ages.read("lms-trash", now.Add(-3*time.Hour))
	if v, ok := age("lms-trash"); !ok || v != 3*3600 {
		t.Errorf("age after a report of 3 h ago: %v (%v), want 10800", v, ok)
	}
	now = now.Add(time.Hour)
	if v, _ := age("lms-trash"); v != 4*3600 {
		t.Errorf("age an hour later: %v, want 14400", v)
	}
	ages.read("lms-trash", now.Add(-time.Minute))
	if v, _ := age("lms-trash"); v != 60 {
		t.Errorf("age after a newer report: %v, want 60", v)
	}
}
