package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Schedules that never fire or fire too often are refused before anything
// starts; one that works but not as it reads is warned about.
func TestBadInputsSchedule(t *testing.T) {
	w := newBadWorld(t)
	env := w.env
	before := takeFingerprint(t, env)
	socket := filepath.Join(t.TempDir(), "serve.sock")
	serve := func(schedule string) []string {
		return []string{"TRASHD_SCHEDULE=" + schedule, "TRASHD_CONTROL_SOCKET=" + socket, "TRASHD_METRICS_ADDR=", "TRASHD_RUN_AT_START=true"}
	}
	for _, tc := range []badCase{
		{"every zero seconds", serve("@every 0s"), []string{"serve"}, 2, []string{"TRASHD_SCHEDULE", `"@every 0s"`, "positive interval"}, 0},
		{"every negative", serve("@every -15m"), []string{"serve"}, 2, []string{"TRASHD_SCHEDULE", `"@every -15m"`, "positive interval"}, 0},
		{"every 30 seconds", serve("@every 30s"), []string{"serve"}, 2, []string{"TRASHD_SCHEDULE", "more often than once every 1m0s", "@every 1m"}, 0},
		{"31 February", serve("0 0 31 2 *"), []string{"serve"}, 2, []string{"TRASHD_SCHEDULE", `"0 0 31 2 *"`, "never fires", "31 in February"}, 0},
		{"day of week 8", serve("0 3 * * 8"), []string{"serve"}, 2, []string{"TRASHD_SCHEDULE", "Sunday 0 or 7"}, 0},
		{"never fires, config", serve("0 0 30 2 *"), []string{"config"}, 2, []string{"TRASHD_SCHEDULE", "never fires"}, 0},
		{"step over its range warns", serve("*/90 * * * *"), []string{"status"}, 0, []string{"warning", "TRASHD_SCHEDULE", "/90", "minute 0, hourly", "@every 90m"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := trashdQuick(t, 30*time.Second, with(w.vars, tc.vars...), tc.args...)
			out := r.stderr + r.stdout
			if r.code != tc.code {
				t.Errorf("trashd %s with %q: exit %d, want %d\n%s", strings.Join(tc.args, " "), tc.vars, r.code, tc.code, out)
			}
			for _, want := range tc.wants {
				if !strings.Contains(out, want) {
					t.Errorf("trashd %s with %q: output does not mention %q:\n%s", strings.Join(tc.args, " "), tc.vars, want, out)
				}
			}
			if d := before.diff(takeFingerprint(t, env)); d != "" {
				t.Errorf("trashd %s with %q changed things: %s", strings.Join(tc.args, " "), tc.vars, d)
			}
		})
	}
}
