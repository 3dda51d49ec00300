package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// OutcomeShared: the object stays where it is, because an untrashed LMS row
// still names it.
const OutcomeShared Outcome = "shared"

// Sharing answers, for a move, who else names an object.
type Sharing interface {
	// LiveRows returns, for each of objs that an untrashed LMS row names
	// (by a non-locking read), the smallest such row's id; none when the
	// operator declared keys unique.
	LiveRows(ctx context.Context, objs []ObjectRef) (map[ObjectRef]int64, error)
	// EarlierMoves returns, for each record of recs that must wait, the LMS
	// row of another record of the same object that it waits for: one with
	// a lower id that is still to be moved, or one of any id with a
	// verified copy recorded and its source delete not yet (copied, or
	// shared with a copy), which may be deleting the source right now.
	// Records being restored are not waited for.
	EarlierMoves(ctx context.Context, recs []Record) (map[int64]int64, error)
	// CopyOf returns another record of bucket/key whose verified trash
	// copy now holds the object (its source deleted), if any.
	CopyOf(ctx context.Context, bucket, key string, except int64) (SharedCopy, bool, error)
	// MovedSince returns the ids of recs whose object another record's
	// verified copy holds, its source deleted since the record was
	// discovered: the records for which CopyOf finds a copy MovedAfter.
	MovedSince(ctx context.Context, recs []Record) (map[int64]bool, error)
	// CopyHolders counts the records other than except that may rely on
	// the trash copy at trashKey.
	CopyHolders(ctx context.Context, trashKey string, except int64) (int, error)
	// AdoptCopy records step for rec, which shares other's trash copy, if
	// other still holds that copy and is not being restored (checked under a
	// lock on other's row); ErrNotFound if not.
	AdoptCopy(ctx context.Context, rec, other Record, step Step) error
}

// SharedCopy is another record's trash copy of the same object.
type SharedCopy struct {
	Record
	// MovedAfter: that record deleted the source after the asking record
	// was discovered, so the object the asking row named is the one moved.
	MovedAfter bool
}

var (
	// errSourceChanged marks an attempt that lost a race with a writer of
	// the source before anything was verified; the next attempt starts
	// again from HEAD.
	errSourceChanged = errors.New("the source changed during the move")
	// errStopped marks work left off because the pass was asked to stop.
	errStopped = errors.New("the pass was asked to stop")
)

// moveHeld takes one record of a claim, held by h, as far as it can go in
// this pass, from where it stands, and records where it ended. It never
// deletes a source without a verified copy recorded, and only through the
// guarded delete.
func (p *pass) moveHeld(h *hold, rec Record) Event {
	log := p.log.With("object_id", rec.ID, "bucket", rec.Source.Bucket, "key", rec.Source.Key)
	ctx := h.ctxOf(rec.ID)
	m := &mover{pass: p, h: h, log: log, rec: rec}
	var (
		ev  Event
		err error
	)
	for try := 0; ; try++ {
		ev, err = m.try(ctx)
		if errors.Is(err, errSourceChanged) && try < p.r.cfg.SourceRetries && !p.stopping() {
			// Nothing verified yet: start again from HEAD, which sees
			// what is there now.
			log.Info("source changed during the move; starting again", "err", err)
			continue
		}
		break
	}
	if err != nil {
		if lost := h.lostErr(rec.ID); lost != nil {
			err = lost
		}
		return p.settle(p.work, log, m.rec, err, failMove)
	}
	return ev
}

// checkRow refuses, for this record alone, what can never be moved.
func (p *pass) checkRow(rec Record) error {
	switch {
	case rec.Source.Key == "":
		return fmt.Errorf("%w: LMS row %d has an empty object key", ErrPermanent, rec.LMSID)
	case rec.Source.Bucket == p.r.cfg.TrashBucket:
		return fmt.Errorf("%w: LMS row %d names the trash bucket %q as its bucket: trashd never moves the trash into itself; fix the row's bucket in the LMS",
			ErrPermanent, rec.LMSID, rec.Source.Bucket)
	}
	if err := CheckBucketName(rec.Source.Bucket); err != nil {
		return fmt.Errorf("%w: LMS row %d: %w", ErrPermanent, rec.LMSID, err)
	}
	return nil
}

