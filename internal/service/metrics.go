package service

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"trashd/db"
	"trashd/reconcile"
	"trashd/s3ops"
)

// metrics are trashd's Prometheus collectors. They follow Prometheus's
// guidance for batch jobs: a pass is a batch, so the alerts that matter are
// built on timestamps ("no successful pass for 2 hours":
// time() - trashd_last_pass_success_timestamp_seconds > 7200), not on
// whether the process is up.
//
// Every method is safe for concurrent use; object and s3Request are called
// from the runner's workers.
type metrics struct {
	passesStarted   *prometheus.CounterVec
	lastPassStart   prometheus.Gauge
	lastPassSuccess prometheus.Gauge
	passDuration    *prometheus.HistogramVec
	passes          *prometheus.CounterVec
	brakeTrips      *prometheus.CounterVec

	objects          *prometheus.CounterVec
	movedBytes       prometheus.Counter
	leasesLost       prometheus.Counter
	verifyMismatches prometheus.Counter

	s3Requests *prometheus.CounterVec
	s3Duration *prometheus.HistogramVec

	records       *prometheus.GaugeVec
	recordBytes   *prometheus.GaugeVec
	oldestPending prometheus.Gauge
	due           prometheus.Gauge
	backingOff    prometheus.Gauge
	leased        prometheus.Gauge

	lifecycleInPlace *prometheus.GaugeVec // no labels: absent until the first check
	overdue          prometheus.Gauge
	ineligible       prometheus.Gauge
	classBytes       *prometheus.GaugeVec

	conditions      *prometheus.GaugeVec
	conditionsProbe *prometheus.GaugeVec

	mu          sync.Mutex
	stateLabels map[string]bool // states backlog last reported, to drop those gone
}

// The values of trashd_brake_trips_total's brake label.
const (
	brakeMassChange = "mass_change"
	brakeOutage     = "outage"
	// brakeLifecycle: another lifecycle rule on the trash bucket deletes
	// trash copies, and no file moves until it is gone.
	brakeLifecycle = "lifecycle"
)

// passStatuses are the values of the status label: reconcile's end states
// of a pass (never "running").
var passStatuses = []reconcile.RunStatus{reconcile.RunOK, reconcile.RunFailed, reconcile.RunInterrupted, reconcile.RunError}

