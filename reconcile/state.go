package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// State is where a record is in its life. The values are stored in the
// trash_objects table; never rename one.
type State string

const (
	// StatePending: a trashed row was found; the object has not been copied yet.
	StatePending State = "pending"
	// StateCopied: a verified copy is in the trash bucket; the source may still exist.
	StateCopied State = "copied"
	// StateInTrash: the source is deleted; the object lives only in the trash bucket.
	StateInTrash State = "in_trash"
	// StateArchived: S3 reports the trash copy in the archive storage class.
	StateArchived State = "archived"
	// StateMissing: the source was gone and no verified copy exists. Terminal.
	StateMissing State = "missing"
	// StateFailed: a permanent error, or attempts exhausted. Terminal until ops act.
	StateFailed State = "failed"
	// StateRestoring: the LMS cleared the flag of an archived object; S3 is
	// restoring it from the archive class.
	StateRestoring State = "restoring"
	// StateRestored: the object is back at its original key (or beside it)
	// and the trash copy is gone. Terminal.
	StateRestored State = "restored"
	// StateRestoreFailed: bringing the object back failed; the reason is
	// recorded and the trash copy kept.
	StateRestoreFailed State = "restore_failed"
	// StateOrphaned: the LMS row is gone; the trash copy is left to the
	// lifecycle rule.
	StateOrphaned State = "orphaned"
	// StateExpired: the trash copy was removed by the lifecycle rule's
	// expiration, as configured. Terminal.
	StateExpired State = "expired"
	// StateRemoved: the trash copy is gone, and not by trashd's rule: a
	// lifecycle rule that is not trashd's expired it, or someone deleted
	// it. The file cannot be restored. Terminal.
	StateRemoved State = "removed"
	// StateShared: an untrashed LMS row still names the object, so it stays
	// where it is; later passes look again and move it once the last row
	// naming it is trashed.
	StateShared State = "shared"
)

// States lists every state, in the order of an object's life, for reports.
var States = []State{StatePending, StateShared, StateCopied, StateInTrash, StateArchived, StateMissing, StateFailed,
	StateRestoring, StateRestored, StateRestoreFailed, StateOrphaned, StateExpired, StateRemoved}

// The sets of states that the runner and the adapters act on. They are
// functions, not variables, so that nothing can change them; db builds its
// SQL predicates from them (db/states.go).

// MoveStates are the states a move claims: work is left before the object
// is safe in the trash bucket.
func MoveStates() []State { return []State{StateCopied, StatePending, StateShared} }

// MovingStates are the move states of a record on its way into the trash
// (not waiting for a live row to go, as shared is).
func MovingStates() []State { return []State{StatePending, StateCopied} }

// RestorableStates are the states a cleared trash flag turns into a restore:
// every state in which the object, or a copy of it, is still to be had.
// failed is one: its trash copy may be the only one left.
func RestorableStates() []State {
	return []State{StatePending, StateShared, StateCopied, StateInTrash, StateArchived, StateFailed}
}

// RestoreClaimStates are the states a restore claims (with the restore
// requested).
func RestoreClaimStates() []State { return append(RestorableStates(), StateRestoring) }

// CopyHolderStates are the states in which a record may rely on its trash
// copy: a copy that one of these names is never removed for another record.
func CopyHolderStates() []State {
	return []State{StatePending, StateShared, StateCopied, StateInTrash, StateArchived, StateFailed,
		StateRestoring, StateRestoreFailed, StateOrphaned}
}

// InTrashStates are the states in which the trash copy is the object: the
// source is gone.
func InTrashStates() []State { return []State{StateInTrash, StateArchived} }

// OrphanableStates are the states that become orphaned when the LMS row is
// deleted altogether.
func OrphanableStates() []State { return []State{StateInTrash, StateArchived} }

// LostStates are the states in which the file is gone for good: nothing
// can restore it.
func LostStates() []State { return []State{StateMissing, StateExpired, StateRemoved} }

// FinalStates are the states a pass leaves alone for good (orphaned only
// until the LMS row comes back).
func FinalStates() []State {
	return []State{StateArchived, StateMissing, StateFailed, StateRestored, StateRestoreFailed, StateOrphaned, StateExpired, StateRemoved}
}

// Movable reports whether a pass still has work to do on a record in state s.
func (s State) Movable() bool { return slices.Contains(MoveStates(), s) }

// Final reports whether s is in FinalStates.
func (s State) Final() bool { return slices.Contains(FinalStates(), s) }