// mover is one record's move in progress.
type mover struct {
	*pass
	h   *hold
	log *slog.Logger
	rec Record
}

// try is one attempt: from a verified copy if one is recorded, else from
// HEAD through copy and verification; then the delete of the source.
func (m *mover) try(ctx context.Context) (Event, error) {
	if ev, shared, err := m.keepIfShared(ctx); shared || err != nil {
		return ev, err
	}
	if m.rec.Copy.ETag != "" && (m.rec.State == StateCopied || m.rec.State == StateShared) {
		// A verified copy is never made again (on a versioned bucket the
		// source key may now show an older version): check it, then only
		// the delete of the recorded version is left.
		return m.fromVerifiedCopy(ctx)
	}
	if ev, waits, err := m.awaitMoves(ctx, m.h, m.log, m.rec); waits || err != nil {
		return ev, err
	}
	return m.fromSource(ctx)
}

// awaitMoves puts rec off, released for a moment, while another record of
// the same object is to be moved first (a lower id) or is between its copy
// and in_trash (any id: it may be deleting the source right now). Several
// trashed rows naming one object share one trash copy, made by the first;
// the others take it once it is there (adoptCopyOf), and none settles on
// missing, on an older version made current, or (a restore that finds its
// bytes at the key) on restored, meanwhile.
func (p *pass) awaitMoves(ctx context.Context, h *hold, log *slog.Logger, rec Record) (Event, bool, error) {
	earlier, err := p.r.store.EarlierMoves(ctx, []Record{rec})
	other, found := earlier[rec.ID]
	if err != nil || !found {
		return Event{}, false, err
	}
	wait := min(p.r.cfg.BackoffBase, time.Second)
	if err := h.recordOne(ctx, rec, Step{To: rec.State, Error: rec.LastError, RetryIn: wait, Release: true}); err != nil {
		return Event{}, false, err
	}
	log.Debug("waits for the move of another row naming the same object", "with_lms_id", other)
	return Event{Record: rec, Outcome: OutcomeRetrying}, true, nil
}

// keepIfShared leaves the object where it is, recording the record shared,
// when an untrashed LMS row names it.
func (m *mover) keepIfShared(ctx context.Context) (Event, bool, error) {
	ref := ObjectRef{m.rec.Source.Bucket, m.rec.Source.Key}
	live, err := m.r.store.LiveRows(ctx, []ObjectRef{ref})
	if err != nil {
		return Event{}, false, fmt.Errorf("look for LMS rows still naming the object: %w", err)
	}
	lms, found := live[ref]
	if !found {
		return Event{}, false, nil
	}
	if m.rec.Copy.ETag == "" {
		return m.recordShared(ctx, lms, nil)
	}
	// A verified copy is recorded: an earlier attempt's delete may have
	// taken effect, and the row come since; it then gets the object back.
	it := &item{rec: m.rec, log: m.log, src: m.rec.Source, copy: m.rec.Copy}
	it.copy.Bucket = trashBucketOf(m.rec, m.r.cfg)
	switch d := m.keepForLiveRow(m.h, it, lms); {
	case d.err != nil:
		return Event{}, false, d.err
	case d.shared != nil:
		return m.recordShared(ctx, lms, d.shared.Source)
	default:
		if err := m.h.recordOne(ctx, m.rec, Step{To: StateInTrash, Error: d.note, Release: true}); err != nil {
			return Event{}, false, err
		}
		m.rec.State = StateInTrash
		return Event{Record: m.rec, Outcome: OutcomeMoved, Bytes: bytesOf(m.rec.Copy.Size)}, true, nil
	}
}

// recordShared records the record shared with LMS row lms (the object at
// back, when it was just copied back).
func (m *mover) recordShared(ctx context.Context, lms int64, back *Object) (Event, bool, error) {
	if err := m.h.recordOne(ctx, m.rec, *sharedStep(m.r.cfg, lms, back)); err != nil {
		return Event{}, false, err
	}
	if m.rec.State != StateShared || m.rec.SharedWith != lms {
		m.log.Info("another LMS row still uses the object: it stays where it is", "state", StateShared, "shared_with", lms)
	}
	m.rec.State, m.rec.SharedWith = StateShared, lms
	if back != nil {
		m.rec.Source = *back
	}
	return Event{Record: m.rec, Outcome: OutcomeShared}, true, nil
}