// newMetrics creates trashd's collectors and registers them with reg. It
// registers only trashd's own metrics: the Go runtime and process collectors
// belong to whoever owns the registry (NewRegistry adds them), so that tests
// can build several metrics side by side.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		passesStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trashd_passes_started_total",
			Help: "Passes started, by what started them: schedule, manual (trashd trigger) or startup.",
		}, []string{"trigger"}),
		lastPassStart: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trashd_last_pass_start_timestamp_seconds",
			Help: "When the last pass on this instance started (Unix time). Later than the last success while a pass runs, or when passes keep failing to run.",
		}),
		lastPassSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trashd_last_pass_success_timestamp_seconds",
			Help: "When the last pass on this instance that ran to its end finished (Unix time; 0 before the first). " +
				"A pass in which some objects failed still counts: alert on time() minus this to learn that trashd has stopped working, " +
				"and on trashd_objects_total{outcome=\"failed\"} for objects that need attention.",
		}),
		passDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trashd_pass_duration_seconds",
			Help:    "How long passes took, by how they ended. A pass that grows toward the schedule interval is falling behind.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400},
		}, []string{"status"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trashd_passes_total",
			Help: "Passes finished, by status: ok, failed (some objects were recorded failed), interrupted (shutdown) or error (the pass could not run: a bucket or the database).",
		}, []string{"status"}),
		brakeTrips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trashd_brake_trips_total",
			Help: "Passes a brake stopped, by brake: mass_change (far more discoveries, restores or orphanings than a normal day, or many missing sources in a row: nothing was changed) " +
				"or outage (S3 failing as a whole: the pass stopped claiming). Each is also a pass with status error; the log and `trashd reconcile --dry-run` say which numbers tripped it.",
		}, []string{"brake"}),

		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trashd_objects_total",
			Help: "Object outcomes: moved to the trash bucket, missing (source gone, no copy), failed (needs an operator; see trashd status), " +
				"retrying (transient error, tried again later) or interrupted. An object retried within a pass counts once per outcome.",
		}, []string{"outcome"}),
		movedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trashd_moved_bytes_total",
			Help: "Bytes of objects moved into the trash bucket (an object moved by its copy's answer alone counts once the transition check has read its size).",
		}),
		leasesLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trashd_leases_lost_total",
			Help: "Objects this instance stopped working on because its lease expired and another instance took over. " +
				"Steady increase: the lease is too short for the copies, or the database is too slow to renew it.",
		}),
		verifyMismatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trashd_verification_mismatches_total",
			Help: "Copies in the trash bucket whose size or checksum did not match the source. The source was kept; any increase needs investigating.",
		}),

		s3Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trashd_s3_requests_total",
			Help: "S3 API operations (SDK retries included in one), by operation and result: ok, not_found, precondition_failed, archived, " +
				"transient (left after the SDK's retries), permanent (credentials, permissions, a missing bucket), canceled (shutdown) or error.",
		}, []string{"operation", "result"}),
		s3Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trashd_s3_request_duration_seconds",
			Help:    "Duration of S3 API operations, SDK retries and their backoff included, by operation.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"operation"}),

		records: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trashd_records",
			Help: "trashd's records by state, across all instances (from the database). pending and copied are the backlog; failed and missing need an operator.",
		}, []string{"state"}),
		recordBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trashd_record_bytes",
			Help: "Total size of trashd's records by state (from the database). A pending record's size is known once its source was read, so pending undercounts.",
		}, []string{"state"}),
		oldestPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trashd_oldest_pending_timestamp_seconds",
			Help: "When the oldest record not yet moved (pending or copied) was discovered (Unix time, database clock); 0 when there is none. " +
				"time() minus this is how long the backlog has waited.",
		}),
		due: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trashd_records_due",
			Help: "Records not yet moved that a pass would claim now (due and not leased).",
		}),
		backingOff: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trashd_records_backing_off",
			Help: "Records not yet moved that wait for a later attempt after a transient error.",
		}),
		leased: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trashd_records_leased",
			Help: "Records under an unexpired lease: being worked on now, by any instance.",
		}),
		stateLabels: map[string]bool{},
	}
	reg.MustRegister(
		m.passesStarted, m.lastPassStart, m.lastPassSuccess, m.passDuration, m.passes, m.brakeTrips,
		m.objects, m.movedBytes, m.leasesLost, m.verifyMismatches,
		m.s3Requests, m.s3Duration,
		m.records, m.recordBytes, m.oldestPending, m.due, m.backingOff, m.leased,
	)

	// Series that exist from the start, at 0, so that rate() and increase()
	// see the first event and alerts on them are not "no data".
	for _, t := range []reconcile.Trigger{reconcile.TriggerSchedule, reconcile.TriggerManual, reconcile.TriggerStartup} {
		m.passesStarted.WithLabelValues(string(t))
	}
	for _, s := range passStatuses {
		m.passes.WithLabelValues(string(s))
		m.passDuration.WithLabelValues(string(s))
	}
	for _, b := range []string{brakeMassChange, brakeOutage, brakeLifecycle} {
		m.brakeTrips.WithLabelValues(b)
	}
	for _, o := range []reconcile.Outcome{reconcile.OutcomeMoved, reconcile.OutcomeMissing, reconcile.OutcomeFailed,
		reconcile.OutcomeRetrying, reconcile.OutcomeInterrupted, reconcile.OutcomeShared,
		reconcile.OutcomeRestored, reconcile.OutcomeRestoring} {
		m.objects.WithLabelValues(string(o))
	}
	m.lifecycleInPlace = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "trashd_lifecycle_rule_in_place",
		Help: "1 when the trash bucket's lifecycle rule was found as configured at the last check, 0 when it drifted or could not be read: objects may never reach the archive class. Absent while nothing checked it (TRASHD_LIFECYCLE_MODE=off).",
	}, nil)
	m.overdue = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "trashd_transitions_overdue",
		Help: "Copies old enough (transition days plus grace) to be in the archive class that are not yet: S3 lifecycle is lagging or the rule is missing.",
	})
	m.ineligible = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "trashd_transitions_ineligible",
		Help: "Copies S3 will not transition because they are smaller than the rule allows (128 KB by default); they stay in STANDARD.",
	})
	m.classBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "trashd_trash_bytes",
		Help: "Bytes in the trash bucket by storage class, as trashd's records know them.",
	}, []string{"storage_class"})
	m.conditions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "trashd_s3_condition_honoured",
		Help: "Per bucket and condition trashd relies on (copy_if_none_match, complete_if_none_match, copy_source_if_match, delete_if_match, batch_delete_etag): 1 when the last probe proved the server honours it, 0 when it does not or the probe could not tell (trashd then takes the documented fallback, or refuses; `trashd doctor`).",
	}, []string{"bucket", "condition"})
	m.conditionsProbe = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "trashd_s3_conditions_probe_timestamp_seconds",
		Help: "When each bucket's conditions were last probed (at least once a day while the service runs), as a Unix time.",
	}, []string{"bucket"})
	reg.MustRegister(m.lifecycleInPlace, m.overdue, m.ineligible, m.classBytes, m.conditions, m.conditionsProbe)
	return m
}

