package s3ops_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// killedProbe runs a probe on bucket that dies after putting its objects:
// nothing it sends after its puts reaches the server, its removal
// included, as for a process killed midway. It returns the prefix of the
// run's own objects.
func killedProbe(t *testing.T, bucket string) string {
	t.Helper()
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) != "PutObject" {
			return s3test.Fault{Err: errors.New("the process was killed")}
		}
		return s3test.Fault{}
	})
	c := newProber(t, nil, func(o *s3ops.Options) { o.HTTPClient, o.RetryMaxAttempts = ft.Client(), 1 })
	if _, err := c.ProbeConditions(t.Context(), bucket); err != nil {
		t.Fatalf("the probe to kill: %v", err)
	}
	_, key, _ := strings.Cut(ft.Requests()[0], "/")
	dir := key[:strings.LastIndexByte(key, '/')+1]
	if !strings.HasPrefix(dir, reconcile.ProbePrefix) {
		t.Fatalf("the probe's first request %q is not under %s", ft.Requests()[0], reconcile.ProbePrefix)
	}
	return dir
}

// TestProbeRemovesWhatKilledProbesLeft: a probe removes the objects (every
// version and delete marker, on a versioned bucket) of a probe killed more
// than an hour ago, by the server's clock, and its own; it leaves alone
// those of a probe killed moments ago, which may be another host's probe
// still running.
func TestProbeRemovesWhatKilledProbesLeft(t *testing.T) {
	t.Parallel()
	for _, versioned := range []bool{false, true} {
		t.Run(map[bool]string{false: "unversioned", true: "versioned"}[versioned], func(t *testing.T) {
			t.Parallel()
			seed, bucket := probeBucket(t, versioned)
			old, young := killedProbe(t, bucket), killedProbe(t, bucket)
			left := probeEntries(t, seed, bucket)
			if !slices.ContainsFunc(left, func(e string) bool { return strings.HasPrefix(e, old) }) ||
				!slices.ContainsFunc(left, func(e string) bool { return strings.HasPrefix(e, young) }) {
				t.Fatalf("the killed probes left %q, want objects of both", left)
			}

			// The server lists the first killed probe's objects as they
			// will be listed an hour and a minute from now.
			aged := func(r *http.Request) s3test.Fault {
				if op := s3test.Operation(r); op == "ListObjects" || op == "ListObjectVersions" {
					return s3test.Fault{EditResponse: s3test.EditBody(s3test.AgeListing(old, time.Hour+time.Minute))}
				}
				return s3test.Fault{}
			}
			caps, err := newProber(t, aged).ProbeConditions(t.Context(), bucket)
			if err != nil {
				t.Fatal(err)
			}
			assertAnswers(t, caps, nil)
			var kept []string
			for _, e := range probeEntries(t, seed, bucket) {
				if !strings.HasPrefix(e, young) {
					t.Errorf("%s: still there", e)
				}
				kept = append(kept, e)
			}
			want := slices.DeleteFunc(left, func(e string) bool { return !strings.HasPrefix(e, young) })
			slices.Sort(kept)
			slices.Sort(want)
			if !slices.Equal(kept, want) {
				t.Errorf("kept %q, want the young probe's %q", kept, want)
			}
		})
	}
}
