package reconcile

import (
	"sync"
	"time"
)

// Phase is where a pass is.
type Phase string

const (
	PhaseChecking    Phase = "checking"    // checking the buckets
	PhaseDiscovering Phase = "discovering" // scanning the LMS table
	PhaseRestoring   Phase = "restoring"   // bringing back what the LMS un-trashed
	PhaseMoving      Phase = "moving"      // claiming and moving records
	PhaseArchiving   Phase = "archiving"   // confirming transitions to the archive class
	PhaseStopping    Phase = "stopping"    // asked to stop: finishing in-flight steps
	PhaseDone        Phase = "done"
)

// Progress is a snapshot of a running pass, for progress displays, the
// control API and the watchdog.
type Progress struct {
	RunID        int64
	Trigger      Trigger
	Phase        Phase
	Started      time.Time
	Total        int    // records to move: due when moving began, plus any that came due since
	Counts       Counts // outcomes so far
	LastActivity time.Time
}

// Done is how many objects have an outcome so far.
func (p Progress) Done() int {
	c := p.Counts
	return c.Moved + c.Missing + c.Failed + c.Retrying + c.Interrupted + c.Shared
}

// tracker keeps a pass's progress; every method is safe for concurrent use.
type tracker struct {
	mu  sync.Mutex
	now func() time.Time
	p   Progress
	// An object retried and then claimed again in the same pass is counted
	// once, by its last outcome.
	retrying map[int64]bool
	// restoresOnly: the pass only brings objects back (RunRestores).
	restoresOnly bool
}

func newTracker(now func() time.Time, trigger Trigger) *tracker {
	t := now()
	return &tracker{now: now, retrying: map[int64]bool{},
		p: Progress{Trigger: trigger, Phase: PhaseChecking, Started: t, LastActivity: t}}
}

func (t *tracker) update(fn func(p *Progress)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(&t.p)
	t.p.LastActivity = t.now()
}

func (t *tracker) snapshot() Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.p
}

// touch records that work is going on (a claim, a lease renewal) without an
// outcome, for the watchdog.
func (t *tracker) touch() { t.update(func(*Progress) {}) }

func (t *tracker) setPhase(ph Phase) { t.update(func(p *Progress) { p.Phase = ph }) }

func (t *tracker) add(ev Event) {
	t.update(func(p *Progress) {
		c := &p.Counts
		id := ev.Record.ID
		if t.retrying[id] {
			c.Retrying--
			delete(t.retrying, id)
		}
		switch ev.Outcome {
		case OutcomeMoved:
			c.Moved++
			c.Bytes += ev.Bytes
		case OutcomeMissing:
			c.Missing++
		case OutcomeFailed:
			c.Failed++
		case OutcomeRetrying:
			c.Retrying++
			t.retrying[id] = true
		case OutcomeInterrupted:
			c.Interrupted++
		case OutcomeRestored:
			c.Restored++
		case OutcomeShared:
			c.Shared++
		case OutcomeSized:
			c.Bytes += ev.Bytes
		}
		p.Total = max(p.Total, p.Done())
	})
}
