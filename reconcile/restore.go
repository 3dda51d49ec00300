package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Restore outcomes, alongside the move outcomes.
const (
	OutcomeRestored  Outcome = "restored"
	OutcomeRestoring Outcome = "restoring" // waiting for S3 to restore from the archive class
)

// ErrTierUnavailable is wrapped, by a Restorer, around a refusal of the
// restore tier asked for that another tier would not get: Expedited for
// DEEP_ARCHIVE, or no Expedited capacity just now (503
// GlacierExpeditedRetrievalNotAvailable).
var ErrTierUnavailable = errors.New("restore tier not available")

// copyBackRate is the server-side copy speed a copy back is expected to
// keep at least, to tell whether it will finish before a restored copy
// expires: a conservative figure for one S3 copy in parts.
const copyBackRate = 50 << 20 // bytes per second

// RestoreRequests finds the objects to bring back, and the records whose
// LMS row is gone.
type RestoreRequests interface {
	// RestoreCandidates lists records whose LMS row is no longer trashed
	// and whose restore is not yet requested; MarkRestores marks them.
	RestoreCandidates(ctx context.Context) ([]int64, error)
	MarkRestores(ctx context.Context, ids []int64) (int, error)
	// OrphanCandidates lists records whose LMS row is gone altogether;
	// MarkOrphans marks them orphaned, ReturnOrphans undoes that for rows
	// that are back.
	OrphanCandidates(ctx context.Context) ([]int64, error)
	MarkOrphans(ctx context.Context, ids []int64) (int, error)
	ReturnOrphans(ctx context.Context) (int, error)
	// ClaimRestores leases records whose restore was requested.
	ClaimRestores(ctx context.Context, owner string, limit int, lease time.Duration) ([]Record, error)
}

// weighRestoresAndOrphans lists the records whose trash flag was cleared
// and those whose LMS row is gone, and weighs each by the mass-change brake,
// before the pass records anything (a discovery included): a pass the brake
// stops has changed nothing. requestRestores then marks these alone.
func (p *pass) weighRestoresAndOrphans() error {
	restores, err := p.r.store.RestoreCandidates(p.stop)
	if err != nil {
		return err
	}
	if err := p.r.weighRestores(p.stop, p.r.cfg.Mass, len(restores)); err != nil {
		return err
	}
	orphans, err := p.r.store.OrphanCandidates(p.stop)
	if err != nil {
		return err
	}
	if err := p.r.weighOrphans(p.stop, p.r.cfg.Mass, len(orphans)); err != nil {
		return err
	}
	p.restores, p.orphans = restores, orphans
	return nil
}

// requestRestores returns orphaned records whose row is back, then marks
// for restore, and orphans, the records weighRestoresAndOrphans weighed that
// are candidates still: the LMS may have changed a row while the pass
// discovered (trashed it again, put it back). A candidate that was not
// weighed waits for the next pass, which weighs it.
func (p *pass) requestRestores() error {
	if n, err := p.r.store.ReturnOrphans(p.stop); err != nil {
		return err
	} else if n > 0 {
		p.log.Info("LMS rows are back: their orphaned records return to their states", "count", n)
	}
	restores, err := p.r.store.RestoreCandidates(p.stop)
	if err != nil {
		return err
	}
	if n, err := p.r.store.MarkRestores(p.stop, weighed(p.restores, restores)); err != nil {
		return err
	} else if n > 0 {
		p.log.Info("trash flags cleared: restoring", "count", n)
	}
	orphans, err := p.r.store.OrphanCandidates(p.stop)
	if err != nil {
		return err
	}
	if n, err := p.r.store.MarkOrphans(p.stop, weighed(p.orphans, orphans)); err != nil {
		return err
	} else if n > 0 {
		p.log.Warn("LMS rows deleted: their trash copies are orphaned and left to the lifecycle rule (undone if the rows come back)", "count", n, "state", StateOrphaned)
	}
	return nil
}

