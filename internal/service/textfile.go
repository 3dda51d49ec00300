package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"trashd/db"
	"trashd/reconcile"
)

// Textfile gathers the metrics of a one-shot pass (`trashd reconcile
// --textfile`) and writes them for node_exporter's textfile collector, so
// that the alerts written for the service's /metrics see timer-driven and
// manual passes too.
//
// Each run is a new process, but the alerts take increase() of counters: the
// counters and histograms of the file already there are added to this run's,
// so that they only grow, as the service's do. The last pass timestamps keep
// the later of the two (a pass that could not run must not erase the last
// success); every other gauge is this run's, or the file's where this run did
// not measure it (a pass that stopped before probing the buckets).
type Textfile struct {
	path string
	reg  *prometheus.Registry
	m    *metrics
}

// NewTextfile gathers metrics for path. statements, when set, counts what
// the run's pool sends (trashd_db_statements_total).
func NewTextfile(path string, statements *db.Statements) *Textfile {
	// Only trashd's own collectors: node_exporter exposes its own go_ and
	// process_ metrics, and a textfile repeating them is rejected.
	reg := prometheus.NewRegistry()
	t := &Textfile{path: path, reg: reg, m: newMetrics(reg)}
	if statements != nil {
		countStatements(reg, statements)
	}
	return t
}

// ObserveS3 records one S3 API operation; chain it into s3ops.Options.Observe.
func (t *Textfile) ObserveS3(op string, err error, d time.Duration) { t.m.s3Request(op, err, d) }

// Options are the runner options that feed the object and conditions
// metrics.
func (t *Textfile) Options() []reconcile.Option {
	return []reconcile.Option{reconcile.WithEvents(t.m.object), reconcile.WithConditionsObserver(t.m.probed)}
}

// PassStarted records the start of the pass.
func (t *Textfile) PassStarted(trigger reconcile.Trigger) { t.m.passStarted(trigger) }

// PassFinished records how the pass ended, from what Wait returned.
func (t *Textfile) PassFinished(s reconcile.Summary, err error) { t.m.passFinished(s, err) }

// Write reads the backlog and the archive status from the database and the
// runner's last lifecycle check, merges the metrics with those of the file
// already at the path, and replaces it atomically: a temporary file in the
// same directory, renamed over it, so that node_exporter never reads half a
// file. A snapshot that cannot be read is left out, not fatal: the pass's
// own counts are what matter most.
func (t *Textfile) Write(ctx context.Context, store *db.Store, runner *reconcile.Runner, q reconcile.ArchiveQuery) error {
	var errs []error
	if st, err := store.Status(ctx); err == nil {
		t.m.backlog(st)
	} else {
		errs = append(errs, fmt.Errorf("read the backlog: %w", err))
	}
	if a, err := store.Archive(ctx, q); err == nil {
		t.m.archive(a)
	} else {
		errs = append(errs, fmt.Errorf("read the archive status: %w", err))
	}
	if lc, ok := runner.Lifecycle(); ok {
		t.m.lifecycle(lc)
	}
	now, err := t.reg.Gather()
	if err != nil {
		return fmt.Errorf("gather the metrics: %w", err)
	}
	prev, err := readTextfile(t.path)
	if err != nil {
		// A file we cannot read is replaced: losing its counters resets
		// them, which increase() handles, while keeping it would stop
		// every later run from writing.
		errs = append(errs, fmt.Errorf("%w (replaced; its counters start again)", err))
		prev = nil
	}
	merged := mergeFamilies(prev, now)
	if err := prometheus.WriteToTextfile(t.path, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return merged, nil
	})); err != nil {
		return fmt.Errorf("write the metrics to %s: %w", t.path, err)
	}
	return errors.Join(errs...)
}

// readTextfile parses the file a previous run wrote; none is no error.
func readTextfile(path string) (map[string]*dto.MetricFamily, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the previous metrics in %s: %w", path, err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return nil, fmt.Errorf("parse the previous metrics in %s: %w", path, err)
	}
	return fams, nil
}