// fromSource copies the source as HEAD sees it now to the trash key,
// verifies the copy and records it.
func (m *mover) fromSource(ctx context.Context) (Event, error) {
	rec := &m.rec
	src, err := m.r.s3.Head(ctx, rec.Source.Bucket, rec.Source.Key)
	if errors.Is(err, ErrNotFound) {
		return m.sourceGone(ctx)
	}
	if err != nil {
		return Event{}, err
	}
	if src.VersionID != "" {
		// On a versioned bucket, another row's move may have taken the
		// object this row named, and the key now shows an older version
		// made current: that is not the trashed file. (On an unversioned
		// bucket an object at the key after such a move is a new upload,
		// the row's own.)
		// Nor while another record of the object may be deleting the
		// trashed version right now (copied, its delete not recorded):
		// asked first, so that a move recorded in_trash between the two
		// questions is adopted, never missed by both.
		if ev, waits, err := m.awaitMoves(ctx, m.h, m.log, m.rec); waits || err != nil {
			return ev, err
		}
		if ev, ok, err := m.adoptCopyOf(ctx, true); ok || err != nil {
			return ev, err
		}
	}

	if err := m.refusesDeletes(ctx, src); err != nil {
		// Nothing is copied that could never be deleted from its source.
		return Event{}, err
	}
	trashKey := m.r.cfg.TrashKeys.RenderLife(rec.LMSID, rec.Life, rec.Source.Bucket, rec.Source.Key)
	if err := m.h.recordOne(ctx, *rec, Step{To: StatePending, Source: &src, TrashKey: trashKey}); err != nil {
		return Event{}, err
	}
	rec.State, rec.Source, rec.TrashKey = StatePending, src, trashKey
	if m.stopping() {
		return Event{}, errStopped
	}
	dst, err := m.copyToTrash(ctx, src, trashKey)
	if err != nil {
		return Event{}, err
	}
	if err := m.h.recordOne(ctx, *rec, Step{To: StateCopied, Copy: &dst}); err != nil {
		return Event{}, err
	}
	rec.State, rec.Copy = StateCopied, dst
	return m.deleteSource(ctx, src, dst)
}

// copyToTrash copies src to trashKey, never over an object already there,
// and returns the copy as HEAD sees it. A copy already at the key is the
// copy only if it holds src's bytes (an attempt that stopped before it could
// record the copy); any other object there is never overwritten.
func (m *mover) copyToTrash(ctx context.Context, src Object, trashKey string) (Object, error) {
	opts := m.copyOptions()
	opts.NoOverwrite = true
	opts, err := m.copyGuard(ctx, m.r.cfg.TrashBucket, opts)
	if err != nil {
		return Object{}, err
	}
	err = m.r.s3.Copy(ctx, src, m.r.cfg.TrashBucket, trashKey, opts)
	if err != nil && !errors.Is(err, ErrPreconditionFailed) && !errors.Is(err, ErrNotFound) {
		return Object{}, fmt.Errorf("copy to s3://%s/%s: %w", m.r.cfg.TrashBucket, trashKey, err)
	}
	dst, herr := m.r.s3.Head(ctx, m.r.cfg.TrashBucket, trashKey)
	switch {
	case err == nil && herr != nil:
		return Object{}, fmt.Errorf("read back the copy s3://%s/%s: %w", m.r.cfg.TrashBucket, trashKey, herr)
	case err == nil:
		return dst, verifyCopy(src, dst)
	case errors.Is(herr, ErrNotFound):
		// Nothing at the trash key: the source changed (or went) since HEAD.
		return Object{}, fmt.Errorf("%w: copy to s3://%s/%s: %w", errSourceChanged, m.r.cfg.TrashBucket, trashKey, err)
	case herr != nil:
		return Object{}, fmt.Errorf("look at s3://%s/%s after a refused copy: %w", m.r.cfg.TrashBucket, trashKey, herr)
	}
	verr := verifyCopy(src, dst)
	if verr == nil {
		m.log.Info("the trash key already holds a verified copy of the source (an earlier attempt made it)", "trash_key", trashKey)
		return dst, nil
	}
	// A copy made as it is (blind.go) of a multipart or encrypted source
	// has an ETag of its own: a second copy tells whether it holds the
	// source's bytes.
	switch same, serr := m.sameBytes(m.h, m.rec.ID, src, dst); {
	case errors.Is(serr, ErrPreconditionFailed):
		return Object{}, fmt.Errorf("%w: a second copy to compare with s3://%s/%s: %w", errSourceChanged, m.r.cfg.TrashBucket, trashKey, serr)
	case serr != nil:
		return Object{}, fmt.Errorf("s3://%s/%s holds an object whose ETag is not the source's, and nothing proves yet whether it holds the same bytes: %w",
			m.r.cfg.TrashBucket, trashKey, serr)
	case same:
		m.log.Info("the trash key already holds a copy of the source's bytes under an ETag of its own (an earlier attempt made it)", "trash_key", trashKey, "copy_etag", dst.ETag)
		return dst, nil
	}
	return Object{}, fmt.Errorf("%w: s3://%s/%s already holds another object than the source (%w): trashd never overwrites a trash copy; "+
		"find out what wrote it, then move or delete it by hand and `trashd retry` the record",
		ErrPermanent, m.r.cfg.TrashBucket, trashKey, verr)
}

