package reconcile

import (
	"sync"
	"time"
)

// The copies of a batch flow: each starts as soon as one of the pass's S3
// workers is free, and the lane that claimed the batch claims the next one
// as soon as the last of them has started. Copies that have gone through
// gather into groups, and each group goes on by itself — recorded copied in
// one statement (the fence), its sources deleted through the guarded delete
// (one DeleteObjects per bucket), recorded in_trash in one statement — while
// the copies go on: a group closes when it holds groupMax items or its
// first is groupAge old, or when the batch has no copy left in flight.
// Several groups, of one batch and of the next, are in flight at once, and
// nothing waits for the slowest copy of a batch but its own group. Every
// rule of a batch holds per group: the group is a batch of the protocol.

// groupAge is how long a group waits for more copies before it goes on:
// long enough that its statements (four or five per group) and its
// DeleteObjects are a small share per object at the rate one process
// copies (at 50 objects a second, groups of 50), short beside a lease
// (the fence is the group's first statement). Nothing waits for it but the
// group's own records: the copies go on meanwhile.
const groupAge = time.Second

// grouper gathers one batch's copies into groups.
type grouper struct {
	b        *batchMove
	max      int
	copying  sync.WaitGroup // the copies in flight
	groups   sync.WaitGroup // the groups going on, and the items going on alone
	mu       sync.Mutex
	group    []*item
	since    time.Time // when the group's first item came
	wake     chan struct{}
	copiesIn chan struct{} // closed when every copy has returned
}

// flow copies headFirst (read by HEAD, recorded) by copyOne and asIs
// (their trash keys recorded) by copyAsIs, by the pass's S3 workers, and
// returns once every copy has started; the batch's groups go on after.
func (b *batchMove) flow(headFirst, asIs []*item) {
	if len(headFirst)+len(asIs) == 0 {
		return
	}
	g := &grouper{b: b, max: max(1, min(b.r.cfg.MoveBatch, MaxMoveBatch)), wake: make(chan struct{}, 1), copiesIn: make(chan struct{})}
	b.lanes.begin()
	b.lanes.flows.Add(1)
	go g.run()
	for _, step := range []struct {
		items []*item
		copy  func(*item) bool
	}{{headFirst, b.copyOne}, {asIs, b.copyAsIs}} {
		for _, it := range step.items {
			b.pool.GoIn(&g.copying, func() {
				if step.copy(it) {
					g.add(it)
					return
				}
				// Not on this worker, which would wait for a worker.
				g.groups.Go(func() { b.notDone(it) })
			})
		}
	}
	go func() {
		g.copying.Wait()
		close(g.copiesIn)
	}()
}

// add puts a copied item in the open group; never blocks.
func (g *grouper) add(it *item) {
	g.mu.Lock()
	if len(g.group) == 0 {
		g.since = time.Now()
	}
	g.group = append(g.group, it)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// run closes groups as they fill or age, until every copy has returned and
// every group has gone on; then the batch's lane accounting ends.
func (g *grouper) run() {
	defer g.b.lanes.flows.Done()
	defer g.b.lanes.end()
	timer := time.NewTimer(groupAge)
	defer timer.Stop()
	for done := false; !done; {
		select {
		case <-g.wake:
		case <-timer.C:
		case <-g.copiesIn:
			done = true
		}
		g.mu.Lock()
		n, age := len(g.group), time.Since(g.since)
		g.mu.Unlock()
		if n > 0 && (done || n >= g.max || age >= groupAge) {
			g.close()
		}
		if !done {
			g.mu.Lock()
			wait := groupAge
			if len(g.group) > 0 {
				wait = max(time.Millisecond, groupAge-time.Since(g.since))
			}
			g.mu.Unlock()
			timer.Reset(wait)
		}
	}
	g.groups.Wait()
}

// close sends the open group on.
func (g *grouper) close() {
	g.mu.Lock()
	items := g.group
	g.group = nil
	g.mu.Unlock()
	g.groups.Go(func() {
		b := g.b
		items := b.recordCopies(items)
		items = b.deleteSources(items)
		b.recordMoves(items)
	})
}
