package reconcile_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// Archive, restore and lifecycle on the servers that have them: moto keeps
// storage classes, refuses archived objects as AWS does and restores at
// once (its default progression); SeaweedFS has them only through the
// project's Glacier emulation (glacier_test.go), versitygw not at all. Each
// test runs on every server and is skipped, by name, where a feature is
// missing.

// directArchive is cfg with copies written straight into GLACIER and
// restores looked at again as soon as a pass comes.
func directArchive(cfg reconcile.Config) reconcile.Config {
	cfg.Archive = reconcile.ArchiveConfig{
		Mode: reconcile.ArchiveDirect, LifecycleMode: reconcile.LifecycleOff,
		Rule:        reconcile.LifecycleRule{StorageClass: "GLACIER"},
		RestorePoll: time.Millisecond, DayLength: dayLength,
	}
	return cfg
}

// archivedWorld moves one file into the trash in GLACIER, checks that the
// pass confirmed it archived and the audit finds it intact, and has the
// LMS restore it: the next pass must bring it back from the archive class.
func archivedWorld(t *testing.T, srv s3test.Server) (w *serverWorld, cfg reconcile.Config, id int64, body []byte) {
	t.Helper()
	s3test.SkipUnless(t, srv, s3test.FeatureStorageClass)
	s3test.SkipUnless(t, srv, s3test.FeatureArchive)
	w = newServerWorld(t, srv)
	body = testworld.Body("archived "+srv.Name, 900)
	id = w.AddFile(t, "cold/thesis.pdf", body, true, 0)
	cfg = directArchive(w.Config("owner-" + srv.Name))
	if sum := run(t, w.runner(t, cfg)); sum.Counts.Moved != 1 || sum.Counts.Archived != 1 {
		t.Fatalf("pass %+v: want the file moved and archived", sum.Counts)
	}
	key := trashKey(t, w.Env, id)
	if c := storageClass(t, w.Env, w.Trash, key); c != "GLACIER" {
		t.Fatalf("the trash copy is in %q, want GLACIER", c)
	}
	if s := stateOf(t, w.Env, id); s != reconcile.StateArchived {
		t.Fatalf("record %s, want archived", s)
	}
	// The audit looks with HEAD, which an archived copy answers.
	if sum, found := audit(t, w.Env); sum.Checked != 1 || sum.Problems != 0 || sum.Unverifiable != 0 || sum.Unchecked != 0 {
		t.Fatalf("audit of the archived copy %+v %v: want it checked and intact", sum, found)
	}
	w.Untrash(t, id)
	return w, cfg, id, body
}

// wantRestored fails t unless LMS row id's file is back at its key, byte
// for byte, and its trash copy gone; the audit then finds it intact too.
func wantRestored(t *testing.T, w *serverWorld, id int64, key string, body []byte) {
	t.Helper()
	rec := ruleRecord(t, w.Env, id)
	if rec.State != reconcile.StateRestored || rec.RestoredKey != key {
		t.Fatalf("record %s at %q (%q), want restored at %q", rec.State, rec.RestoredKey, rec.LastError, key)
	}
	wantObject(t, w.Env, w.Source, key, body, "the restored file")
	wantNoObject(t, w.Env, w.Trash, rec.TrashKey, "the trash copy after the restore")
	w.CheckInvariant(t)
	if sum, found := audit(t, w.Env); sum.Checked != 1 || sum.Problems != 0 || sum.Unverifiable != 0 {
		t.Errorf("audit after the restore %+v %v: want the restored file checked and intact", sum, found)
	}
}

// TestServersRestoreFromArchive: a file whose trash copy is in GLACIER is
// brought back: RestoreObject first (the copy cannot be read), then, once
// the server has restored it, the copy back and the trash copy removed.
func TestServersRestoreFromArchive(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		w, cfg, id, body := archivedWorld(t, srv)
		r := w.runner(t, cfg)
		run(t, r)
		rec := ruleRecord(t, w.Env, id)
		if rec.State != reconcile.StateRestoring {
			t.Fatalf("record %s (%q) after the first restore pass, want restoring", rec.State, rec.LastError)
		}
		if n := len(w.log.of("RestoreObject", w.Trash, rec.TrashKey)); n != 1 {
			t.Errorf("%d RestoreObject of the trash copy, want 1", n)
		}
		if n := len(w.log.of("CopyObject", w.Source, "cold/thesis.pdf")); n != 0 {
			t.Errorf("%d copies back before the restore was done, want none", n)
		}
		due(t, w.Env)
		run(t, r)
		wantRestored(t, w, id, "cold/thesis.pdf", body)
	})
}

