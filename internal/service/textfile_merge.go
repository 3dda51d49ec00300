package service

import (
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// mergeFamilies combines the families of the previous textfile with this
// run's (see Textfile): counters and histograms add up per series, the last
// pass timestamps keep the later value, other gauges are this run's; a
// family this run did not measure at all is carried over as it was.
func mergeFamilies(prev map[string]*dto.MetricFamily, now []*dto.MetricFamily) []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(now)+len(prev))
	seen := make(map[string]bool, len(now))
	for _, mf := range now {
		seen[mf.GetName()] = true
		old := prev[mf.GetName()]
		if old == nil || old.GetType() != mf.GetType() {
			out = append(out, mf)
			continue
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER, dto.MetricType_HISTOGRAM:
			addSeries(old, mf)
		case dto.MetricType_GAUGE:
			if keepsLatest(mf.GetName()) {
				latestSeries(old, mf)
			}
		}
		out = append(out, mf)
	}
	for name, mf := range prev {
		// The file is trashd's own, but only trashd's families are known to
		// mean the same from one run to the next.
		if !seen[name] && strings.HasPrefix(name, "trashd_") {
			out = append(out, mf)
		}
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// keepsLatest names the gauges that say when something last happened: a run
// that did not do it must not move them back.
func keepsLatest(name string) bool {
	switch name {
	case "trashd_last_pass_start_timestamp_seconds", "trashd_last_pass_success_timestamp_seconds":
		return true
	}
	return false
}

// addSeries adds old's counters or histograms into now's, series by series;
// a series only old has is kept.
func addSeries(old, now *dto.MetricFamily) {
	byLabels := make(map[string]*dto.Metric, len(now.GetMetric()))
	for _, m := range now.GetMetric() {
		byLabels[labelKey(m)] = m
	}
	for _, o := range old.GetMetric() {
		m, ok := byLabels[labelKey(o)]
		if !ok {
			now.Metric = append(now.Metric, o)
			continue
		}
		switch {
		case m.Counter != nil && o.Counter != nil:
			v := m.GetCounter().GetValue() + o.GetCounter().GetValue()
			m.Counter.Value = &v
		case m.Histogram != nil && o.Histogram != nil:
			addHistogram(o.GetHistogram(), m.Histogram)
		}
	}
}

// addHistogram adds old into now. Buckets are matched by their upper bound;
// one whose bound a newer trashd changed starts again.
func addHistogram(old, now *dto.Histogram) {
	n := now.GetSampleCount() + old.GetSampleCount()
	sum := now.GetSampleSum() + old.GetSampleSum()
	now.SampleCount, now.SampleSum = &n, &sum
	for _, b := range now.GetBucket() {
		for _, ob := range old.GetBucket() {
			if ob.GetUpperBound() == b.GetUpperBound() {
				c := b.GetCumulativeCount() + ob.GetCumulativeCount()
				b.CumulativeCount = &c
				break
			}
		}
	}
}

// latestSeries keeps, per series, the larger of old's and now's values.
func latestSeries(old, now *dto.MetricFamily) {
	byLabels := make(map[string]*dto.Metric, len(now.GetMetric()))
	for _, m := range now.GetMetric() {
		byLabels[labelKey(m)] = m
	}
	for _, o := range old.GetMetric() {
		m, ok := byLabels[labelKey(o)]
		switch {
		case !ok:
			now.Metric = append(now.Metric, o)
		case m.Gauge != nil && o.GetGauge().GetValue() > m.GetGauge().GetValue():
			v := o.GetGauge().GetValue()
			m.Gauge.Value = &v
		}
	}
}

// labelKey identifies a series within its family.
func labelKey(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName()+"\x00"+l.GetValue())
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "\x01")
}
