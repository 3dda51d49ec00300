package service

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"trashd/db"
	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
)

// The files of the ops kit, from this package's directory.
const (
	alertsFile     = "../../ops/prometheus/alerts.yml"
	dashboardFile  = "../../ops/grafana/trashd.json"
	operationsFile = "../../docs/operations.md"
)

// Every metric, label and label value that the alert rules and the dashboard
// query is one trashd exposes after a real pass: a renamed metric or a
// misspelt label would otherwise leave an alert silent forever.
func TestOpsQueriesNameExposedMetrics(t *testing.T) {
	t.Parallel()
	fams := scrapeAfterPass(t)

	queries := map[string]string{}
	for _, a := range readAlerts(t) {
		queries["alert "+a.name] = a.expr
	}
	for where, expr := range dashboardExprs(t) {
		queries[where] = expr
	}
	if len(queries) < 20 {
		t.Fatalf("found %d queries in %s and %s; the files were not read as they are written", len(queries), alertsFile, dashboardFile)
	}
	for where, expr := range queries {
		for _, p := range checkQuery(fams, expr) {
			t.Errorf("%s: %s\n\t%s", where, p, expr)
		}
	}
}

// The check itself finds what it is there to find.
func TestCheckQueryFindsUnknownNames(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.backlog(db.Status{States: []db.StateCount{{State: reconcile.StatePending, Count: 1}}})
	m.s3Request("CopyObject", nil, time.Millisecond)
	fams := gatherMetrics(t, reg)
	for _, tt := range []struct {
		expr string
		want string // in the one problem; "" for none
	}{
		{`sum by (outcome) (rate(trashd_objects_total{outcome=~"failed|missing"}[5m]))`, ""},
		{`max by (state) (trashd_records{state="restore_failed"})`, ""},
		{`histogram_quantile(0.9, sum by (le) (rate(trashd_pass_duration_seconds_bucket[$__rate_interval])))`, ""},
		{`up{job="trashd"} == 0`, ""},
		{`sum(rate(trashd_object_total[5m]))`, "trashd_object_total"},
		{`trashd_records{stat="pending"}`, `label "stat"`},
		{`trashd_records{state="pendng"}`, `"pendng"`},
		{`trashd_objects_total{outcome=~"failed|mising"}`, `"mising"`},
		{`trashd_s3_requests_total{result="permanent"}`, ""},
		{`trashd_s3_requests_total{result="denied"}`, `"denied"`},
		{`sum by (outcom) (trashd_objects_total)`, `label "outcom"`},
		{`trashd_passes_total_bucket`, "trashd_passes_total_bucket"},
	} {
		got := checkQuery(fams, tt.expr)
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("%s: %v, want no problem", tt.expr, got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
			t.Errorf("%s: %v, want one problem naming %s", tt.expr, got, tt.want)
		}
	}
}

// Every alert tells the operator what to do and links a runbook section that
// exists.
func TestAlertsLinkTheirRunbook(t *testing.T) {
	t.Parallel()
	anchors := runbookAnchors(t)
	alerts := readAlerts(t)
	if len(alerts) == 0 {
		t.Fatalf("no alert in %s", alertsFile)
	}
	for _, a := range alerts {
		if len(a.description) < 60 {
			t.Errorf("%s: description %q; say what to do", a.name, a.description)
		}
		anchor, ok := strings.CutPrefix(a.runbook, "docs/operations.md#")
		if !ok || !anchors[anchor] {
			t.Errorf("%s: runbook_url %q is not a section under \"Runbook\" in docs/operations.md", a.name, a.runbook)
		}
		delete(anchors, anchor)
	}
	for anchor := range anchors {
		t.Errorf("runbook section #%s has no alert", anchor)
	}
}

// scrapeAfterPass runs one real pass over the real servers with every source
// of metrics the service has (its S3 client, its pool's statement count, the
// runner's events, the backlog, the archive and lifecycle checks), and
// scrapes them over HTTP.
func scrapeAfterPass(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	env := testworld.New(t, func(o *s3ops.Options) { o.Observe = m.s3Request })
	for i := range 3 {
		key := fmt.Sprintf("course-%d/ops.pdf", i)
		env.AddFile(t, key, testworld.Body(key, 900), true, 0)
	}
	env.AddRow(t, "course-9/never uploaded.pdf", true)

	var statements db.Statements
	countStatements(reg, &statements)
	dbOpts := env.DBOptions
	dbOpts.Statements = &statements
	pool, err := db.Open(t.Context(), dbOpts)
	testworld.Must(t, err)
	t.Cleanup(func() { pool.Close() })
	store, err := db.NewStore(t.Context(), pool, env.LMS)
	testworld.Must(t, err)
	cfg := env.Config("ops-test")
	runner, err := reconcile.NewRunner(store, env.S3, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		reconcile.WithEvents(m.object), reconcile.WithConditionsObserver(m.probed))
	testworld.Must(t, err)

	m.passStarted(reconcile.TriggerManual)
	sum, err := runner.Run(t.Context(), reconcile.TriggerManual)
	m.passFinished(sum, err)
	if err != nil || sum.Counts.Moved != 3 {
		t.Fatalf("pass: moved %d, err %v", sum.Counts.Moved, err)
	}
	st, err := store.Status(t.Context())
	testworld.Must(t, err)
	m.backlog(st)
	a, err := store.Archive(t.Context(), cfg.Archive.OverdueQuery())
	testworld.Must(t, err)
	m.archive(a)
	lc, ok := runner.Lifecycle()
	if !ok {
		t.Fatalf("the pass did not check the trash bucket's lifecycle rule")
	}
	m.lifecycle(lc)
	if statements.Load() == 0 {
		t.Fatalf("the pass sent no statement through the counting pool")
	}

	srv := httptest.NewServer(newHTTPHandler(reg, nil, nil))
	t.Cleanup(srv.Close)
	return scrapeMetrics(t, srv.URL+"/metrics")
}

