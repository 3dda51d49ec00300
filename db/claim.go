package db

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"trashd/reconcile"
)

// recordColumns are the trash_objects columns a Record is read from, in
// scanRecord's order.
var recordColumns = recordColumnsOf("")

// recordColumnsOf is recordColumns with each column qualified by alias
// (none when alias is "").
func recordColumnsOf(alias string) string {
	c := func(name string) string {
		if alias == "" {
			return name
		}
		return alias + "." + name
	}
	return strings.Join([]string{
		c("id"), c("lms_id"), c("state"), c("source_bucket"), c("source_key"), c("source_version"), c("source_size"),
		c("source_etag"), c("source_checksum"), c("trash_key"), c("attempts"), c("last_error"), c("lease_owner"), c("lease_token"),
		c("restore_requested_at") + " IS NOT NULL", c("trash_bucket"), c("trash_size"), c("trash_etag"), c("trash_checksum"),
		c("storage_class"), "COALESCE(TIMESTAMPDIFF(MICROSECOND, " + c("failing_since") + ", NOW(6)), 0)",
		"COALESCE(" + c("shared_with") + ", 0)", c("restored_key"), c("upload_key"), c("upload_id"), c("life"), c("source_modified"),
	}, ", ")
}

// ClaimBatch leases up to limit movable records that are due and not leased
// (or whose lease expired), oldest due first. A claim is not an attempt:
// only a step that records a failure counts one (so a crash or an
// interruption uses none up).
// Each record gets its own random lease token, which every later write must
// present. Concurrent claimers, on this host or others, never get the same
// record: rows another claimer has locked are skipped, not waited for.
func (s *Store) ClaimBatch(ctx context.Context, owner string, limit int, lease time.Duration) ([]reconcile.Record, error) {
	// A record the LMS wants back is never moved again: restores take it.
	return s.claim(ctx, owner, limit, lease, claimMoves)
}

// ClaimRestores leases up to limit records to bring back for the LMS (their
// restore was requested), due and not leased, like ClaimBatch.
func (s *Store) ClaimRestores(ctx context.Context, owner string, limit int, lease time.Duration) ([]reconcile.Record, error) {
	return s.claim(ctx, owner, limit, lease, claimRestores)
}

// claimable is what a claim hands out: records in one of states that also
// match where.
type claimable struct {
	states []reconcile.State
	where  string
}

// What ClaimBatch and ClaimRestores hand out.
var (
	claimMoves    = claimable{reconcile.MoveStates(), "restore_requested_at IS NULL"}
	claimRestores = claimable{reconcile.RestoreClaimStates(), "restore_requested_at IS NOT NULL"}
)

func (s *Store) claim(ctx context.Context, owner string, limit int, lease time.Duration, which claimable) ([]reconcile.Record, error) {
	switch {
	case limit <= 0:
		return nil, fmt.Errorf("claim: limit %d is not positive", limit)
	case lease < time.Microsecond:
		return nil, fmt.Errorf("claim: lease %s is too short", lease)
	case owner == "":
		return nil, fmt.Errorf("claim: no owner")
	}
	var recs []reconcile.Record
	err := retryDeadlock(ctx, func() error {
		var err error
		recs, err = s.claimBatch(ctx, clip(owner, maxOwner), limit, lease, which)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim up to %d records for %s: %w", limit, owner, err)
	}
	return recs, nil
}

func (s *Store) claimBatch(ctx context.Context, owner string, limit int, lease time.Duration, which claimable) ([]reconcile.Record, error) {
	// READ COMMITTED: the locking read sees the latest committed leases and
	// locks only the rows it returns, not the gaps between them.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() // after Commit, a no-op

	ids, err := claimableIDs(ctx, tx, limit, which)
	if err != nil || len(ids) == 0 {
		return nil, err
	}

	tokens := make(map[int64]string, len(ids))
	var q strings.Builder
	args := make([]any, 0, 3*len(ids)+2)
	q.WriteString("UPDATE trash_objects SET lease_owner = ?, lease_token = CASE id")
	args = append(args, owner)
	for _, id := range ids {
		tokens[id] = newToken()
		q.WriteString(" WHEN ? THEN ?")
		args = append(args, id, tokens[id])
	}
	q.WriteString(" END, lease_expires_at = NOW(6) + INTERVAL ? MICROSECOND, updated_at = NOW(6)")
	args = append(args, lease.Microseconds())
	q.WriteString(" WHERE id IN (" + placeholders(len(ids)) + ")")
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return nil, err
	}

	args = args[:0]
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+recordColumns+" FROM trash_objects WHERE id IN ("+placeholders(len(ids))+")", args...)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]reconcile.Record, len(ids))
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[rec.ID] = rec
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	recs := make([]reconcile.Record, 0, len(ids))
	for _, id := range ids { // in claim order: oldest due first
		if rec, ok := byID[id]; ok {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// claimableIDs locks up to limit claimable records, those due longest ago
// first. It asks one state at a time so that each locking read walks the
// (state, next_attempt_at) index in order and locks only the rows it
// returns (a read that had to sort would lock every due row, and other
// hosts' claims would find nothing to take); the few extra rows it locks
// are released at commit.
func claimableIDs(ctx context.Context, tx *sql.Tx, limit int, which claimable) ([]int64, error) {
	type due struct {
		id int64
		at time.Time
	}
	var found []due
	for _, state := range which.states {
		rows, err := tx.QueryContext(ctx, `SELECT id, next_attempt_at FROM trash_objects
			WHERE state = ? AND next_attempt_at <= NOW(6) AND `+which.where+`
			  AND (lease_expires_at IS NULL OR lease_expires_at < NOW(6))
			ORDER BY next_attempt_at, id
			LIMIT ?
			FOR UPDATE SKIP LOCKED`, string(state), limit)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.at); err != nil {
				rows.Close()
				return nil, err
			}
			found = append(found, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(found, func(a, b due) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.id, b.id))
	})
	ids := make([]int64, 0, min(limit, len(found)))
	for _, d := range found[:min(limit, len(found))] {
		ids = append(ids, d.id)
	}
	return ids, nil
}

