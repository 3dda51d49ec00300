package service

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"trashd/db"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
)

// Two one-shot passes over the real servers, each a new Textfile as each run
// of `trashd reconcile --textfile` is a new process: the file parses as the
// text format after each, holds the pass's counts, and its counters only
// grow, so that the alerts' increase() sees every run.
func TestTextfileAfterPasses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "trashd.prom")

	var tf *Textfile
	env := testworld.New(t, func(o *s3ops.Options) {
		o.Observe = func(op string, err error, d time.Duration) { tf.ObserveS3(op, err, d) }
	})
	pass := func(files int) reconcile.Summary {
		t.Helper()
		var statements db.Statements
		tf = NewTextfile(path, &statements)
		for i := range files {
			key := fmt.Sprintf("run-%d/file-%d.pdf", files, i)
			env.AddFile(t, key, testworld.Body(key, 800+i), true, 0)
		}
		runner := env.Runner(t, env.Config("textfile-test"), tf.Options()...)
		tf.PassStarted(reconcile.TriggerManual)
		sum, err := runner.Run(t.Context(), reconcile.TriggerManual)
		tf.PassFinished(sum, err)
		if err != nil {
			t.Fatalf("pass: %v", err)
		}
		if err := tf.Write(t.Context(), env.Store, runner, env.Config("").Archive.OverdueQuery()); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return sum
	}

	first := pass(4)
	got := readProm(t, path)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"trashd_objects_total", []string{"outcome", "moved"}, 4},
		{"trashd_passes_total", []string{"status", "ok"}, 1},
		{"trashd_passes_started_total", []string{"trigger", "manual"}, 1},
		{"trashd_moved_bytes_total", nil, float64(first.Counts.Bytes)},
		{"trashd_records", []string{"state", "in_trash"}, 4},
		{"trashd_s3_requests_total", []string{"operation", "CopyObject", "result", "ok"}, 4},
	} {
		if v := seriesValue(t, got, c.name, c.labels...); v != c.want {
			t.Errorf("after the first pass: %s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	success := seriesValue(t, got, "trashd_last_pass_success_timestamp_seconds")
	if success <= 0 {
		t.Errorf("trashd_last_pass_success_timestamp_seconds = %v after a pass that ran", success)
	}
	for name := range got {
		if !isTrashd(name) {
			t.Errorf("%s is in the textfile: node_exporter exposes its own and refuses the file", name)
		}
	}

	// The second run adds to the counters of the first and replaces the
	// gauges, through a new file renamed over the old one (node_exporter
	// may read the old at any moment: writing it in place would show it
	// half written); nothing is left of the temporary file.
	before, err := os.Stat(path)
	testworld.Must(t, err)
	pass(2)
	after, err := os.Stat(path)
	testworld.Must(t, err)
	if os.SameFile(before, after) {
		t.Errorf("%s was rewritten in place, not replaced by a rename", path)
	}
	got = readProm(t, path)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"trashd_objects_total", []string{"outcome", "moved"}, 6},
		{"trashd_passes_total", []string{"status", "ok"}, 2},
		{"trashd_records", []string{"state", "in_trash"}, 6},
	} {
		if v := seriesValue(t, got, c.name, c.labels...); v != c.want {
			t.Errorf("after the second pass: %s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	if n := histogramCount(t, got, "trashd_pass_duration_seconds", "status", "ok"); n != 2 {
		t.Errorf("trashd_pass_duration_seconds{status=ok} count = %d after two passes, want 2", n)
	}
	if v := seriesValue(t, got, "trashd_last_pass_success_timestamp_seconds"); v < success {
		t.Errorf("the last success went back from %v to %v", success, v)
	}
	entries, err := os.ReadDir(dir)
	testworld.Must(t, err)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files after two writes, want only trashd.prom", len(entries))
	}
	env.CheckInvariant(t)
}

// A run that could not pass keeps the last success of the file, and its
// error counts on top of the earlier passes.
func TestTextfileKeepsLastSuccess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "trashd.prom")
	testworld.Must(t, os.WriteFile(path, []byte(
		"# TYPE trashd_last_pass_success_timestamp_seconds gauge\ntrashd_last_pass_success_timestamp_seconds 1.7e9\n"+
			"# TYPE trashd_passes_total counter\ntrashd_passes_total{status=\"ok\"} 5\ntrashd_passes_total{status=\"error\"} 1\n"+
			"# TYPE trashd_s3_condition_honoured gauge\ntrashd_s3_condition_honoured{bucket=\"lms\",condition=\"delete_if_match\"} 1\n"), 0o644))
	prev, err := readTextfile(path)
	testworld.Must(t, err)
	tf := NewTextfile(path, nil)
	tf.PassStarted(reconcile.TriggerManual)
	tf.PassFinished(reconcile.Summary{Status: reconcile.RunError}, fmt.Errorf("check bucket: %w", reconcile.ErrPermanent))
	now, err := tf.reg.Gather()
	testworld.Must(t, err)
	got := map[string]*dto.MetricFamily{}
	for _, mf := range mergeFamilies(prev, now) {
		got[mf.GetName()] = mf
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"trashd_last_pass_success_timestamp_seconds", nil, 1.7e9},
		{"trashd_passes_total", []string{"status", "ok"}, 5},
		{"trashd_passes_total", []string{"status", "error"}, 2},
		// Not probed by this run: the last answer stands.
		{"trashd_s3_condition_honoured", []string{"bucket", "lms", "condition", "delete_if_match"}, 1},
	} {
		if v := seriesValue(t, got, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
}

func readProm(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	testworld.Must(t, err)
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return fams
}

func isTrashd(name string) bool { return len(name) > 7 && name[:7] == "trashd_" }
