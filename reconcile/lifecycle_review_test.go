package reconcile_test

import (
	"fmt"
	"net/http"
	"testing"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// A rule on the trash bucket expires every copy after 7 days. The first
// pass of a process (every pass of `trashd reconcile` from a timer) cannot
// read the lifecycle configuration (a 500, or AccessDenied in verify mode):
// no earlier read is remembered, so the moves go on into a bucket that
// deletes them.
func TestReviewLifecycleReadFailsOnFirstPass(t *testing.T) {
	t.Parallel()
	for _, fault := range []s3test.Fault{
		{Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error"},
		{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"},
	} {
		t.Run(fault.Code, func(t *testing.T) {
			t.Parallel()
			env := testworld.New(t, func(o *s3ops.Options) {
				o.RetryMaxAttempts = 1
				o.HTTPClient = s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
					if r.Method == http.MethodGet && r.URL.Query().Has("lifecycle") {
						return fault
					}
					return s3test.Fault{}
				}).Client()
			})
			putExpiringRule(t, env, "expire-after-a-week", 7)
			for i := range 3 {
				env.AddFile(t, fmt.Sprintf("doc/%d", i), []byte("trashed file"), true, 0)
			}
			cfg := env.Config("owner-a")
			cfg.Archive.LifecycleMode = reconcile.LifecycleVerify
			sum, err := env.Runner(t, cfg).Run(passCtx(t), reconcile.TriggerManual)
			if keys := trashObjects(t, env); len(keys) != 0 {
				t.Errorf("configuration unreadable (%s), rule expiring copies after 7 days: %d files moved into the trash bucket (Run err %v, counts %+v)",
					fault.Code, len(keys), err, sum.Counts)
			}
		})
	}
}