// scanRecord reads a row of recordColumns, and extra columns after them.
func scanRecord(rows *sql.Rows, extra ...any) (reconcile.Record, error) {
	var (
		r                                 reconcile.Record
		state                             string
		version, etag, checksum, trashKey sql.NullString
		lastError, leaseOwner, leaseToken sql.NullString
		size, trashSize                   sql.NullInt64
		trashBucket, trashETag, trashSum  sql.NullString
		class, restoredKey                sql.NullString
		uploadKey, uploadID               sql.NullString
		failingFor                        int64
		modified                          sql.NullTime
	)
	dest := []any{&r.ID, &r.LMSID, &state, &r.Source.Bucket, &r.Source.Key, &version, &size,
		&etag, &checksum, &trashKey, &r.Attempts, &lastError, &leaseOwner, &leaseToken, &r.RestoreRequested,
		&trashBucket, &trashSize, &trashETag, &trashSum, &class, &failingFor, &r.SharedWith,
		&restoredKey, &uploadKey, &uploadID, &r.Life, &modified}
	err := rows.Scan(append(dest, extra...)...)
	if err != nil {
		return r, err
	}
	r.State = reconcile.State(state)
	r.Source.VersionID = version.String
	r.Source.Size = size.Int64
	if !size.Valid && etag.Valid {
		// Moved by its copy alone: the copy's answer told no size.
		r.Source.Size = reconcile.SizeUnknown
	}
	r.Source.ETag = etag.String
	r.Source.Checksum = parseChecksum(checksum.String)
	r.TrashKey = trashKey.String
	r.LastError = lastError.String
	r.Lease = reconcile.Lease{Owner: leaseOwner.String, Token: leaseToken.String}
	if trashETag.Valid || trashSize.Valid {
		r.Copy = reconcile.Object{Bucket: trashBucket.String, Key: trashKey.String, Size: trashSize.Int64,
			ETag: trashETag.String, Checksum: parseChecksum(trashSum.String), StorageClass: class.String}
		if !trashSize.Valid {
			// Recorded before the copy's own size and checksum were kept: the
			// copy was verified equal to the source then, so the source's
			// size and checksum are the copy's.
			r.Copy.Size = r.Source.Size
			if !trashSum.Valid {
				r.Copy.Checksum = r.Source.Checksum
			}
		}
	}
	r.FailingFor = time.Duration(failingFor) * time.Microsecond
	r.Source.LastModified = modified.Time
	r.RestoredKey = restoredKey.String
	r.Upload = reconcile.Upload{Key: uploadKey.String, ID: uploadID.String}
	return r, nil
}

// formatChecksum and parseChecksum store a checksum as "ALGORITHM:value" in
// one column; S3's values are base64 and never hold a colon.
func formatChecksum(c reconcile.Checksum) string {
	if c.Algorithm == "" && c.Value == "" {
		return ""
	}
	return c.Algorithm + ":" + c.Value
}

func parseChecksum(s string) reconcile.Checksum {
	algorithm, value, _ := strings.Cut(s, ":")
	return reconcile.Checksum{Algorithm: algorithm, Value: value}
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand's documented contract)
	return hex.EncodeToString(b)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
