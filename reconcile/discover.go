package reconcile

import (
	"context"
	"fmt"
)

// maxHeldRows bounds the rows discover holds back before it weighs them.
const maxHeldRows = 10000

// discover records every trashed LMS row that has no record yet, walking the
// LMS table in id order, a batch at a time. The mass-change brake weighs
// how many there are before the first is recorded: rows are held back until
// their number is known to be within limits. It returns how many records it
// made, and how many of those were failed at once (Unmovable).
func (r *Runner) discover(ctx context.Context, touch func(), limits MassLimits) (total, unmovable int, err error) {
	// Restored rows trashed again move again: weighed with the
	// discoveries, as one change (a trash column read wrongly makes both
	// at once, each perhaps a handful).
	again, err := r.store.CountRetrash(ctx)
	if err != nil {
		return 0, 0, err
	}
	weighed := limits.Allow
	if limits.weighs(again) {
		if err := r.weighDiscoveries(ctx, limits, again); err != nil {
			return 0, 0, err
		}
		weighed = true
	}
	var (
		after = BeforeFirstLMSID // LMS ids may be 0 or negative
		held  []TrashedRow
	)
	record := func(rows []TrashedRow) error {
		n, err := r.store.RecordTrashed(ctx, rows)
		total += n
		if n > 0 {
			// Bounded by what this pass inserted: a row another host
			// recorded at the same moment is that host's to count.
			for _, row := range rows {
				if row.Unmovable() != "" {
					unmovable++
				}
			}
			unmovable = min(unmovable, total)
		}
		if err != nil {
			return fmt.Errorf("record %d trashed rows: %w", len(rows), err)
		}
		return nil
	}
	for {
		touch() // a long scan is progress, for the watchdog
		rows, err := r.store.ScanTrashed(ctx, after, r.cfg.BatchSize)
		if err != nil {
			return total, unmovable, fmt.Errorf("scan the LMS table for trashed rows after id %d: %w", after, err)
		}
		last := len(rows) < r.cfg.BatchSize
		if len(rows) > 0 {
			after = rows[len(rows)-1].LMSID
		}
		if !weighed {
			held = append(held, rows...)
			// Past what the brake weighs (its count or a handful), with
			// the rows trashed again, or past maxHeldRows whatever the
			// count (a brake set to millions must not hold millions of
			// rows in memory), the rows still undiscovered are counted
			// instead: the same answer, from the database.
			if limits.weighs(again+len(held)) || len(held) > maxHeldRows {
				if err := r.weighDiscoveries(ctx, limits, again); err != nil {
					return total, unmovable, err
				}
				weighed = true
			} else if !last {
				continue
			}
			rows, held = held, nil
		}
		if len(rows) > 0 {
			if err := record(rows); err != nil {
				return total, unmovable, err
			}
		}
		if last {
			// Last, once both are weighed: a brake tripped by the new
			// rows leaves the rows trashed again untouched too.
			n, err := r.store.Retrash(ctx)
			total += n
			if err != nil {
				return total, unmovable, fmt.Errorf("find restored rows trashed again: %w", err)
			}
			return total, unmovable, nil
		}
	}
}

// weighDiscoveries weighs the trashed rows without a record, and again
// restored rows trashed again, against the LMS table.
func (r *Runner) weighDiscoveries(ctx context.Context, l MassLimits, again int) error {
	n, err := r.store.CountUndiscovered(ctx)
	if err != nil {
		return err
	}
	n += again
	rows, _, _, err := r.store.Census(ctx)
	if err != nil {
		return err
	}
	return l.check(r.discoveries(rows, n))
}
