package service

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"trashd/db"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
)

// A real pass over real servers, scraped over HTTP: the metrics say what the
// pass did.
func TestMetricsAfterPass(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	env := testworld.New(t, func(o *s3ops.Options) { o.Observe = m.s3Request })

	var moved int64
	for i := range 5 {
		key := fmt.Sprintf("course-%d/notes %d.pdf", i, i)
		body := testworld.Body(key, 1000+100*i)
		env.AddFile(t, key, body, true, 0)
		moved += int64(len(body))
	}
	env.AddFile(t, "course-9/kept.pdf", testworld.Body("kept", 500), false, 0)
	env.AddRow(t, "course-9/never uploaded.pdf", true)

	before := time.Now()
	m.passStarted(reconcile.TriggerManual)
	sum, err := env.Runner(t, env.Config("metrics-test"), reconcile.WithEvents(m.object), reconcile.WithConditionsObserver(m.probed)).Run(t.Context(), reconcile.TriggerManual)
	m.passFinished(sum, err)
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	st, err := env.Store.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	m.backlog(st)
	after := time.Now()
	env.CheckInvariant(t)

	srv := httptest.NewServer(newHTTPHandler(reg, nil, nil))
	t.Cleanup(srv.Close)
	got := scrapeMetrics(t, srv.URL+"/metrics")

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"trashd_passes_started_total", []string{"trigger", "manual"}, 1},
		{"trashd_passes_started_total", []string{"trigger", "schedule"}, 0},
		{"trashd_passes_total", []string{"status", "ok"}, 1},
		{"trashd_passes_total", []string{"status", "error"}, 0},
		{"trashd_objects_total", []string{"outcome", "moved"}, 5},
		{"trashd_objects_total", []string{"outcome", "missing"}, 1},
		{"trashd_objects_total", []string{"outcome", "failed"}, 0},
		{"trashd_objects_total", []string{"outcome", "retrying"}, 0},
		{"trashd_moved_bytes_total", nil, float64(moved)},
		{"trashd_leases_lost_total", nil, 0},
		{"trashd_verification_mismatches_total", nil, 0},
		{"trashd_records", []string{"state", "in_trash"}, 5},
		{"trashd_records", []string{"state", "missing"}, 1},
		{"trashd_records", []string{"state", "pending"}, 0},
		{"trashd_record_bytes", []string{"state", "in_trash"}, float64(moved)},
		{"trashd_oldest_pending_timestamp_seconds", nil, 0},
		{"trashd_records_due", nil, 0},
		{"trashd_records_backing_off", nil, 0},
		{"trashd_records_leased", nil, 0},
		// The preflight checks both buckets; each file is copied unread in
		// one request, the copies' answers the proof (the buckets honour
		// the conditions that takes), and the five sources deleted in one
		// DeleteObjects; the transition check then reads each copy once,
		// which gives the sizes (and the bytes moved) the answers did not.
		// The source bucket and the trash bucket are each probed once for
		// the conditions a move relies on (s3ops' ProbeConditions: 17
		// requests on a server that honours them all: two puts, the five
		// refused requests, four HEADs of objects still there and one of a
		// copy that must not exist, a copy in parts created, copied,
		// refused and aborted, a listing and one DeleteObjects to clean
		// up). The missing row's copy is refused (not found), and the move
		// alone HEADs its source, looks at the trash key its life renders
		// (a copy may be there though nothing records it) and once more at
		// the source (missing is terminal: recorded after a second look).
		{"trashd_s3_requests_total", []string{"operation", "HeadBucket", "result", "ok"}, 3}, // both buckets, then the source bucket of the missing row
		{"trashd_s3_requests_total", []string{"operation", "HeadObject", "result", "ok"}, 5 + 2*4},
		{"trashd_s3_requests_total", []string{"operation", "HeadObject", "result", "not_found"}, 3 + 2*1},
		{"trashd_s3_requests_total", []string{"operation", "CopyObject", "result", "ok"}, 5},
		{"trashd_s3_requests_total", []string{"operation", "CopyObject", "result", "not_found"}, 1},
		{"trashd_s3_requests_total", []string{"operation", "PutObject", "result", "ok"}, 2 * 2},
		{"trashd_s3_requests_total", []string{"operation", "DeleteObjects", "result", "ok"}, 1 + 2*2},
	} {
		if v := seriesValue(t, got, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	if n := histogramCount(t, got, "trashd_s3_request_duration_seconds", "operation", "CopyObject"); n != 6+2*2 {
		t.Errorf("trashd_s3_request_duration_seconds{operation=CopyObject} count = %d, want 6 and the probes' 4", n)
	}
	if n := histogramCount(t, got, "trashd_s3_request_duration_seconds", "operation", "HeadObject"); n != 8+2*5 {
		t.Errorf("trashd_s3_request_duration_seconds{operation=HeadObject} count = %d, want 8 and the probes' 10", n)
	}
	if n := histogramCount(t, got, "trashd_pass_duration_seconds", "status", "ok"); n != 1 {
		t.Errorf("trashd_pass_duration_seconds{status=ok} count = %d, want 1", n)
	}
	for _, name := range []string{"trashd_last_pass_start_timestamp_seconds", "trashd_last_pass_success_timestamp_seconds"} {
		ts := seriesValue(t, got, name)
		if ts < float64(before.UnixNano())/1e9 || ts > float64(after.UnixNano())/1e9 {
			t.Errorf("%s = %v, want between %v and %v", name, ts, before, after)
		}
	}

	// Both buckets were probed: SeaweedFS honours every condition.
	for _, bucket := range []string{env.Trash, env.Source} {
		for _, cond := range reconcile.Conditions() {
			if v := seriesValue(t, got, "trashd_s3_condition_honoured", "bucket", bucket, "condition", string(cond)); v != 1 {
				t.Errorf("trashd_s3_condition_honoured{bucket=%s, condition=%s} = %v, want 1", bucket, cond, v)
			}
		}
		if ts := seriesValue(t, got, "trashd_s3_conditions_probe_timestamp_seconds", "bucket", bucket); ts < float64(before.UnixNano())/1e9 {
			t.Errorf("%s probed at %v, before the pass began", bucket, ts)
		}
	}

	// Every metric is there with its type and a help text.
	for name, typ := range map[string]dto.MetricType{
		"trashd_last_pass_start_timestamp_seconds":   dto.MetricType_GAUGE,
		"trashd_last_pass_success_timestamp_seconds": dto.MetricType_GAUGE,
		"trashd_pass_duration_seconds":               dto.MetricType_HISTOGRAM,
		"trashd_passes_started_total":                dto.MetricType_COUNTER,
		"trashd_passes_total":                        dto.MetricType_COUNTER,
		"trashd_objects_total":                       dto.MetricType_COUNTER,
		"trashd_moved_bytes_total":                   dto.MetricType_COUNTER,
		"trashd_leases_lost_total":                   dto.MetricType_COUNTER,
		"trashd_verification_mismatches_total":       dto.MetricType_COUNTER,
		"trashd_s3_requests_total":                   dto.MetricType_COUNTER,
		"trashd_s3_request_duration_seconds":         dto.MetricType_HISTOGRAM,
		"trashd_records":                             dto.MetricType_GAUGE,
		"trashd_record_bytes":                        dto.MetricType_GAUGE,
		"trashd_oldest_pending_timestamp_seconds":    dto.MetricType_GAUGE,
		"trashd_records_due":                         dto.MetricType_GAUGE,
		"trashd_records_backing_off":                 dto.MetricType_GAUGE,
		"trashd_records_leased":                      dto.MetricType_GAUGE,
	} {
		mf, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s is not exposed", name)
		case mf.GetType() != typ:
			t.Errorf("%s is a %s, want a %s", name, mf.GetType(), typ)
		case len(mf.GetHelp()) < 20:
			t.Errorf("%s has help %q; say what an operator reads from it", name, mf.GetHelp())
		}
	}
}