// TestServersRestoreCopyRefusedAsArchived: a HEAD says the trash copy is
// restored, but it is not (a restored copy that expired between the HEAD
// and the copy back): the server refuses the copy back — moto with
// ObjectNotInActiveTierError, what AWS's API model names for a copy, where
// a GET gets InvalidObjectState. trashd reads it as "archived" and asks
// for the restore at once, in the same pass, without counting an attempt;
// the next pass brings the file back.
func TestServersRestoreCopyRefusedAsArchived(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		w, cfg, id, body := archivedWorld(t, srv)
		key := trashKey(t, w.Env, id)
		lie := s3test.Once(request("HeadObject", w.Trash, key))
		w.setRule(func(r *http.Request) s3test.Fault {
			w.log.see(r)
			if lie(r) {
				return s3test.Fault{EditResponse: func(resp *http.Response) {
					expiry := time.Now().Add(48 * time.Hour).UTC().Format(http.TimeFormat)
					resp.Header.Set("X-Amz-Restore", `ongoing-request="false", expiry-date="`+expiry+`"`)
				}}
			}
			return s3test.Fault{}
		})
		r := w.runner(t, cfg)
		run(t, r)
		rec := ruleRecord(t, w.Env, id)
		if rec.State != reconcile.StateRestoring || rec.Attempts != 0 {
			t.Errorf("record %s after %d attempts (%q), want restoring, no attempt counted", rec.State, rec.Attempts, rec.LastError)
		}
		// The refused copy is sent direct, then asked again through the
		// SDK: one copy back that trashd made.
		back := slices.DeleteFunc(w.log.of("CopyObject", w.Source, "cold/thesis.pdf"), func(r wireRequest) bool { return r.direct })
		restores := w.log.of("RestoreObject", w.Trash, key)
		if len(back) != 1 || len(restores) != 1 {
			t.Errorf("%d copies back (refused), %d RestoreObject: want the refused copy, then the restore asked for", len(back), len(restores))
		}
		due(t, w.Env)
		run(t, r)
		wantRestored(t, w, id, "cold/thesis.pdf", body)
	})
}

// TestServersLifecycle: on a server that keeps lifecycle configurations,
// a verifying pass reports the rule missing and writes nothing; an
// enforcing pass merges trashd's rule in beside the bucket's own rule,
// which survives as it was; the check then finds it in place, and a second
// apply writes nothing.
func TestServersLifecycle(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		s3test.SkipUnless(t, srv, s3test.FeatureLifecycleConfig)
		w := newServerWorld(t, srv)
		other := types.LifecycleRule{
			ID: aws.String("ops-logs"), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(30)},
		}
		_, err := w.SDK.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
			Bucket: aws.String(w.Trash), LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{other}},
		})
		testworld.Must(t, err)
		cfg := w.Config("owner-" + srv.Name)
		cfg.Archive = reconcile.ArchiveConfig{
			LifecycleMode: reconcile.LifecycleVerify, DayLength: dayLength,
			Rule: reconcile.LifecycleRule{ID: "trashd-archive", Prefix: "trash/", TransitionDays: 30, StorageClass: "GLACIER", AbortIncompleteDays: 7},
		}

		r := w.runner(t, cfg)
		run(t, r)
		lc, ok := r.Lifecycle()
		if !ok || lc.Err != nil || lc.Report.InPlace() || lc.Report.Applied || !strings.Contains(strings.Join(lc.Report.Drift, " "), "trashd-archive") {
			t.Fatalf("verifying pass: lifecycle %+v; want the missing rule named as drift, nothing written", lc)
		}

		cfg.Archive.LifecycleMode = reconcile.LifecycleEnforce
		r = w.runner(t, cfg)
		run(t, r)
		if lc, ok := r.Lifecycle(); !ok || lc.Err != nil || !lc.Report.InPlace() || !lc.Report.Applied {
			t.Fatalf("enforcing pass: lifecycle %+v; want the rule written and in place", lc)
		}
		rep, err := w.S3.CheckLifecycle(t.Context(), w.Trash, cfg.Archive.Rule)
		if err != nil || !rep.InPlace() || len(rep.Conflicts) != 0 {
			t.Errorf("CheckLifecycle after the enforcing pass: %+v, %v; want in place, no conflicts", rep, err)
		}
		out, err := w.SDK.GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(w.Trash)})
		testworld.Must(t, err)
		var ids []string
		for _, rule := range out.Rules {
			ids = append(ids, aws.ToString(rule.ID))
			if aws.ToString(rule.ID) == "ops-logs" {
				if rule.Filter == nil || aws.ToString(rule.Filter.Prefix) != "logs/" || rule.Expiration == nil || aws.ToInt32(rule.Expiration.Days) != 30 {
					t.Errorf("the bucket's own rule came back changed: %+v", rule)
				}
			}
			if aws.ToString(rule.ID) == "trashd-archive" {
				if len(rule.Transitions) != 1 || rule.Transitions[0].StorageClass != types.TransitionStorageClassGlacier || aws.ToInt32(rule.Transitions[0].Days) != 30 {
					t.Errorf("trashd's rule reads back as %+v, want a transition to GLACIER after 30 days", rule.Transitions)
				}
			}
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"ops-logs", "trashd-archive"}) {
			t.Errorf("rules %v, want the bucket's own and trashd's", ids)
		}

		puts := len(w.log.of("PutBucketLifecycleConfiguration", w.Trash, ""))
		rep, err = w.S3.ApplyLifecycle(t.Context(), w.Trash, cfg.Archive.Rule)
		if err != nil || rep.Applied || !rep.InPlace() {
			t.Errorf("a second apply: %+v, %v; want nothing written, the rule in place", rep, err)
		}
		if n := len(w.log.of("PutBucketLifecycleConfiguration", w.Trash, "")); puts != 1 || n != puts {
			t.Errorf("%d writes of the configuration by the enforcing pass, %d after a second apply; want 1 and no more", puts, n-puts)
		}
	})
}
