package s3ops_test

import (
	"strings"
	"testing"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// TestProbeConditionsOnEachServer holds each server to what it is known to
// honour (s3test.Server.Ignores), both ways: the probe finds every
// condition the server ignores not honoured, by what the server did (a
// success answer that overwrote, made or deleted its object), and every
// other one honoured, on an unversioned bucket and a versioned one alike;
// and it leaves nothing behind on any of them.
func TestProbeConditionsOnEachServer(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		for _, versioned := range []bool{false, true} {
			t.Run(map[bool]string{false: "unversioned", true: "versioned"}[versioned], func(t *testing.T) {
				t.Parallel()
				if versioned {
					s3test.SkipUnless(t, srv, s3test.FeatureVersioning)
				}
				c := s3test.NewClientFor(t, srv)
				bucket := s3test.NewBucket(t, c.S3(), "s3ops-probe-"+srv.Name)
				if versioned {
					s3test.EnableVersioning(t, c.S3(), bucket)
				}
				caps, err := c.ProbeConditions(t.Context(), bucket)
				if err != nil {
					t.Fatalf("ProbeConditions: %v", err)
				}
				want := map[reconcile.Condition]reconcile.Answer{}
				for _, cond := range srv.Ignores {
					want[cond] = reconcile.NotHonoured
				}
				assertAnswers(t, caps, want)
				for _, cond := range srv.Ignores {
					// Judged by the deed, not by the answer alone.
					if why := caps.Why[cond]; !strings.Contains(why, "the object was") {
						t.Errorf("%s: not honoured because %q, want what the server did to the object", cond, why)
					}
				}
				if caps.Versioned != versioned {
					t.Errorf("versioned %v, want %v", caps.Versioned, versioned)
				}
				assertNothingLeft(t, c.S3(), bucket)
			})
		}
	})
}