func TestMetricsPassFinished(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  reconcile.RunStatus
		err     error
		label   string
		success bool
	}{
		{"ok", reconcile.RunOK, nil, "ok", true},
		// The pass ran; the failed objects have their own counter.
		{"some objects failed", reconcile.RunFailed, nil, "failed", true},
		{"interrupted by shutdown", reconcile.RunInterrupted, nil, "interrupted", false},
		{"could not run", reconcile.RunError, errors.New("check bucket"), "error", false},
		// Run returns "running" when it could not record the run's start.
		{"could not start", reconcile.RunRunning, errors.New("record the start of a run"), "error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			m := newMetrics(reg)
			m.passFinished(reconcile.Summary{Status: tt.status, Started: time.Now().Add(-time.Minute), Duration: 42 * time.Second}, tt.err)
			got := gatherMetrics(t, reg)
			for _, s := range passStatuses {
				want := 0.0
				if string(s) == tt.label {
					want = 1
				}
				if v := seriesValue(t, got, "trashd_passes_total", "status", string(s)); v != want {
					t.Errorf("trashd_passes_total{status=%s} = %v, want %v", s, v, want)
				}
			}
			if n := histogramCount(t, got, "trashd_pass_duration_seconds", "status", tt.label); n != 1 {
				t.Errorf("trashd_pass_duration_seconds{status=%s} count = %d, want 1", tt.label, n)
			}
			if success := seriesValue(t, got, "trashd_last_pass_success_timestamp_seconds") > 0; success != tt.success {
				t.Errorf("last success timestamp set = %v, want %v", success, tt.success)
			}
		})
	}
}

