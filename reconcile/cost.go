package reconcile

import (
	"errors"
	"math"
)

// Prices are storage prices in USD per GB-month (GB = 10^9 bytes, as AWS
// bills), by storage class.
type Prices map[string]float64

// DefaultPrices are S3's us-east-1 list prices, as published in January 2025
// (first 50 TB tier for STANDARD). Set TRASHD_PRICE_* for another region or
// a newer price list.
var DefaultPrices = Prices{
	"STANDARD":     0.023,
	"GLACIER_IR":   0.004,
	"GLACIER":      0.0036,
	"DEEP_ARCHIVE": 0.00099,
}

// DefaultPricesDate says when DefaultPrices were taken.
const DefaultPricesDate = "2025-01 (us-east-1)"

// Glacier facts from AWS's documentation that the cost report uses.
const (
	// Each object in GLACIER or DEEP_ARCHIVE carries 8 KB of metadata billed
	// at STANDARD and 32 KB billed at the archive class.
	archiveOverheadStandard = 8 << 10
	archiveOverheadArchive  = 32 << 10
)

// MinStorageDays is a storage class's minimum storage duration (AWS S3
// pricing): an object deleted (or restored and removed) earlier is billed
// for the rest. 0 for a class without one (STANDARD).
func MinStorageDays(class string) int {
	switch class {
	case "GLACIER_IR", "GLACIER":
		return 90
	case "DEEP_ARCHIVE":
		return 180
	}
	return 0
}

// CostLine is one storage class's share of the trash bucket.
type CostLine struct {
	Class         string
	Objects       int
	Bytes         int64
	Overhead      int64   // archive metadata bytes billed on top (8 KB + 32 KB per object)
	Monthly       float64 // USD per month, overhead included
	AsStandard    float64 // USD per month if the same bytes stayed in STANDARD
	Young         int     // objects younger than the class's minimum storage duration
	EarlyDeletion float64 // USD at most owed for them if deleted now
}

// CostReport estimates what the trash bucket costs per month.
type CostReport struct {
	Lines      []CostLine
	Monthly    float64
	AsStandard float64
	Savings    float64 // AsStandard - Monthly
}

const gb = 1e9

// EstimateCost prices usage with p.
func EstimateCost(usage []ClassUsage, p Prices) CostReport {
	var r CostReport
	for _, u := range usage {
		l := CostLine{Class: u.Class, Objects: u.Objects, Bytes: u.Bytes, Young: u.Young}
		price := p[u.Class]
		l.Monthly = float64(u.Bytes) / gb * price
		if u.Class == "GLACIER" || u.Class == "DEEP_ARCHIVE" {
			l.Overhead = int64(u.Objects) * (archiveOverheadStandard + archiveOverheadArchive)
			l.Monthly += float64(int64(u.Objects)*archiveOverheadStandard)/gb*p["STANDARD"] +
				float64(int64(u.Objects)*archiveOverheadArchive)/gb*price
		}
		l.AsStandard = float64(u.Bytes) / gb * p["STANDARD"]
		if days := MinStorageDays(u.Class); days > 0 {
			l.EarlyDeletion = float64(u.YoungBytes) / gb * price * float64(days) / 30
		}
		r.Lines = append(r.Lines, l)
		r.Monthly += l.Monthly
		r.AsStandard += l.AsStandard
	}
	r.Savings = r.AsStandard - r.Monthly
	return r
}

// PriceClasses are the storage classes Prices has prices for.
var PriceClasses = []string{"STANDARD", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}

// Validate reports every price that is not a finite amount of at least 0,
// each a *FieldError named by its class: NaN or an infinite price would make
// every estimate meaningless.
func (p Prices) Validate() error {
	var errs []error
	for _, class := range PriceClasses {
		if v := p[class]; math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			errs = append(errs, fieldErr(class, "%v is not a price in USD per GB-month, such as %v", v, DefaultPrices[class]))
		}
	}
	return errors.Join(errs...)
}