// Checksum is an S3 additional checksum (x-amz-checksum-*), base64 as S3
// returns it. The zero value means the object has none.
type Checksum struct {
	Algorithm string // CRC32, CRC32C, CRC64NVME, SHA1, SHA256
	Value     string
}

// Object is what HEAD says about one object.
type Object struct {
	Bucket       string
	Key          string
	VersionID    string // empty on an unversioned bucket
	Size         int64
	ETag         string // without the surrounding quotes
	Checksum     Checksum
	StorageClass string // empty means STANDARD
	LastModified time.Time
	Restore      Restore // from x-amz-restore, for archived objects
	// ArchiveStatus is an INTELLIGENT_TIERING object's archive access
	// tier (x-amz-archive-status: ARCHIVE_ACCESS or DEEP_ARCHIVE_ACCESS),
	// "" in the tiers that read at once.
	ArchiveStatus string
}

// SizeUnknown is the Size of an object whose size nothing has told yet: a
// source moved by its copy alone (blind.go), whose copy's answer carries no
// size. Recorded as NULL, and filled in by the first HEAD of the copy (the
// transition check). Sizes are compared only where both are known: equal
// MD5 ETags or checksums are equal bytes anyway.
const SizeUnknown int64 = -1

// bytesOf is size for counting bytes moved: 0 while it is unknown.
func bytesOf(size int64) int64 { return max(size, 0) }

// Restore is the state of an archived object's restore, as HEAD reports it
// in x-amz-restore.
type Restore struct {
	Requested bool      // a restore was requested (the header is present)
	Ongoing   bool      // S3 is still restoring
	Expiry    time.Time // when the restored copy goes away; zero while ongoing
	// Unparsed is the raw x-amz-restore header when it could not be
	// parsed (Requested is then true); the object is then treated as not
	// readable.
	Unparsed string
}

// Archived reports whether reading o needs a restore first: GLACIER (Flexible
// Retrieval) and DEEP_ARCHIVE, and Intelligent-Tiering's archive access
// tiers; not GLACIER_IR, which reads like STANDARD.
func (o Object) Archived() bool {
	return o.StorageClass == "GLACIER" || o.StorageClass == "DEEP_ARCHIVE" || o.ArchiveStatus != ""
}

// DeepArchived reports whether o is in DEEP_ARCHIVE or Intelligent-Tiering's
// Deep Archive Access tier, which have no Expedited restores.
func (o Object) DeepArchived() bool {
	return o.StorageClass == "DEEP_ARCHIVE" || o.ArchiveStatus == "DEEP_ARCHIVE_ACCESS"
}

// IntelligentTiering reports whether o is in INTELLIGENT_TIERING, whose
// restores take no Days: they move the object back to the Frequent Access
// tier for good.
func (o Object) IntelligentTiering() bool { return o.StorageClass == "INTELLIGENT_TIERING" }

// Readable reports whether o can be read (copied) now: not archived, or
// restored and not yet expired. An archived object whose restore status
// could not be read is not: a copy would be tried on a guess.
func (o Object) Readable() bool {
	return !o.Archived() || (o.Restore.Requested && !o.Restore.Ongoing && o.Restore.Unparsed == "")
}

// Record is trashd's row for one trashed LMS file (table trash_objects).
type Record struct {
	ID       int64
	LMSID    int64
	State    State
	Source   Object // bucket and key always; the rest once HEAD has been recorded
	TrashKey string // empty until the first move attempt records it
	// Copy is the verified trash copy as it was recorded (bucket, key,
	// size, ETag, checksum): its own identity, not the source's. Zero
	// until a copy is verified.
	Copy Object
	// Attempts is how many attempts have failed in a row; an interrupted
	// or crashed attempt is not one.
	Attempts int
	// FailingFor is how long the record has been failing (by the database
	// clock, when it was claimed); zero when its last attempt did not fail.
	FailingFor time.Duration
	// SharedWith is the untrashed LMS row that keeps the object (StateShared).
	SharedWith int64
	// RestoredKey is where the last restore put the object, if any.
	RestoredKey string
	// Upload is a multipart copy back that an earlier attempt started and
	// may have left behind.
	Upload Upload
	// Life counts how often the row was trashed again after a restore; each
	// life has trash keys of its own (KeyTemplate.RenderLife).
	Life      int
	LastError string
	Lease     Lease
	// RestoreRequested: the LMS cleared the trash flag (or ops asked); the
	// object is to come back, and no pass moves it any more.
	RestoreRequested bool
}

// Lease is a worker's exclusive, expiring right to change one record.
type Lease struct {
	Owner string
	Token string
}

