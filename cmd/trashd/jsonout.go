package main

import (
	"encoding/json"
	"io"
	"time"

	"trashd/db"
	"trashd/internal/service"
	"trashd/reconcile"
)

// The --json outputs, documented in docs/operations.md ("JSON output").
// Each command with --json writes exactly one JSON document to stdout; errors
// still go to stderr and the exit code is the same as without --json. Keys
// are exact (JSON escapes control characters itself); times are RFC 3339 in
// UTC; sizes are bytes.

func writeJSONDoc(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// optTime is a time that is null when zero.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

type statusDoc struct {
	Now           time.Time    `json:"now"`
	States        []stateDoc   `json:"states"`
	OldestPending *time.Time   `json:"oldest_pending"`
	Due           int          `json:"due"`
	BackingOff    int          `json:"backing_off"`
	Leased        int          `json:"leased"`
	Runs          []runDoc     `json:"runs"`
	Archive       archiveDoc   `json:"archive"`
	Schedule      scheduleDoc  `json:"schedule"`
	Failed        []failureDoc `json:"failed,omitzero"`  // --failed: every one, [] when none
	Overdue       []overdueDoc `json:"overdue,omitzero"` // --overdue: the oldest 100, [] when none
	Cost          *costDoc     `json:"cost,omitempty"`   // --cost
	// Inventory is the trash bucket's newest inventory report, when
	// TRASHD_INVENTORY_BUCKET is set.
	Inventory *inventoryStatusDoc `json:"inventory,omitempty"`
}

// scheduleDoc is when the next scheduled pass is: as the running service
// says (From "service"), or as TRASHD_SCHEDULE says when the service does
// not answer on the control socket (From "configuration").
type scheduleDoc struct {
	Spec     string     `json:"spec"`
	NextPass *time.Time `json:"next_pass"`
	From     string     `json:"from"`
	Running  *int64     `json:"running_pass,omitempty"` // the service's pass running now
	Error    string     `json:"error,omitempty"`
}

type stateDoc struct {
	State   string `json:"state"`
	Objects int    `json:"objects"`
	Bytes   int64  `json:"bytes"`
}

type runDoc struct {
	ID        int64      `json:"id"`
	Trigger   string     `json:"trigger"`
	Host      string     `json:"host"`
	Status    string     `json:"status"`
	Started   time.Time  `json:"started"`
	Finished  *time.Time `json:"finished"`
	Heartbeat *time.Time `json:"heartbeat"`
	// Stale: recorded running, but its heartbeat is older than the run
	// lapse, so its process probably died; the next pass records it
	// abandoned. StaleForS is the heartbeat's age.
	Stale     bool           `json:"stale"`
	StaleForS float64        `json:"stale_for_s,omitempty"`
	Counts    service.Counts `json:"counts"` // the control API's shape
	Error     string         `json:"error,omitempty"`
}

type archiveDoc struct {
	Mode            string `json:"mode"`
	StorageClass    string `json:"storage_class"`
	TransitionDays  int    `json:"transition_days"`
	Overdue         int    `json:"overdue"`
	OverdueBytes    int64  `json:"overdue_bytes"`
	Ineligible      int    `json:"ineligible"`
	IneligibleBytes int64  `json:"ineligible_bytes"`
	// Copies in Intelligent-Tiering's archive access tiers, as last checked.
	IntelligentTiering intelligentTieringDoc `json:"intelligent_tiering"`
}

type intelligentTieringDoc struct {
	Archived      int   `json:"archived"`
	ArchivedBytes int64 `json:"archived_bytes"`
	Restoring     int   `json:"restoring"`
}

type failureDoc struct {
	LMSID    int64      `json:"lms_id"`
	RecordID int64      `json:"record_id"`
	State    string     `json:"state"`
	Bucket   string     `json:"bucket"`
	Key      string     `json:"key"`
	Attempts int        `json:"attempts"`
	Since    *time.Time `json:"since"`
	Reason   string     `json:"reason"`
	Verified bool       `json:"verified_copy"`
}

type overdueDoc struct {
	LMSID        int64      `json:"lms_id"`
	Bucket       string     `json:"bucket"`
	Key          string     `json:"key"`
	TrashKey     string     `json:"trash_key"`
	Size         int64      `json:"size"`
	StorageClass string     `json:"storage_class"`
	Copied       time.Time  `json:"copied"`
	Checked      *time.Time `json:"checked"`
}

type costDoc struct {
	Classes    []costLineDoc `json:"classes"`
	Monthly    float64       `json:"usd_per_month"`
	AsStandard float64       `json:"usd_per_month_in_standard"`
	Savings    float64       `json:"savings_usd_per_month"`
}

type costLineDoc struct {
	Class         string  `json:"class"`
	Objects       int     `json:"objects"`
	Bytes         int64   `json:"bytes"`
	Overhead      int64   `json:"overhead_bytes"`
	Monthly       float64 `json:"usd_per_month"`
	AsStandard    float64 `json:"usd_per_month_in_standard"`
	Young         int     `json:"younger_than_minimum"`
	EarlyDeletion float64 `json:"early_deletion_usd"`
}

func toStatusDoc(st db.Status, cfg Config, a reconcile.ArchiveStatus) statusDoc {
	d := statusDoc{
		Now: st.Now.UTC(), OldestPending: optTime(st.OldestPending),
		Due: st.Due, BackingOff: st.AwaitingRetry, Leased: st.Leased,
		States: []stateDoc{}, Runs: []runDoc{},
		Archive: archiveDoc{
			Mode: cfg.Reconcile.Archive.Mode, StorageClass: cfg.Reconcile.Archive.Rule.StorageClass,
			TransitionDays: cfg.Reconcile.Archive.Rule.TransitionDays,
			Overdue:        a.Overdue, OverdueBytes: a.OverdueBytes, Ineligible: a.Ineligible, IneligibleBytes: a.IneligibleBytes,
		},
	}
	for _, s := range st.States {
		d.States = append(d.States, stateDoc{State: string(s.State), Objects: s.Count, Bytes: s.Bytes})
	}
	for _, r := range st.Runs {
		rd := runDoc{ID: r.ID, Trigger: string(r.Trigger), Host: r.Host, Status: string(r.Status), Started: r.StartedAt.UTC(),
			Finished: optTime(r.FinishedAt), Counts: service.Counts(r.Counts), Error: r.Error}
		if r.FinishedAt.IsZero() {
			rd.Heartbeat = optTime(r.Heartbeat)
		}
		if staleRun(r) {
			rd.Status, rd.Error = string(reconcile.RunRunning), ""
			rd.Stale, rd.StaleForS = true, st.Now.Sub(r.Heartbeat).Seconds()
		}
		d.Runs = append(d.Runs, rd)
	}
	return d
}

func toFailureDoc(f db.Failure) failureDoc {
	return failureDoc{LMSID: f.LMSID, RecordID: f.ID, State: string(f.State), Bucket: f.Bucket, Key: f.Key,
		Attempts: f.Attempts, Since: optTime(f.FinishedAt), Reason: f.Reason, Verified: f.Verified}
}

func toOverdueDoc(o reconcile.OverdueRecord) overdueDoc {
	return overdueDoc{LMSID: o.LMSID, Bucket: o.Bucket, Key: o.Key, TrashKey: o.TrashKey, Size: o.Size,
		StorageClass: o.StorageClass, Copied: o.CopiedAt.UTC(), Checked: optTime(o.CheckedAt)}
}

func toCostDoc(r reconcile.CostReport) *costDoc {
	c := &costDoc{Classes: []costLineDoc{}, Monthly: r.Monthly, AsStandard: r.AsStandard, Savings: r.Savings}
	for _, l := range r.Lines {
		c.Classes = append(c.Classes, costLineDoc(l))
	}
	return c
}

type auditDoc struct {
	Checked      int            `json:"checked"`
	Problems     int            `json:"problems"`
	Unverifiable int            `json:"unverifiable"`
	Skipped      int            `json:"skipped"`
	Unchecked    int            `json:"unchecked"`
	Findings     []auditFinding `json:"findings"`
	Error        string         `json:"error,omitempty"`
	// Inventory: what the reports did, in `audit --inventory`.
	Inventory *auditInventoryDoc `json:"inventory,omitempty"`
}

// auditFinding is one problem or unverifiable record; Problem says what
// was found, whichever Result it is.
type auditFinding struct {
	LMSID    int64  `json:"lms_id"`
	RecordID int64  `json:"record_id"`
	State    string `json:"state"`
	Result   string `json:"result"` // "problem" or "unverifiable"
	Problem  string `json:"problem"`
}

type lifecycleDoc struct {
	Bucket    string      `json:"bucket"`
	InPlace   bool        `json:"in_place"`
	Applied   bool        `json:"applied"`
	Desired   desiredRule `json:"desired"`
	Rules     []string    `json:"rules"`
	Drift     []string    `json:"drift"`
	Conflicts []string    `json:"conflicts"`
	// Inventory is the trash bucket's inventory configuration, when
	// TRASHD_INVENTORY_BUCKET is set.
	Inventory *inventoryConfigDoc `json:"inventory,omitempty"`
}

type desiredRule struct {
	ID                string `json:"id"`
	Prefix            string `json:"prefix"`
	StorageClass      string `json:"storage_class"`
	TransitionDays    int    `json:"transition_days"`
	ExpirationDays    int    `json:"expiration_days"`
	MinTransitionSize int64  `json:"min_transition_size"`
	AbortUploadsDays  int    `json:"abort_uploads_days"`
}

func toLifecycleDoc(want reconcile.LifecycleRule, rep reconcile.LifecycleReport) lifecycleDoc {
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return lifecycleDoc{
		Bucket: rep.Bucket, InPlace: rep.InPlace(), Applied: rep.Applied,
		Desired: desiredRule{ID: want.ID, Prefix: want.Prefix, StorageClass: want.StorageClass, TransitionDays: want.TransitionDays,
			ExpirationDays: want.ExpirationDays, MinTransitionSize: want.MinTransitionSize(), AbortUploadsDays: want.AbortIncompleteDays},
		Rules: orEmpty(rep.Rules), Drift: orEmpty(rep.Drift), Conflicts: orEmpty(rep.Conflicts),
	}
}

type dryRunDoc struct {
	Discover     int         `json:"would_discover"`
	New          []newRowDoc `json:"new"`
	NewTruncated bool        `json:"new_truncated"`
	Again        int         `json:"would_move_again"` // restored rows trashed again
	Due          int         `json:"due"`
	DueBytes     int64       `json:"due_bytes"`
	Restores     int         `json:"would_restore"`
	Orphans      int         `json:"would_orphan"`
	Brake        string      `json:"brake,omitempty"`
	Changed      bool        `json:"changed"`
}

type newRowDoc struct {
	LMSID  int64  `json:"lms_id"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}