// weighed returns the ids of now that are also in before: the candidates
// the brake weighed that still are candidates.
func weighed(before, now []int64) []int64 {
	seen := make(map[int64]bool, len(before))
	for _, id := range before {
		seen[id] = true
	}
	var ids []int64
	for _, id := range now {
		if seen[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// restoreAll brings back, a worker-pool's worth at a time, every object
// whose LMS row was un-trashed: the LMS is waiting for these.
func (p *pass) restoreAll() error {
	if !p.progress.restoresOnly {
		if err := p.requestRestores(); err != nil {
			return err
		}
	}
	workers := newPool(p.r.cfg.Concurrency)
	defer workers.Close()
	for !p.stopping() && !p.outage.tripped() {
		at := p.r.leases.Elapsed()
		recs, err := p.r.store.ClaimRestores(p.stop, p.r.cfg.Owner, p.r.cfg.Concurrency, p.r.cfg.Lease)
		if err != nil || len(recs) == 0 {
			return err
		}
		p.progress.touch()
		var settled atomic.Int64
		for _, rec := range recs {
			workers.Go(func() {
				ev := p.restoreObject(rec, at)
				p.report(ev)
				if ev.Outcome == OutcomeRestored || ev.Outcome == OutcomeFailed {
					settled.Add(1)
				}
			})
		}
		workers.Wait()
		if settled.Load() == 0 {
			// Only restores still under way (or retries): with a short
			// poll they would come due again at once; the next pass looks.
			return p.outage.err()
		}
	}
	return p.outage.err()
}

// restoreObject brings one object back to where the LMS expects it, without
// ever overwriting a file the LMS has put there since, and only then removes
// the trash copy.
func (p *pass) restoreObject(rec Record, claimedAt time.Duration) Event {
	log := p.log.With("object_id", rec.ID, "bucket", rec.Source.Bucket, "key", rec.Source.Key)
	h := p.holdLeases([]Record{rec}, claimedAt)
	h.close()
	defer h.finish(rec.ID)
	r := &restorer{pass: p, h: h, log: log, rec: rec}
	ev, err := r.try(h.ctxOf(rec.ID))
	if err == nil {
		return ev
	}
	if lost := h.lostErr(rec.ID); lost != nil {
		err = lost
	}
	return p.settle(p.work, log, r.rec, err, failRestore)
}

// restorer is one record's restore in progress.
type restorer struct {
	*pass
	h   *hold
	log *slog.Logger
	rec Record
}

func (r *restorer) try(ctx context.Context) (Event, error) {
	rec := r.rec
	if rec.Upload.ID != "" {
		if err := r.abortUpload(ctx); err != nil {
			return Event{}, err
		}
	}
	switch rec.State {
	case StatePending, StateShared, StateCopied, StateFailed:
		// The source is deleted only after the copy is recorded and
		// verified, so it is normally still there: then the move is
		// cancelled and the trash copy, if any, removed. Not if the key
		// now holds other bytes than were trashed: those stay, and the
		// trash copy is copied back beside them.
		src, err := r.r.s3.Head(ctx, rec.Source.Bucket, rec.Source.Key)
		verified := err == nil && (rec.Source.ETag == "" || verifyCopy(rec.Source, src) == nil)
		if err == nil && !verified && byAnswer(rec.Source) {
			// The source identity is its copy's answer: an object with
			// another ETag may hold the same bytes (a multipart or
			// encrypted source): the copy tells.
			if verified, err = r.holdsCopy(ctx, src); err != nil {
				return Event{}, err
			}
		}
		switch {
		case verified:
			// Verified again: the key holds what was trashed — unless
			// another record of the object is between its copy and
			// in_trash, and may be deleting it right now: then not
			// restored yet (that move asks the LMS again after its
			// delete, and brings the object back for this row).
			if ev, waits, err := r.awaitMoves(ctx, r.h, r.log, r.rec); waits || err != nil {
				return ev, err
			}
			if err := r.removeTrashCopy(ctx); err != nil {
				return Event{}, err
			}
			return r.finish(ctx, rec.Source.Key, "")
		case err != nil && !errors.Is(err, ErrNotFound):
			return Event{}, err
		case errors.Is(err, ErrNotFound) && r.trashKey() == "":
			// Another row naming the same object may have moved it: its
			// copy is this row's too — once that move is recorded; not
			// while it is between its delete and in_trash (asked first, so
			// that a move recorded between the two questions is found).
			if ev, waits, err := r.awaitMoves(ctx, r.h, r.log, r.rec); waits || err != nil {
				return ev, err
			}
			other, ok, cerr := r.r.store.CopyOf(ctx, rec.Source.Bucket, rec.Source.Key, rec.ID)
			if cerr != nil {
				return Event{}, cerr
			}
			if !ok {
				return Event{}, fmt.Errorf("%w: the source s3://%s/%s is gone and no record holds a copy of it", ErrPermanent, rec.Source.Bucket, rec.Source.Key)
			}
			r.log.Info("the object is in the trash under another row's key: restoring from there", "trash_key", other.Copy.Key, "with_lms_id", other.LMSID)
			r.rec.Copy, r.rec.TrashKey = other.Copy, other.Copy.Key
			if r.rec.Copy.Bucket == "" {
				r.rec.Copy.Bucket = trashBucketOf(other.Record, r.r.cfg)
			}
		}
	}
	return r.copyBack(ctx)
}

// holdsCopy tells whether src, at the key of a record whose source identity
// is its copy's answer, holds exactly the bytes of the record's trash copy
// (sameBytes).
func (r *restorer) holdsCopy(ctx context.Context, src Object) (bool, error) {
	dst, err := r.r.s3.Head(ctx, trashBucketOf(r.rec, r.r.cfg), r.rec.Copy.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look at the trash copy: %w", err)
	case dst.ETag != r.rec.Copy.ETag:
		return false, nil
	}
	same, err := r.sameBytes(r.h, r.rec.ID, src, dst)
	if err != nil {
		return false, fmt.Errorf("%w: whether s3://%s/%s holds the bytes of its trash copy: %v", ErrTransient, src.Bucket, src.Key, err)
	}
	return same, nil
}

// trashKey is where the record's trash copy is: the verified copy's key,
// else the key an attempt rendered.
func (r *restorer) trashKey() string {
	if r.rec.Copy.Key != "" {
		return r.rec.Copy.Key
	}
	return r.rec.TrashKey
}

// identity is what the restored object must match: the verified copy's own
// size and ETag or checksum, else the source as recorded.
func (r *restorer) identity() Object {
	if r.rec.Copy.ETag != "" {
		return r.rec.Copy
	}
	return r.rec.Source
}

// copyBack copies the trash copy to the original key (or, when that key now
// holds another file, beside it), restoring it from the archive class first
// when it needs to.
func (r *restorer) copyBack(ctx context.Context) (Event, error) {
	rec := r.rec
	trash, err := r.r.s3.Head(ctx, trashBucketOf(rec, r.r.cfg), r.trashKey())
	if errors.Is(err, ErrNotFound) {
		// Copied back (to the key or beside it) before a crash, and the
		// trash copy already removed?
		for _, key := range r.targets() {
			if back, err := r.r.s3.Head(ctx, rec.Source.Bucket, key); err == nil && verifyCopy(r.identity(), back) == nil {
				return r.finish(ctx, key, "")
			}
		}
		return Event{}, fmt.Errorf("%w: the trash copy s3://%s/%s is gone", ErrPermanent, trashBucketOf(rec, r.r.cfg), r.trashKey())
	}
	if err != nil {
		return Event{}, err
	}
	if rec.Copy.ETag != "" {
		if err := verifyCopy(rec.Copy, trash); err != nil {
			return Event{}, fmt.Errorf("the trash copy changed since it was verified: %w", err)
		}
	}
	if !trash.Readable() {
		return r.awaitRestore(ctx, trash)
	}
	if r.stopping() {
		return Event{}, errStopped
	}
	if trash.Archived() && r.expiresDuringCopy(trash) {
		// S3 counts a restore's days from the request, and a restored copy
		// whose expiry-date has passed cannot be read even while the
		// header lingers: a copy that would run past it is started over
		// with a new restore, which counts its days from now.
		r.log.Info("the restored copy expires before a copy back would finish: restoring it again",
			"expiry", trash.Restore.Expiry, "size", trash.Size)
		return r.requestRestore(ctx, trash)
	}

	// Never overwrite: the LMS may have put a new file at the key since.
	target, note := "", ""
	for _, key := range r.targets() {
		existing, err := r.r.s3.Head(ctx, rec.Source.Bucket, key)
		if errors.Is(err, ErrNotFound) {
			// A refused copy means the key was taken since the HEAD — or,
			// when an SDK retry follows a lost response, taken by this very
			// copy: the HEAD below tells which.
			err = r.copyTo(ctx, trash, key, nil)
			if errors.Is(err, ErrArchived) {
				// The restored copy HEAD saw is gone (it expired
				// between the two) and the server refused the copy
				// as of an archived object (InvalidObjectState, or
				// ObjectNotInActiveTierError, AWS's code for a
				// copy): it needs a restore again, not a retry.
				r.log.Info("the copy back was refused as of an archived object: restoring it again", "err", err)
				return r.requestRestore(ctx, trash)
			}
			if err != nil && !errors.Is(err, ErrPreconditionFailed) {
				return Event{}, fmt.Errorf("copy back to s3://%s/%s: %w", rec.Source.Bucket, key, err)
			}
			existing, err = r.r.s3.Head(ctx, rec.Source.Bucket, key)
		}
		if err != nil {
			return Event{}, err
		}
		if verifyCopy(trash, existing) != nil && key == rec.Source.Key && r.olderVersionResurfaced(existing) {
			// A versioned source shows the version before the trashed one
			// again (trashd deleted exactly the trashed version): that is
			// no newer file of the LMS's, and the trashed file goes back
			// on top of it. The older version stays as a version.
			older := existing
			// Over exactly that version (If-Match): an upload of the
			// LMS's since the HEAD is never covered where the server
			// honours the condition, and is named below where not.
			if err := r.copyTo(ctx, trash, key, &older); err != nil {
				return Event{}, fmt.Errorf("copy back over the older version at s3://%s/%s: %w", rec.Source.Bucket, key, err)
			}
			if existing, err = r.r.s3.Head(ctx, rec.Source.Bucket, key); err != nil {
				return Event{}, err
			}
			if verifyCopy(trash, existing) == nil {
				note = r.whatLiesBeneath(ctx, existing, older)
			}
		}
		if verifyCopy(trash, existing) == nil { // ours: copied now, or before a crash
			target = key
			break
		}
	}
	if target == "" {
		return Event{}, fmt.Errorf("%w: s3://%s/%s and the key beside it both hold other files", ErrPermanent, rec.Source.Bucket, rec.Source.Key)
	}
	if target != rec.Source.Key {
		note = fmt.Sprintf("the original key holds a newer file; restored beside it as %s", target)
		r.log.Warn("restored beside the original key", "restored_key", target)
	}
	if err := r.removeTrashCopy(ctx); err != nil {
		return Event{}, err
	}
	return r.finish(ctx, target, note)
}

// olderVersionResurfaced reports whether cur, at the original key of a
// versioned source bucket, is no newer than the trashed version: a version
// the trashed one had replaced, current again since trashd deleted exactly
// the trashed version. A file the LMS wrote since would be newer
// (Last-Modified has whole seconds: the same second counts as older, as an
// upload after the move cannot share the trashed version's second).
func (r *restorer) olderVersionResurfaced(cur Object) bool {
	src := r.rec.Source
	return cur.VersionID != "" && src.VersionID != "" && cur.VersionID != src.VersionID &&
		!src.LastModified.IsZero() && !cur.LastModified.IsZero() && !cur.LastModified.After(src.LastModified)
}

// versionsToBeneath is how many of a key's newest versions a restore over
// an older version looks through for the one it copied over: the copy
// back, and what the LMS wrote in the moment between its HEAD and the copy.
const versionsToBeneath = 8

// whatLiesBeneath looks, after a copy back over the older version that a
// HEAD saw at a versioned key, at the version right beneath the restored
// one: the copy is not conditioned on the older version (If-Match on a
// copy's destination is not proven on the server at hand), so a file the
// LMS wrote between the HEAD and the copy is covered by the restored one.
// Versioning keeps it, as a noncurrent version; the returned note names it
// and how to bring it back ("" when the older version lies right beneath).
func (r *restorer) whatLiesBeneath(ctx context.Context, restored, older Object) string {
	bucket, key := r.rec.Source.Bucket, r.rec.Source.Key
	versions, err := r.r.s3.KeyVersions(ctx, bucket, key, versionsToBeneath)
	if err != nil {
		r.log.Warn("restored over an older version, but what lies beneath could not be listed", "older_version", older.VersionID, "err", err)
		return fmt.Sprintf("restored over the older version %s; the versions beneath could not be listed (%v): look at the key's versions for a file the LMS wrote since", older.VersionID, err)
	}
	i := slices.IndexFunc(versions, func(v KeyVersion) bool { return v.VersionID == restored.VersionID })
	if i < 0 {
		r.log.Warn("restored over an older version, but the restored version is not among the key's newest", "restored_version", restored.VersionID)
		return fmt.Sprintf("restored as version %s over the older version %s, but the restored version is not among the key's %d newest: look at the key's versions for files the LMS wrote since",
			restored.VersionID, older.VersionID, len(versions))
	}
	var between []string
	newest := "" // the newest file the LMS wrote in between
	for _, v := range versions[i+1:] {
		if v.VersionID == older.VersionID {
			if len(between) == 0 {
				return ""
			}
			r.log.Warn("the LMS wrote the key between the restore's look and its copy: its file is kept beneath the restored one",
				"older_version", older.VersionID, "beneath", between)
			note := fmt.Sprintf("restored over the older version %s, but the LMS wrote the key in between, and beneath the restored file lie (newest first): %s",
				older.VersionID, strings.Join(between, ", "))
			if newest != "" {
				note += fmt.Sprintf("; versioning keeps them: to make the LMS's file current again, copy version %s onto the key (CopyObject from s3://%s/%s?versionId=%s)",
					newest, bucket, key, newest)
			}
			return note
		}
		if v.DeleteMarker {
			between = append(between, "delete marker "+v.VersionID)
			continue
		}
		if newest == "" {
			newest = v.VersionID
		}
		between = append(between, fmt.Sprintf("version %s (%d bytes, ETag %q, %s)", v.VersionID, v.Size, v.ETag, v.LastModified.UTC().Format(time.RFC3339)))
	}
	r.log.Warn("restored over an older version, which is not among the versions right beneath", "older_version", older.VersionID)
	return fmt.Sprintf("restored over the older version %s, which is not among the %d versions right beneath the restored one: the LMS wrote the key in between; "+
		"look at the key's versions (they are kept) for its file", older.VersionID, len(versions)-i-1)
}

// targets are the keys a copy back may use, in order: the original key,
// then beside it.
func (r *restorer) targets() []string {
	return []string{r.rec.Source.Key, besideKey(r.rec.Source.Key, r.rec.LMSID)}
}

// copyTo copies the trash copy back to key, never over an object there
// (over: but over exactly that object, If-Match on its ETag: the older
// version of a versioned key that olderVersionResurfaced found, which stays
// as a version). A
// copy in parts is recorded before its parts are copied, so that a crash
// leaves nothing that a later attempt would not abort.
func (r *restorer) copyTo(ctx context.Context, trash Object, key string, over *Object) error {
	opts := CopyOptions{
		NoOverwrite: over == nil,
		// STANDARD said outright: some servers keep the source's
		// (archive) class on a copy that names none.
		StorageClass: "STANDARD",
		OnUpload: func(id string) error {
			up := Upload{Key: key, ID: id}
			if err := r.h.recordOne(ctx, r.rec, Step{To: r.rec.State, Error: r.rec.LastError, Upload: &up}); err != nil {
				return err
			}
			r.rec.Upload = up
			return nil
		},
	}
	if over != nil {
		opts.IfMatch = over.ETag
	}
	opts, err := r.copyGuard(ctx, r.rec.Source.Bucket, opts)
	if err != nil {
		return err
	}
	err = r.r.s3.Copy(ctx, trash, r.rec.Source.Bucket, key, opts)
	if r.rec.Upload.ID != "" && err == nil {
		if werr := r.h.recordOne(ctx, r.rec, Step{To: r.rec.State, Error: r.rec.LastError, ClearUpload: true}); werr != nil {
			return werr
		}
		r.rec.Upload = Upload{}
	}
	return err
}

// abortUpload aborts a copy back that an earlier attempt left unfinished.
func (r *restorer) abortUpload(ctx context.Context) error {
	up := r.rec.Upload
	if err := r.r.s3.AbortUpload(ctx, r.rec.Source.Bucket, up.Key, up.ID); err != nil {
		return fmt.Errorf("abort the unfinished copy back to s3://%s/%s: %w", r.rec.Source.Bucket, up.Key, err)
	}
	if err := r.h.recordOne(ctx, r.rec, Step{To: r.rec.State, Error: r.rec.LastError, ClearUpload: true}); err != nil {
		return err
	}
	r.log.Info("aborted an unfinished copy back left by an earlier attempt", "upload_key", up.Key)
	r.rec.Upload = Upload{}
	return nil
}

// awaitRestore asks S3 to restore an archived copy, or waits for the restore
// under way, looking again after RestorePoll.
func (r *restorer) awaitRestore(ctx context.Context, trash Object) (Event, error) {
	if trash.Restore.Unparsed != "" {
		return Event{}, fmt.Errorf("%w: s3://%s/%s has an x-amz-restore header trashd cannot read (x-amz-restore: %s); look at the object with HEAD and restore it by hand", ErrPermanent, trash.Bucket, trash.Key, trash.Restore.Unparsed)
	}
	if trash.Restore.Requested && trash.Restore.Ongoing {
		return r.waitForRestore(ctx)
	}
	return r.requestRestore(ctx, trash)
}

// requestRestore asks S3 to restore trash (again, when its restored copy
// expired or is about to), then waits for it.
func (r *restorer) requestRestore(ctx context.Context, trash Object) (Event, error) {
	a := r.r.cfg.Archive
	tier := a.RestoreTier
	if tier == "Expedited" && trash.DeepArchived() && a.ExpeditedFallback != FallbackOff {
		// Known before asking: S3 has no Expedited restores from the
		// Deep Archive class or tier.
		r.log.Info("no Expedited restores from Deep Archive: restoring with the fallback tier", "tier", a.ExpeditedFallback)
		tier = a.ExpeditedFallback
	}
	err := r.r.s3.Restore(ctx, trash, a.RestoreDays, tier)
	if errors.Is(err, ErrTierUnavailable) && tier == "Expedited" && a.ExpeditedFallback != FallbackOff {
		r.log.Warn("Expedited restores are not available: restoring with the fallback tier", "tier", a.ExpeditedFallback, "err", err)
		tier = a.ExpeditedFallback
		err = r.r.s3.Restore(ctx, trash, a.RestoreDays, tier)
	}
	if err != nil {
		return Event{}, fmt.Errorf("request a restore of s3://%s/%s: %w", trash.Bucket, trash.Key, err)
	}
	r.log.Info("restore from the archive class requested", "storage_class", trash.StorageClass, "archive_status", trash.ArchiveStatus,
		"tier", tier, "days", a.RestoreDays)
	return r.waitForRestore(ctx)
}

// waitForRestore records the restore under way and leaves the record until
// RestorePoll has passed.
func (r *restorer) waitForRestore(ctx context.Context) (Event, error) {
	if err := r.h.recordOne(ctx, r.rec, Step{To: StateRestoring, RetryIn: r.r.cfg.Archive.RestorePoll, Release: true}); err != nil {
		return Event{}, err
	}
	return Event{Record: r.rec, Outcome: OutcomeRestoring}, nil
}

// expiresDuringCopy reports whether trash's restored copy has expired, or
// expires before a copy back that starts now would be done: a lease's
// worth of time plus the copy at copyBackRate. A restore without an expiry
// (Intelligent-Tiering's) never does. When a whole restore period
// (RestoreDays) would not be enough either, a new restore cannot help, and
// only an expired copy counts.
func (r *restorer) expiresDuringCopy(trash Object) bool {
	e := trash.Restore.Expiry
	if e.IsZero() {
		return false
	}
	now := r.r.now()
	if !now.Before(e) {
		return true
	}
	a := r.r.cfg.Archive
	need := r.r.cfg.Lease + time.Duration(trash.Size/copyBackRate)*time.Second
	return need < time.Duration(a.RestoreDays)*a.DayLength && !now.Add(need).Before(e)
}

// removeTrashCopy deletes the record's trash copy, exactly the one a fresh
// HEAD sees, once the object is safe at its original place — unless another
// record (another LMS row naming the same object) still relies on it. The
// delete goes out only with a fresh fence: a worker whose lease lapsed
// removes nothing.
func (r *restorer) removeTrashCopy(ctx context.Context) error {
	key := r.trashKey()
	if key == "" {
		return nil
	}
	if n, err := r.r.store.CopyHolders(ctx, key, r.rec.ID); err != nil {
		return err
	} else if n > 0 {
		r.log.Info("the trash copy is kept: other records rely on it", "trash_key", key, "records", n)
		return nil
	}
	trash, err := r.r.s3.Head(ctx, trashBucketOf(r.rec, r.r.cfg), key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := verifyCopy(r.identity(), trash); err != nil {
		// Not the copy trashd made (or recorded): never removed on a guess.
		r.log.Warn("the object at the trash key is not the recorded copy; it is left alone", "trash_key", key, "err", err)
		return nil
	}
	caps, err := r.r.conds.of(ctx, trash.Bucket)
	if err != nil {
		return err
	}
	// The trash copy is trashd's own: without a proven If-Match it goes
	// right after the HEAD above (deletePath).
	obj := exactly(trash)
	how, err := r.deletePath(caps, obj, false)
	if err != nil {
		return err
	}
	if err := r.h.guardedDelete([]deletion{{id: r.rec.ID, obj: obj, how: how}}, false)[0]; err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("remove the trash copy s3://%s/%s: %w", trash.Bucket, trash.Key, err)
	}
	return nil
}

func (r *restorer) finish(ctx context.Context, key, note string) (Event, error) {
	if err := r.h.recordOne(ctx, r.rec, Step{To: StateRestored, RestoredKey: key, Error: note, Release: true}); err != nil {
		return Event{}, err
	}
	r.log.Info("restored", "state", StateRestored, "restored_key", key)
	return Event{Record: r.rec, Outcome: OutcomeRestored}, nil
}

// besideKey is where a restore goes when the original key holds a newer
// file: the same folder and extension, the name marked with the LMS row id,
// e.g. "docs/report.pdf" → "docs/report.restored-42.pdf".
func besideKey(key string, lmsID int64) string {
	dir, name := path.Split(key)
	ext := path.Ext(name)
	if ext == name || strings.ContainsAny(ext, " ") {
		ext = ""
	}
	return dir + strings.TrimSuffix(name, ext) + ".restored-" + strconv.FormatInt(lmsID, 10) + ext
}