// probed records a bucket's probed conditions; pass it to
// reconcile.WithConditionsObserver.
func (m *metrics) probed(c reconcile.Capabilities) {
	for _, cond := range reconcile.Conditions() {
		v := 0.0
		if c.Honours(cond) {
			v = 1
		}
		m.conditions.WithLabelValues(c.Bucket, string(cond)).Set(v)
	}
	m.conditionsProbe.WithLabelValues(c.Bucket).Set(float64(c.ProbedAt.UnixNano()) / 1e9)
}

// countStatements exposes what a pool sent to MySQL (db.Options.Statements)
// as trashd_db_statements_total.
func countStatements(reg prometheus.Registerer, s *db.Statements) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "trashd_db_statements_total",
		Help: "SQL statements this instance sent to MySQL, as the server's Questions counter counts them (queries, statements, START TRANSACTION, COMMIT, ROLLBACK). Divided by trashd_objects_total{outcome=\"moved\"}: the database cost of a move.",
	}, func() float64 { return float64(s.Load()) }))
}

// NewRegistry returns a registry with the Go runtime and process collectors,
// for the daemon's /metrics; newMetrics adds trashd's own to it.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// passStarted records the start of a pass.
func (m *metrics) passStarted(trigger reconcile.Trigger) {
	m.passesStarted.WithLabelValues(string(trigger)).Inc()
	m.lastPassStart.SetToCurrentTime()
}

// passFinished records how a pass ended, from what Runner.Run returned.
//
// A pass that ran to its end is a success for
// trashd_last_pass_success_timestamp_seconds even when some objects failed
// (status "failed"): that timestamp answers "is trashd doing its job at
// all", and failed objects have their own counter and alert. A pass
// interrupted by shutdown, or one that could not run (status "error": a
// bucket or the database was unreachable), is not a success. A pass that
// could not even start (the run could not be recorded: a read-only user, a
// schema newer than this binary) arrives here too, from the service, as
// status "error".
func (m *metrics) passFinished(s reconcile.Summary, err error) {
	status := passStatus(s.Status, err)
	d := s.Duration
	if d == 0 && !s.Started.IsZero() {
		// Run returns before timing the pass when the run could not even
		// be recorded.
		d = time.Since(s.Started)
	}
	m.passes.WithLabelValues(string(status)).Inc()
	m.passDuration.WithLabelValues(string(status)).Observe(d.Seconds())
	// The brakes stop a pass with status error like an unreachable bucket
	// does; an operator must tell them apart, because a brake waits for a
	// decision, not for a server to come back.
	switch {
	case errors.Is(err, reconcile.ErrMassChange):
		m.brakeTrips.WithLabelValues(brakeMassChange).Inc()
	case errors.Is(err, reconcile.ErrOutage):
		m.brakeTrips.WithLabelValues(brakeOutage).Inc()
	case errors.Is(err, reconcile.ErrLifecycleConflict):
		m.brakeTrips.WithLabelValues(brakeLifecycle).Inc()
	}
	if status == reconcile.RunOK || status == reconcile.RunFailed {
		m.lastPassSuccess.SetToCurrentTime()
	}
}