func TestMetricsObjectErrors(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.object(reconcile.Event{Outcome: reconcile.OutcomeInterrupted, Err: fmt.Errorf("renew the lease: %w", reconcile.ErrLeaseLost)})
	m.object(reconcile.Event{Outcome: reconcile.OutcomeFailed, Err: fmt.Errorf("read back the copy: %w", reconcile.ErrVerify)})
	m.object(reconcile.Event{Outcome: reconcile.OutcomeRetrying, Err: reconcile.ErrTransient})
	m.object(reconcile.Event{Outcome: reconcile.OutcomeMoved, Bytes: 1234})

	got := gatherMetrics(t, reg)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"trashd_leases_lost_total", nil, 1},
		{"trashd_verification_mismatches_total", nil, 1},
		{"trashd_objects_total", []string{"outcome", "interrupted"}, 1},
		{"trashd_objects_total", []string{"outcome", "failed"}, 1},
		{"trashd_objects_total", []string{"outcome", "retrying"}, 1},
		{"trashd_objects_total", []string{"outcome", "moved"}, 1},
		{"trashd_moved_bytes_total", nil, 1234},
	} {
		if v := seriesValue(t, got, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
}

func TestMetricsBacklog(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	oldest := time.Date(2025, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	m.backlog(db.Status{
		States: []db.StateCount{
			{State: reconcile.StatePending, Count: 7, Bytes: 700},
			{State: reconcile.StateInTrash, Count: 3, Bytes: 300},
			{State: "from_the_future", Count: 1},
		},
		OldestPending: oldest,
		Due:           4, AwaitingRetry: 2, Leased: 1,
	})
	got := gatherMetrics(t, reg)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"trashd_records", []string{"state", "pending"}, 7},
		{"trashd_record_bytes", []string{"state", "pending"}, 700},
		{"trashd_records", []string{"state", "in_trash"}, 3},
		{"trashd_records", []string{"state", "from_the_future"}, 1},
		{"trashd_oldest_pending_timestamp_seconds", nil, 1740830400.5},
		{"trashd_records_due", nil, 4},
		{"trashd_records_backing_off", nil, 2},
		{"trashd_records_leased", nil, 1},
	} {
		if v := seriesValue(t, got, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}

	// The next snapshot has no pending record and no unknown state: the
	// timestamp drops to 0 and the unknown state's series goes.
	m.backlog(db.Status{States: []db.StateCount{{State: reconcile.StateInTrash, Count: 10, Bytes: 1000}}})
	got = gatherMetrics(t, reg)
	if v := seriesValue(t, got, "trashd_oldest_pending_timestamp_seconds"); v != 0 {
		t.Errorf("oldest pending with none pending = %v, want 0", v)
	}
	if v := seriesValue(t, got, "trashd_records", "state", "in_trash"); v != 10 {
		t.Errorf("trashd_records{state=in_trash} = %v, want 10", v)
	}
	if findSeries(got, "trashd_records", "state", "from_the_future") != nil {
		t.Errorf("trashd_records{state=from_the_future} is still exposed after the state went")
	}
}

// NewRegistry carries the Go and process collectors beside trashd's own
// without a clash.
func TestMetricsRegistry(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	newMetrics(reg)
	srv := httptest.NewServer(newHTTPHandler(reg, nil, nil))
	t.Cleanup(srv.Close)
	got := scrapeMetrics(t, srv.URL+"/metrics")
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "trashd_passes_total"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s is not exposed", name)
		}
	}
}

// scrapeMetrics GETs url and parses the Prometheus text format.
func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape %s: Content-Type %q, want the text format", url, ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the scrape of %s: %v", url, err)
	}
	return fams
}

// gatherMetrics collects reg directly, for tests about values rather than serving.
func gatherMetrics(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	list, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	fams := make(map[string]*dto.MetricFamily, len(list))
	for _, mf := range list {
		fams[mf.GetName()] = mf
	}
	return fams
}

// findSeries returns the series of name with exactly the label pairs given, or nil.
func findSeries(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	mf := fams[name]
	if mf == nil {
		return nil
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				match = false
				break
			}
		}
		if match {
			return m
		}
	}
	return nil
}

// seriesValue is the value of a counter or gauge series, failing t when there is
// no such series.
func seriesValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := findSeries(fams, name, labels...)
	switch {
	case m == nil:
		t.Errorf("no series %s%v", name, labels)
		return -1
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	t.Errorf("%s%v is neither a counter nor a gauge", name, labels)
	return -1
}

// histogramCount is the number of observations of a histogram series.
func histogramCount(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) uint64 {
	t.Helper()
	m := findSeries(fams, name, labels...)
	if m == nil || m.Histogram == nil {
		t.Errorf("no histogram series %s%v", name, labels)
		return 0
	}
	return m.GetHistogram().GetSampleCount()
}
