package reconcile

import (
	"errors"
	"fmt"
	"sync"
)

// ErrOutage: a pass stopped claiming because S3 was failing as a whole.
var ErrOutage = errors.New("S3 looks unavailable")

// outage notices, within one pass, when most requests fail the same way: a
// run of objects that all failed with transient errors and no success
// between them. Then the pass stops claiming and ends as a whole, and the
// objects still in flight are retried later without it counting against
// their attempts: an outage is not the objects' fault, and an hour of 503s
// must not make every claimed object failed, which is terminal.
type outage struct {
	limit int

	mu     sync.Mutex
	streak map[int64]bool // the records failing in a row: one object retried again and again is one
	last   error
	trip   bool

	// A run of objects found missing, with nothing moved between them, is
	// the sign of a wrong endpoint, region or bucket rather than of lost
	// files: missing is terminal, so the pass stops there (unless allowed).
	allowMissing bool
	missing      int
	missTrip     bool
}

func newOutage(concurrency int, allowMissing bool) *outage {
	return &outage{limit: max(10, 2*concurrency), streak: map[int64]bool{}, allowMissing: allowMissing}
}

// observe counts one object's outcome.
func (o *outage) observe(ev Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case ev.Outcome == OutcomeRetrying && errors.Is(ev.Err, ErrTransient):
		o.streak[ev.Record.ID] = true
		o.last = ev.Err
		if len(o.streak) >= o.limit {
			o.trip = true
		}
	case ev.Outcome == OutcomeInterrupted:
	case ev.Outcome == OutcomeMissing:
		clear(o.streak)
		o.missing++
		if o.missing >= o.limit && !o.allowMissing {
			o.missTrip = true
		}
	default:
		clear(o.streak)
		if ev.Outcome == OutcomeMoved {
			o.missing = 0
		}
	}
}

// tripped reports whether the pass has seen an outage, or a run of
// missing objects: it claims nothing more.
func (o *outage) tripped() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.trip || o.missTrip
}

// err is the pass's error once tripped, nil before.
func (o *outage) err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.missTrip && !o.trip {
		return fmt.Errorf("%w: %d objects in a row were missing from the source, with nothing moved between them: "+
			"check TRASHD_S3_ENDPOINT, TRASHD_S3_REGION and the bucket names before more are recorded missing; "+
			"the pass stopped claiming (if those rows really have no objects, let the pass through the mass-change brake)", ErrMassChange, o.missing)
	}
	if !o.trip {
		return nil
	}
	return fmt.Errorf("%w: %d objects in a row failed with transient errors and none succeeded (the last: %v); "+
		"the pass stopped claiming, the objects keep their attempts, and the next pass tries again", ErrOutage, len(o.streak), o.last)
}
