package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// InventoryScope narrows a pass's HEAD sweep once a report has been used:
// the in_trash part of the sweep takes only the records copied after the
// report was taken, which it cannot list, and IDs, which it could not
// confirm. Records that wait for expiration are swept as without a report.
type InventoryScope struct {
	CopiedAfter time.Time
	IDs         []int64
}

// ReportConfirmation is what checking the records waiting for their
// transition against one report found.
type ReportConfirmation struct {
	Rows      int64 // rows read, every stream counted
	Streams   int   // times the report was read (once per chunk of records)
	Records   int   // records checked against it
	Confirmed int   // recorded archived from the report
	Disagreed int   // listed in another class, or with other bytes than recorded
	Unlisted  int   // not listed at all
	// ToHead are the records to look at with HEAD: up to the limit asked
	// of the disagreeing and unlisted ones, least recently checked first.
	ToHead []int64
}

// waitingState is one record held while a report streams past: compact, so
// that a chunk of them fits in the memory budget.
type waitingState struct {
	id      int64
	size    int64
	checked int64 // UnixMicro of its last transition check
	etag    etagHash
	listed  bool
	class   uint8 // 1 + the index in classes of a row that confirms it; 0 until one does
}

// ConfirmFromReport checks the in_trash records that q selects (q.Limit
// aside) and whose copy snap could list (made no later than snap.Created)
// against the report, streamed once per chunk of records: a row confirms a
// record only when it is the key's current object, has the recorded size
// and ETag, and is in class or an archive class; such records are recorded
// archived, exactly as a HEAD that found the same would. Every other record
// is left for HEAD, and up to headLimit of them are returned in ToHead. The
// report only ever confirms, never fails or loses a record.
func ConfirmFromReport(ctx context.Context, records InventoryRecords, snap InventorySnapshot, q TransitionQuery, class string, headLimit int) (ReportConfirmation, error) {
	var (
		res   ReportConfirmation
		after int64
		heads []waitingState // disagreeing and unlisted, to choose ToHead from
	)
	var classes []string // the classes rows confirmed records in
	for done := false; !done; {
		var (
			held   []waitingState
			hashes []keyHash
		)
		for len(held) < inventoryChunk {
			limit := min(10000, inventoryChunk-len(held))
			page, err := records.WaitingCopies(ctx, q, snap.Bucket, snap.Created, after, limit)
			if err != nil {
				return res, fmt.Errorf("read the records waiting for their transition: %w", err)
			}
			for _, w := range page {
				after = w.ID
				hashes = append(hashes, hashKey(w.Key))
				held = append(held, waitingState{id: w.ID, size: w.Size, etag: hashETag(w.ETag), checked: w.Checked.UnixMicro()})
			}
			if len(page) < limit {
				done = true
				break
			}
		}
		if len(held) == 0 {
			break
		}
		// Sized once, now that the chunk is known: a map grown row by row
		// holds its old table and its new one at once.
		idx := make(map[keyHash]int32, len(held))
		for i, k := range hashes {
			if _, dup := idx[k]; dup {
				// Two records name one copy: HEAD decides for the second.
				held[i].listed = true
				continue
			}
			idx[k] = int32(i)
		}
		hashes = nil
		res.Records += len(held)
		res.Streams++
		for row, err := range snap.Rows(ctx) {
			if err != nil {
				return res, fmt.Errorf("read the inventory report %s: %w", snap.Where, err)
			}
			res.Rows++
			if !row.current() {
				continue
			}
			i, ok := idx[hashKey(row.Key)]
			if !ok {
				continue
			}
			w := &held[i]
			w.listed = true
			if row.Size == w.size && hashETag(row.ETag) == w.etag && inArchiveClass(row.StorageClass, class) {
				c := slices.Index(classes, row.StorageClass)
				if c < 0 {
					c, classes = len(classes), append(classes, row.StorageClass)
				}
				w.class = uint8(c + 1)
			}
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		byClass := map[string][]int64{}
		for _, w := range held {
			switch {
			case w.class != 0:
				byClass[classes[w.class-1]] = append(byClass[classes[w.class-1]], w.id)
			case w.listed:
				res.Disagreed++
				heads = append(heads, waitingState{id: w.id, checked: w.checked})
			default:
				res.Unlisted++
				heads = append(heads, waitingState{id: w.id, checked: w.checked})
			}
		}
		n, err := markArchived(ctx, records, byClass, snap.Created)
		res.Confirmed += n
		if err != nil {
			return res, fmt.Errorf("record copies archived from the inventory report: %w", err)
		}
	}
	// The least recently checked first, as the HEAD sweep takes them, so
	// that a backlog larger than headLimit is looked at in turn.
	slices.SortFunc(heads, func(a, b waitingState) int {
		return cmp.Or(cmp.Compare(a.checked, b.checked), cmp.Compare(a.id, b.id))
	})
	for _, w := range heads[:min(len(heads), headLimit)] {
		res.ToHead = append(res.ToHead, w.id)
	}
	return res, nil
}

// inArchiveClass reports whether an object in storage class c has
// transitioned, as checkTransition decides from a HEAD.
func inArchiveClass(c, target string) bool {
	return c == target || Object{StorageClass: c}.Archived()
}

// confirmFromInventory confirms what it can of this pass's transitions from
// the trash bucket's newest report and returns the scope left for HEAD;
// nil when no report was used (none configured, unreadable, or too old),
// and the pass sweeps with HEAD as without one.
func (p *pass) confirmFromInventory(q TransitionQuery) *InventoryScope {
	use := p.r.inventory
	if use == nil {
		return nil
	}
	bucket := p.r.cfg.TrashBucket
	log := p.log.With("bucket", bucket)
	snap, err := use.Reports.Newest(p.stop, bucket)
	switch {
	case errors.Is(err, ErrNoInventory):
		return nil
	case err != nil:
		log.Warn("no usable inventory report: confirming transitions with HEAD", "err", err)
		return nil
	}
	use.Observe(bucket, snap.Created)
	if age := p.r.reportAge(snap); age > use.Config.MaxAge {
		log.Warn("the newest inventory report is older than TRASHD_INVENTORY_MAX_AGE: confirming transitions with HEAD until a newer one arrives",
			"report", snap.Where, "created", snap.Created, "age", age.Round(time.Second).String(), "max_age", use.Config.MaxAge.String())
		return nil
	}
	started := p.r.now()
	res, err := ConfirmFromReport(p.stop, use.Records, snap, q, p.r.cfg.Archive.Rule.StorageClass, q.Limit)
	p.progress.update(func(pr *Progress) { pr.Counts.Archived += res.Confirmed })
	if err != nil {
		if !p.stopping() {
			log.Warn("confirming transitions from the inventory report failed: confirming with HEAD", "report", snap.Where, "err", err)
		}
		return nil
	}
	log.Info("transitions confirmed from the inventory report", "report", snap.Created, "rows", res.Rows, "records", res.Records,
		"archived", res.Confirmed, "disagreed", res.Disagreed, "unlisted", res.Unlisted, "to_head", len(res.ToHead),
		"duration", p.r.now().Sub(started).Round(time.Millisecond).String())
	return &InventoryScope{CopiedAfter: snap.Created, IDs: res.ToHead}
}

// markArchived records the ids of each class archived, a statement per
// thousand, a few statements at once: the database, not the report, is what
// takes the time when a report confirms a large backlog.
func markArchived(ctx context.Context, records InventoryRecords, byClass map[string][]int64, copiedBy time.Time) (int, error) {
	var (
		mu       sync.Mutex
		marked   int
		firstErr error
		workers  = newPool(markArchivedAtOnce)
	)
	defer workers.Close()
	for c, ids := range byClass {
		for chunk := range slices.Chunk(ids, 1000) {
			workers.Go(func() {
				n, err := records.MarkArchived(ctx, chunk, c, copiedBy)
				mu.Lock()
				defer mu.Unlock()
				marked += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
			})
		}
	}
	workers.Wait()
	return marked, firstErr
}

// markArchivedAtOnce bounds the statements markArchived has in flight.
const markArchivedAtOnce = 4