// passStatus is the status label of a finished pass: one of passStatuses,
// whatever the summary says. Run returns the status "running" with an error
// when it could not record the start of the run.
func passStatus(s reconcile.RunStatus, err error) reconcile.RunStatus {
	switch s {
	case reconcile.RunOK, reconcile.RunFailed:
		if err != nil {
			return reconcile.RunError
		}
		return s
	case reconcile.RunInterrupted:
		return s
	}
	return reconcile.RunError
}

// object records one object's outcome; pass it to reconcile.WithEvents.
func (m *metrics) object(ev reconcile.Event) {
	if ev.Outcome == reconcile.OutcomeSized {
		// The bytes of an object moved earlier by its copy's answer alone.
		m.movedBytes.Add(float64(ev.Bytes))
		return
	}
	m.objects.WithLabelValues(string(ev.Outcome)).Inc()
	if ev.Outcome == reconcile.OutcomeMoved && ev.Bytes > 0 {
		m.movedBytes.Add(float64(ev.Bytes))
	}
	if errors.Is(ev.Err, reconcile.ErrLeaseLost) {
		m.leasesLost.Inc()
	}
	if errors.Is(ev.Err, reconcile.ErrVerify) {
		m.verifyMismatches.Inc()
	}
}

// s3Request records one S3 API operation; pass it as s3ops.Options.Observe.
// The labels stay bounded: the operation is one of the S3 API's names, the
// result one of s3ops.ErrorClass's classes.
func (m *metrics) s3Request(op string, err error, d time.Duration) {
	if op == "" {
		op = "unknown"
	}
	m.s3Requests.WithLabelValues(op, s3ops.ErrorClass(err)).Inc()
	m.s3Duration.WithLabelValues(op).Observe(d.Seconds())
}

// backlog records a snapshot of trashd's tables (db.Store.Status). The
// numbers are the database's and the same on every instance: aggregate them
// with max, not sum.
func (m *metrics) backlog(st db.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := make(map[string]bool, len(st.States))
	for _, s := range st.States {
		state := string(s.State)
		seen[state] = true
		m.records.WithLabelValues(state).Set(float64(s.Count))
		m.recordBytes.WithLabelValues(state).Set(float64(s.Bytes))
	}
	// A state that is no longer in the table (one a newer trashd wrote,
	// cleaned up since) must not linger at its last value.
	for state := range m.stateLabels {
		if !seen[state] {
			m.records.DeleteLabelValues(state)
			m.recordBytes.DeleteLabelValues(state)
		}
	}
	m.stateLabels = seen

	oldest := 0.0
	if !st.OldestPending.IsZero() {
		oldest = float64(st.OldestPending.UnixNano()) / 1e9
	}
	m.oldestPending.Set(oldest)
	m.due.Set(float64(st.Due))
	m.backingOff.Set(float64(st.AwaitingRetry))
	m.leased.Set(float64(st.Leased))
}

// archive records the trash bucket's archive status (db.Store.Archive).
func (m *metrics) archive(a reconcile.ArchiveStatus) {
	m.overdue.Set(float64(a.Overdue))
	m.ineligible.Set(float64(a.Ineligible))
	for _, c := range a.Classes {
		m.classBytes.WithLabelValues(c.Class).Set(float64(c.Bytes))
	}
}

// lifecycle records the last lifecycle check of the trash bucket.
func (m *metrics) lifecycle(lc reconcile.LifecycleState) {
	v := 0.0
	if lc.Err == nil && lc.Report.InPlace() {
		v = 1
	}
	m.lifecycleInPlace.WithLabelValues().Set(v)
}