// TrashedRow is an LMS row whose trash flag is set.
type TrashedRow struct {
	LMSID  int64
	Bucket string // the row's bucket column, or the configured default bucket
	Key    string
}

// Unmovable says why r can never be moved ("" when it can): a bucket or
// key that S3 cannot hold or that cannot be stored exactly. Such a row is
// recorded failed at discovery, with this reason, and counted failed in
// that pass.
func (r TrashedRow) Unmovable() string {
	var problems []string
	if !utf8.ValidString(r.Key) {
		problems = append(problems, "the key is not valid UTF-8")
	} else if len(r.Key) > 1024 {
		problems = append(problems, fmt.Sprintf("the key is %d bytes, over S3's limit of 1024", len(r.Key)))
	}
	if !utf8.ValidString(r.Bucket) {
		problems = append(problems, "the bucket name is not valid UTF-8")
	} else if utf8.RuneCountInString(r.Bucket) > 63 {
		problems = append(problems, fmt.Sprintf("the bucket name %q is over S3's limit of 63 characters", r.Bucket))
	}
	if len(problems) == 0 {
		return ""
	}
	return "LMS row cannot be moved: " + strings.Join(problems, "; ")
}

// Step is one recorded transition of a record. The adapter stamps the
// matching step time (copied_at, source_deleted_at, …) with the database clock.
type Step struct {
	To       State
	Source   *Object       // the source as just read by HEAD, to record
	TrashKey string        // the trash key, recorded with Source
	Copy     *Object       // the verified trash copy, to record
	Error    string        // why the step retries, fails or is missing; "" clears it
	RetryIn  time.Duration // > 0: not claimable again before this delay; releases the lease
	Release  bool          // give up the lease (terminal states and retries always do)
	// RestoredKey is where a restore put the object back (StateRestored).
	RestoredKey string
	// Renew > 0 extends the lease by this much from now (when kept).
	Renew time.Duration
	// Failed: this attempt failed; it counts against the attempts, and the
	// record's failing time starts if it had not. A step without it (and
	// without an error to retry) ends the run of failures.
	Failed bool
	// SharedWith records the untrashed LMS row keeping the object (StateShared).
	SharedWith int64
	// Upload records a multipart copy back before its parts are copied;
	// ClearUpload forgets it once it completed or was aborted.
	Upload      *Upload
	ClearUpload bool
}

// Upload is a multipart upload trashd started (a copy back into the source
// bucket), recorded so that a later attempt can abort it after a crash.
type Upload struct {
	Key string
	ID  string
}

// Trigger says what started a pass.
type Trigger string

const (
	TriggerManual   Trigger = "manual"
	TriggerSchedule Trigger = "schedule"
	TriggerStartup  Trigger = "startup"
)

// RunStatus is how a pass ended.
type RunStatus string

const (
	RunRunning     RunStatus = "running"
	RunOK          RunStatus = "ok"          // every claimed object reached a settled state
	RunFailed      RunStatus = "failed"      // some objects were recorded failed
	RunInterrupted RunStatus = "interrupted" // stopped by shutdown
	RunError       RunStatus = "error"       // the pass itself could not run (preflight, database)
	// RunAbandoned: the run's process stopped without recording its end
	// (kill -9, a crash, a lost host); its heartbeat lapsed.
	RunAbandoned RunStatus = "abandoned"
)

// A running pass stamps its run's heartbeat every RunHeartbeat; a run still
// recorded running whose heartbeat is older than RunLapse was abandoned.
// The lapse is many beats long, so that a slow database or a host paused
// for a while is not taken for a dead one.
const (
	RunHeartbeat = 30 * time.Second
	RunLapse     = 5 * time.Minute
)

// Counts are a pass's outcomes, recorded in trash_runs.
type Counts struct {
	Discovered  int   // new records created by this pass
	Moved       int   // objects that reached in_trash
	Missing     int   // objects recorded missing, or removed (their trash copy found gone)
	Failed      int   // objects recorded failed
	Retrying    int   // objects left for a later pass after a transient error
	Interrupted int   // objects whose work stopped at shutdown or with a lost lease
	Bytes       int64 // bytes moved into the trash bucket
	Archived    int   // objects seen in the archive class (or expired by the rule)
	Restored    int   // objects brought back for the LMS
	Shared      int   // objects left in place because an untrashed LMS row still names them
}

// UndeletedCopyStates are the states in which a record whose verified trash
// copy is recorded has not recorded its source's delete: it is between its
// copy and in_trash, and may be deleting the source right now.
func UndeletedCopyStates() []State { return []State{StateCopied, StateShared} }
