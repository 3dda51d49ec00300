package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"trashd/internal/testworld"
)

// `trashd reconcile --textfile` leaves node_exporter a file of the pass's
// metrics that parses and holds its counts; a second run adds to them; a
// braked run is in it too.
func TestReconcileTextfile(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	vars := env.Vars()
	for i := range 3 {
		key := fmt.Sprintf("course-%d/textfile.pdf", i)
		env.AddFile(t, key, testworld.Body(key, 1500+i), true, 0)
	}
	env.AddFile(t, "course-9/kept.pdf", testworld.Body("kept", 700), false, 0)
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatalf("migrate: exit %d\n%s", r.code, r.stderr)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "trashd.prom")

	r := trashd(t, vars, "reconcile", "--textfile", path)
	if r.code != 0 {
		t.Fatalf("reconcile --textfile: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	checkProm(t, path, map[string]float64{
		`trashd_objects_total{outcome="moved"}`:                        3,
		`trashd_passes_total{status="ok"}`:                             1,
		`trashd_passes_started_total{trigger="manual"}`:                1,
		`trashd_records{state="in_trash"}`:                             3,
		`trashd_brake_trips_total{brake="mass_change"}`:                0,
		`trashd_s3_requests_total{operation="CopyObject",result="ok"}`: 3,
	})

	// Two more trashed files against a brake of one: the run stops, and
	// the file says so on top of the first run's counts.
	for i := range 2 {
		key := fmt.Sprintf("course-%d/braked.pdf", i)
		env.AddFile(t, key, testworld.Body(key, 900), true, 0)
	}
	braked := trashd(t, with(vars, "TRASHD_MASS_CHANGE_COUNT=1", "TRASHD_MASS_CHANGE_SHARE=0.01"), "reconcile", "--textfile", path)
	if braked.code != 1 || !strings.Contains(braked.stderr, "mass change") {
		t.Fatalf("reconcile over the brake: exit %d, want 1 and the brake\n%s\n%s", braked.code, braked.stdout, braked.stderr)
	}
	checkProm(t, path, map[string]float64{
		`trashd_objects_total{outcome="moved"}`:         3,
		`trashd_passes_total{status="ok"}`:              1,
		`trashd_passes_total{status="error"}`:           1,
		`trashd_passes_started_total{trigger="manual"}`: 2,
		`trashd_brake_trips_total{brake="mass_change"}`: 1,
	})
	entries, err := os.ReadDir(dir)
	testworld.Must(t, err)
	if len(entries) != 1 {
		t.Errorf("%s holds %d files, want only trashd.prom (the temporary file renamed over it)", dir, len(entries))
	}

	if r := trashd(t, vars, "reconcile", "--dry-run", "--textfile", path); r.code != 2 || !strings.Contains(r.stderr, "--textfile") {
		t.Errorf("reconcile --dry-run --textfile: exit %d, want 2 naming --textfile\n%s", r.code, r.stderr)
	}
	// A directory that does not exist: the pass runs, and the exit says
	// the metrics were not written.
	missing := filepath.Join(dir, "no such dir", "trashd.prom")
	if r := trashd(t, vars, "reconcile", "--allow-mass-change", "--textfile", missing); r.code != 1 || !strings.Contains(r.stderr, "textfile") {
		t.Errorf("reconcile --textfile into a missing directory: exit %d, want 1 naming the textfile\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	env.CheckInvariant(t)
}

// checkProm parses the text format at path and compares the series given as
// name{label="value",...}.
func checkProm(t *testing.T, path string, want map[string]float64) {
	t.Helper()
	f, err := os.Open(path)
	testworld.Must(t, err)
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	got := map[string]float64{}
	for name, mf := range fams {
		if !strings.HasPrefix(name, "trashd_") {
			t.Errorf("%s has %s: node_exporter refuses a textfile with its own metrics", path, name)
		}
		for _, m := range mf.GetMetric() {
			got[seriesName(name, m)] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for series, v := range want {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s: %s = %v (present %v), want %v", path, series, g, ok, v)
		}
	}
}

func seriesName(name string, m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return name
	}
	var pairs []string
	for _, l := range m.GetLabel() { // the parser sorts them by name
		pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return name + "{" + strings.Join(pairs, ",") + "}"
}