// fromVerifiedCopy resumes a record whose copy was verified and recorded:
// the copy must still be exactly what was recorded; then the recorded source
// version is deleted.
func (m *mover) fromVerifiedCopy(ctx context.Context) (Event, error) {
	rec := &m.rec
	trash, err := m.r.s3.Head(ctx, trashBucketOf(*rec, m.r.cfg), rec.Copy.Key)
	if errors.Is(err, ErrNotFound) {
		return m.verifiedCopyGone(ctx)
	}
	if err != nil {
		return Event{}, fmt.Errorf("look at the trash copy: %w", err)
	}
	if err := verifyCopy(rec.Copy, trash); err != nil {
		return Event{}, fmt.Errorf("the trash copy changed since it was verified: %w", err)
	}
	return m.deleteSource(ctx, rec.Source, trash)
}

// verifiedCopyGone handles a recorded copy that is no longer there: if the
// recorded source version still exists, nothing was lost and the move starts
// over; otherwise the object is missing, and says where it was.
func (m *mover) verifiedCopyGone(ctx context.Context) (Event, error) {
	rec := &m.rec
	src, err := m.recordedSource(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		return m.recordMissing(ctx, fmt.Sprintf("the verified trash copy s3://%s/%s is gone, and so is the source s3://%s/%s (version %q)",
			trashBucketOf(*rec, m.r.cfg), rec.Copy.Key, rec.Source.Bucket, rec.Source.Key, rec.Source.VersionID))
	case err != nil:
		return Event{}, err
	}
	m.log.Warn("the verified trash copy is gone but the source is intact: copying again", "trash_key", rec.Copy.Key)
	if err := m.h.recordOne(ctx, *rec, Step{To: StatePending, Source: &src}); err != nil {
		return Event{}, err
	}
	rec.State, rec.Copy = StatePending, Object{}
	return Event{}, fmt.Errorf("%w: the trash copy was removed by someone else", errSourceChanged)
}

// recordedSource HEADs exactly the recorded source: its version on a
// versioned bucket; on an unversioned one the key, if it still holds the
// recorded bytes. ErrNotFound otherwise.
func (m *mover) recordedSource(ctx context.Context) (Object, error) {
	rec := m.rec
	src, err := m.r.s3.HeadVersion(ctx, rec.Source.Bucket, rec.Source.Key, rec.Source.VersionID)
	if err != nil {
		return Object{}, err
	}
	if !sameVersion(src, rec.Source) {
		// (Also when the identity is the copy's answer: an object with
		// another ETag may be a multipart source's same bytes, but with the
		// copy gone nothing tells it from a new file, which is never taken
		// for the trashed one.)
		return Object{}, fmt.Errorf("%w: s3://%s/%s holds other bytes now", ErrNotFound, rec.Source.Bucket, rec.Source.Key)
	}
	return src, nil
}