// targetLabels are the labels Prometheus adds to every scraped series.
var targetLabels = []string{"instance", "job"}

// checkQuery lists what expr names that fams do not have. Metrics other
// than trashd's are Prometheus's own (up) and not checked.
func checkQuery(fams map[string]*dto.MetricFamily, expr string) []string {
	var problems []string
	refs := parsePromRefs(expr)
	var used []*dto.MetricFamily
	histogram := false
	for _, sel := range refs.selectors {
		if !strings.HasPrefix(sel.name, "trashd_") {
			continue
		}
		mf, bucket := family(fams, sel.name)
		if mf == nil {
			problems = append(problems, fmt.Sprintf("metric %s is not exposed", sel.name))
			continue
		}
		used = append(used, mf)
		histogram = histogram || bucket
		for _, mt := range sel.matchers {
			switch {
			case slices.Contains(targetLabels, mt.label):
			case mt.label == "le" && bucket:
			case len(labelValues(mf, mt.label)) == 0:
				problems = append(problems, fmt.Sprintf("%s has no label %q", sel.name, mt.label))
			default:
				problems = append(problems, unknownValues(mf, mt)...)
			}
		}
	}
	for _, l := range refs.grouping {
		if slices.Contains(targetLabels, l) || (l == "le" && histogram) {
			continue
		}
		if !slices.ContainsFunc(used, func(mf *dto.MetricFamily) bool { return len(labelValues(mf, l)) > 0 }) {
			problems = append(problems, fmt.Sprintf("no metric of the query has the label %q it groups by", l))
		}
	}
	return problems
}

// family is the family a series name belongs to: itself, or the histogram
// whose _bucket, _sum or _count it is (bucket: a _bucket series, with le).
func family(fams map[string]*dto.MetricFamily, name string) (mf *dto.MetricFamily, bucket bool) {
	if mf := fams[name]; mf != nil {
		return mf, false
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if mf := fams[base]; ok && mf != nil && mf.GetType() == dto.MetricType_HISTOGRAM {
			return mf, suffix == "_bucket"
		}
	}
	return nil, false
}

func labelValues(mf *dto.MetricFamily, label string) []string {
	var vs []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				vs = append(vs, l.GetValue())
			}
		}
	}
	return vs
}

// plainValue is a regex alternative that is a literal value.
var plainValue = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// unknownValues lists the values a matcher names that the label never takes.
// Labels whose series exist only once a value occurs (trashd_records' state:
// the states present in the table; trashd_s3_requests_total's result: the
// errors met) are known from their code; other values must have been exposed.
func unknownValues(mf *dto.MetricFamily, mt promMatcher) []string {
	values := []string{mt.value}
	if strings.HasSuffix(mt.op, "~") {
		values = strings.Split(mt.value, "|")
	}
	known := labelValues(mf, mt.label)
	switch mt.label {
	case "state":
		for _, s := range reconcile.States {
			known = append(known, string(s))
		}
	case "result":
		known = append(known, s3ops.ClassOK, s3ops.ClassNotFound, s3ops.ClassPreconditionFailed, s3ops.ClassArchived,
			s3ops.ClassTransient, s3ops.ClassPermanent, s3ops.ClassCanceled, s3ops.ClassError)
	}
	var problems []string
	for _, v := range values {
		if plainValue.MatchString(v) && !slices.Contains(known, v) {
			problems = append(problems, fmt.Sprintf("%s{%s} never has the value %q", mf.GetName(), mt.label, v))
		}
	}
	return problems
}

// dashboardExprs returns every PromQL query of the dashboard, by panel.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	testworld.Must(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("parse %s: %v", dashboardFile, err)
	}
	out := map[string]string{}
	for _, p := range dash.Panels {
		for i, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("%s: panel %q has a target without a query", dashboardFile, p.Title)
			}
			out[fmt.Sprintf("panel %q query %d", p.Title, i+1)] = tg.Expr
		}
	}
	return out
}
