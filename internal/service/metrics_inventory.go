package service

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// inventoryAges is trashd_inventory_age_seconds: how old, at each scrape,
// the newest S3 Inventory report read of each bucket is. It is computed at
// the scrape, so that a report that stops arriving shows as a growing age,
// not as the age it had when a pass last read it.
type inventoryAges struct {
	desc *prometheus.Desc
	now  func() time.Time
	mu   sync.Mutex
	made map[string]time.Time // bucket: the report's creationTimestamp
}

func newInventoryAges(reg prometheus.Registerer, now func() time.Time) *inventoryAges {
	a := &inventoryAges{
		desc: prometheus.NewDesc("trashd_inventory_age_seconds",
			"Age of the newest S3 Inventory report read of the bucket (now minus its creationTimestamp). "+
				"Over TRASHD_INVENTORY_MAX_AGE, passes confirm transitions with HEAD instead: check the bucket's inventory configuration and its delivery. "+
				"Absent until a pass reads a report.",
			[]string{"bucket"}, nil),
		now:  now,
		made: map[string]time.Time{},
	}
	reg.MustRegister(a)
	return a
}

// read records that the newest report of bucket was taken at created.
func (a *inventoryAges) read(bucket string, created time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.made[bucket] = created
}

func (a *inventoryAges) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

func (a *inventoryAges) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for bucket, created := range a.made {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, max(now.Sub(created).Seconds(), 0), bucket)
	}
}