// deleteSource deletes exactly the source that was copied, once its copy is
// verified and recorded, through the guarded delete, as a batch of one.
func (m *mover) deleteSource(ctx context.Context, src, copy Object) (Event, error) {
	rec := &m.rec
	if m.stopping() {
		return Event{}, errStopped
	}
	it := &item{rec: *rec, log: m.log, src: src, copy: copy}
	d := m.deleteCopied(m.h, []*item{it})[0]
	// The full proof of a copy made as it is records the source as HEAD saw
	// it (refusedAsIs): that is the record now.
	*rec = it.rec
	switch {
	case d.shared != nil:
		ev, _, err := m.recordShared(ctx, d.shared.SharedWith, d.shared.Source)
		return ev, err
	case errors.Is(d.err, ErrStale):
		return Event{}, fmt.Errorf("%w: delete the source: %w", ErrTransient, d.err)
	case d.err != nil:
		return Event{}, fmt.Errorf("delete the source: %w", d.err)
	}
	note := d.note
	if err := m.h.recordOne(ctx, *rec, Step{To: StateInTrash, Error: note, Release: true}); err != nil {
		return Event{}, err
	}
	m.log.Debug("moved", "state", StateInTrash, "size", copy.Size)
	return Event{Record: *rec, Outcome: OutcomeMoved, Bytes: bytesOf(copy.Size)}, nil
}

// sourceGone settles a record whose source key is empty: its bytes are in
// another record's trash copy (several rows naming one object), or in its
// own copy, recorded or not, or they are missing. Missing is final, so it
// is recorded only when no other record of the object is between its copy
// and in_trash and nothing is at any trash key of the record's.
func (m *mover) sourceGone(ctx context.Context) (Event, error) {
	rec := &m.rec
	// The wait first, then the adoption: a move recorded in_trash between
	// the two questions is adopted, never missed by both.
	if ev, waits, err := m.awaitMoves(ctx, m.h, m.log, m.rec); waits || err != nil {
		return ev, err
	}
	if ev, ok, err := m.adoptCopyOf(ctx, false); ok || err != nil {
		return ev, err
	}
	where := fmt.Sprintf("s3://%s/%s", rec.Source.Bucket, rec.Source.Key)
	// The recorded trash key, and the one the record's life renders: a
	// record whose trash key or source was lost (a failover to a replica
	// that lost committed writes, a dump restored) still finds its copy.
	keys := []string{m.r.cfg.TrashKeys.RenderLife(rec.LMSID, rec.Life, rec.Source.Bucket, rec.Source.Key)}
	if rec.TrashKey != "" && rec.TrashKey != keys[0] {
		keys = append([]string{rec.TrashKey}, keys...)
	}
	for _, key := range keys {
		dst, err := m.r.s3.Head(ctx, m.r.cfg.TrashBucket, key)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return Event{}, fmt.Errorf("look for the copy of a deleted source: %w", err)
		}
		note := ""
		if rec.Source.ETag != "" {
			if err := verifyCopy(rec.Source, dst); err != nil {
				return Event{}, fmt.Errorf("source %s is gone: %w", where, err)
			}
		} else {
			note = fmt.Sprintf("source %s is gone and nothing recorded of it proves the copy at s3://%s/%s, which trashd made for this row: kept as the row's file, unproven",
				where, m.r.cfg.TrashBucket, key)
			m.log.Warn("source gone; an unproven copy at the row's trash key is kept as the row's", "trash_key", key)
		}
		if err := m.h.recordOne(ctx, *rec, Step{To: StateInTrash, TrashKey: key, Copy: &dst, Error: note, Release: true}); err != nil {
			return Event{}, err
		}
		m.log.Info("source already gone; its copy is in the trash bucket", "state", StateInTrash, "trash_key", key)
		return Event{Record: *rec, Outcome: OutcomeMoved, Bytes: bytesOf(dst.Size)}, nil
	}
	if rec.Source.ETag == "" {
		return m.recordMissing(ctx, fmt.Sprintf("source %s does not exist, and there is no copy at s3://%s/%s", where, m.r.cfg.TrashBucket, keys[len(keys)-1]))
	}
	return m.recordMissing(ctx, fmt.Sprintf("source %s is gone and there is no copy at s3://%s/%s", where, m.r.cfg.TrashBucket, keys[0]))
}

