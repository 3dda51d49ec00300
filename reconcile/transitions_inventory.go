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
	life    int64
	size    int64
	checked int64 // UnixMicro of its last transition check
	key     keyHash
	etag    etagHash
	next    int32 // the next record of the chunk with the same copy; -1 for none
	listed  bool
	fill    int64 // the size the report gives a copy whose record left it to be filled
	class   uint8 // 1 + the index in classes of a row that confirms it; 0 until one does
}

// headEntry is a record left for HEAD, as the least recently checked are
// chosen from all of them.
type headEntry struct{ checked, id int64 }

func (a headEntry) before(b headEntry) bool {
	return a.checked < b.checked || a.checked == b.checked && a.id < b.id
}

// headChoice keeps the limit least recently checked of the records offered
// to it: a max-heap on (checked, id), so that its memory is the limit's,
// whatever the backlog.
type headChoice struct {
	limit int
	heap  []headEntry
}

func (h *headChoice) offer(e headEntry) {
	switch {
	case h.limit <= 0:
	case len(h.heap) < h.limit:
		h.heap = append(h.heap, e)
		for i := len(h.heap) - 1; i > 0; {
			parent := (i - 1) / 2
			if !h.heap[parent].before(h.heap[i]) {
				break
			}
			h.heap[parent], h.heap[i] = h.heap[i], h.heap[parent]
			i = parent
		}
	case e.before(h.heap[0]):
		h.heap[0] = e
		for i := 0; ; {
			largest := i
			for _, c := range []int{2*i + 1, 2*i + 2} {
				if c < len(h.heap) && h.heap[largest].before(h.heap[c]) {
					largest = c
				}
			}
			if largest == i {
				break
			}
			h.heap[i], h.heap[largest] = h.heap[largest], h.heap[i]
			i = largest
		}
	}
}

// ids are the records kept, least recently checked first.
func (h *headChoice) ids() []int64 {
	slices.SortFunc(h.heap, func(a, b headEntry) int {
		return cmp.Or(cmp.Compare(a.checked, b.checked), cmp.Compare(a.id, b.id))
	})
	var out []int64
	for _, e := range h.heap {
		out = append(out, e.id)
	}
	return out
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
		// The disagreeing and unlisted records, the least recently checked
		// first as the HEAD sweep takes them, so that a backlog larger than
		// headLimit is looked at in turn; the rest are only counted.
		heads = headChoice{limit: headLimit}
	)
	var classes []string // the classes rows confirmed records in
	for done := false; !done; {
		var held []waitingState
		for len(held) < inventoryChunk {
			limit := min(10000, inventoryChunk-len(held))
			page, err := records.WaitingCopies(ctx, q, snap.Bucket, snap.Created, after, limit)
			if err != nil {
				return res, fmt.Errorf("read the records waiting for their transition: %w", err)
			}
			for _, w := range page {
				after = w.ID
				held = append(held, waitingState{id: w.ID, life: w.Life, size: w.Size, key: hashKey(w.Key), etag: hashETag(w.ETag),
					checked: w.Checked.UnixMicro(), next: -1, fill: SizeUnknown})
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
		// Records that share one copy (AdoptCopy) are chained from the
		// first of them through next, and a row is matched against each.
		idx := make(map[keyHash]int32, len(held))
		for i := len(held) - 1; i >= 0; i-- {
			if first, ok := idx[held[i].key]; ok {
				held[i].next = first
			}
			idx[held[i].key] = int32(i)
		}
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
			first, ok := idx[hashKey(row.Key)]
			if !ok {
				continue
			}
			etag, archived := hashETag(row.ETag), inArchiveClass(row.StorageClass, class)
			for i := first; i >= 0; i = held[i].next {
				w := &held[i]
				w.listed = true
				if (row.Size == w.size || w.size == SizeUnknown) && etag == w.etag && archived {
					w.fill = row.Size
					c := slices.Index(classes, row.StorageClass)
					if c < 0 {
						c, classes = len(classes), append(classes, row.StorageClass)
					}
					w.class = uint8(c + 1)
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		byClass := map[string][]MatchedCopy{}
		for _, w := range held {
			switch {
			case w.class != 0:
				c := classes[w.class-1]
				byClass[c] = append(byClass[c], MatchedCopy{ID: w.id, Life: w.life, KeyHash: w.key, Size: w.fill})
			case w.listed:
				res.Disagreed++
				heads.offer(headEntry{checked: w.checked, id: w.id})
			default:
				res.Unlisted++
				heads.offer(headEntry{checked: w.checked, id: w.id})
			}
		}
		n, err := markArchived(ctx, records, byClass, snap.Created)
		res.Confirmed += n
		if err != nil {
			return res, fmt.Errorf("record copies archived from the inventory report: %w", err)
		}
	}
	res.ToHead = heads.ids()
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

// markArchived records the copies of each class archived, a statement per
// thousand, a few statements at once: the database, not the report, is what
// takes the time when a report confirms a large backlog.
func markArchived(ctx context.Context, records InventoryRecords, byClass map[string][]MatchedCopy, copiedBy time.Time) (int, error) {
	var (
		mu       sync.Mutex
		marked   int
		firstErr error
		workers  = newPool(markArchivedAtOnce)
	)
	defer workers.Close()
	for c, copies := range byClass {
		for chunk := range slices.Chunk(copies, 1000) {
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