// adoptCopyOf records the trash copy of another record of the same object
// as this record's too, when that record moved the object (onlyMovedAfter:
// and did so after this record was discovered). The copy is checked first,
// and the record is written under a lock on the other record's row, so that
// a restore of the other record never removes a copy this one relies on.
func (m *mover) adoptCopyOf(ctx context.Context, onlyMovedAfter bool) (Event, bool, error) {
	rec := &m.rec
	other, ok, err := m.r.store.CopyOf(ctx, rec.Source.Bucket, rec.Source.Key, rec.ID)
	if err != nil || !ok || (onlyMovedAfter && !other.MovedAfter) {
		return Event{}, false, err
	}
	if other.RestoreRequested {
		// Its restore is bringing the object back (or has removed the
		// copy): look again once it is done.
		return Event{}, false, fmt.Errorf("%w: LMS row %d, which names the same object, is being restored: trying again later", ErrTransient, other.LMSID)
	}
	trash, err := m.r.s3.Head(ctx, trashBucketOf(other.Record, m.r.cfg), other.Copy.Key)
	if errors.Is(err, ErrNotFound) {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, fmt.Errorf("look at the trash copy of LMS row %d: %w", other.LMSID, err)
	}
	if err := verifyCopy(other.Copy, trash); err != nil {
		return Event{}, false, fmt.Errorf("the trash copy of LMS row %d, which holds this object too: %w", other.LMSID, err)
	}
	src := other.Source
	step := Step{To: StateInTrash, Source: &src, TrashKey: other.Copy.Key, Copy: &trash, Release: true}
	switch err := m.r.store.AdoptCopy(ctx, *rec, other.Record, step); {
	case errors.Is(err, ErrNotFound):
		return Event{}, false, fmt.Errorf("%w: the trash copy of LMS row %d is being restored or removed: trying again later", ErrTransient, other.LMSID)
	case err != nil:
		return Event{}, false, err
	}
	m.log.Info("the object is in the trash under another row's key: shared", "state", StateInTrash, "trash_key", other.Copy.Key, "with_lms_id", other.LMSID)
	rec.State, rec.Source, rec.TrashKey, rec.Copy = StateInTrash, src, other.Copy.Key, trash
	return Event{Record: *rec, Outcome: OutcomeMoved}, true, nil
}

// trashBucketOf is where rec's trash copy is: the bucket recorded with the
// copy, else the configured trash bucket. A record keeps its bucket when the
// configuration changes.
func trashBucketOf(rec Record, cfg Config) string {
	if rec.Copy.Bucket != "" {
		return rec.Copy.Bucket
	}
	return cfg.TrashBucket
}

func (m *mover) recordMissing(ctx context.Context, why string) (Event, error) {
	// HEAD says only 404 for a missing bucket too: a bucket name that is
	// wrong is a failure to fix, not a missing object.
	if err := m.r.s3.CheckBucket(ctx, m.rec.Source.Bucket); err != nil {
		return Event{}, err
	}
	// Missing is terminal: not on a look taken before the records were
	// read (a restore of another row may have brought the object back
	// meanwhile).
	if _, err := m.r.s3.Head(ctx, m.rec.Source.Bucket, m.rec.Source.Key); err == nil {
		return Event{}, fmt.Errorf("%w: s3://%s/%s is there again", errSourceChanged, m.rec.Source.Bucket, m.rec.Source.Key)
	} else if !errors.Is(err, ErrNotFound) {
		return Event{}, err
	}
	if err := m.h.recordOne(ctx, m.rec, Step{To: StateMissing, Error: why, Release: true}); err != nil {
		return Event{}, err
	}
	m.log.Warn("object missing", "state", StateMissing, "reason", why)
	return Event{Record: m.rec, Outcome: OutcomeMissing, Err: errors.New(why)}, nil
}

// copyOptions are the options of a copy into the trash bucket: in direct
// mode the copy itself lands in the archive class.
func (p *pass) copyOptions() CopyOptions {
	if p.r.cfg.Archive.Mode == ArchiveDirect {
		return CopyOptions{StorageClass: p.r.cfg.Archive.Rule.StorageClass}
	}
	return CopyOptions{}
}
