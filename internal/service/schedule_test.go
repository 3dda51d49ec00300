package service

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 7, 22, 0, 0, time.UTC)
	for _, ok := range []string{"*/15 * * * *", "@every 15m", "@every 1m", "@hourly", "CRON_TZ=Europe/Berlin 0 3 * * *",
		"0 3 29 2 *", "0 3 * * 7", "0 3 * * 5-7", "0 3 * * 1,7"} {
		if _, warnings, err := ParseSchedule(ok, now); err != nil || len(warnings) > 0 {
			t.Errorf("ParseSchedule(%q) = %v, %q", ok, err, warnings)
		}
	}
	for _, bad := range []struct{ spec, want string }{
		{"", "5 fields"},
		{"every 15m", "5 fields"},
		{"* * *", "5 fields"},
		{"61 * * * *", "5 fields"},
		{"CRON_TZ=Mars/Base 0 3 * * *", "CRON_TZ"},
		{"@every 0s", "positive interval"},
		{"@every -15m", "positive interval"},
		{"@every soon", "the interval after @every"},
		{"@every 30s", "more often than once every 1m0s"},
		{"0 0 31 2 *", "never fires"},
		{"0 0 30 2 *", "never fires"},
		{"0 3 * * 8", "Sunday 0 or 7"},
	} {
		_, _, err := ParseSchedule(bad.spec, now)
		if err == nil || !strings.Contains(err.Error(), `"`+bad.spec+`"`) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseSchedule(%q) = %v, want an error quoting it and saying %q", bad.spec, err, bad.want)
		}
	}
	// 7 is Sunday, as in Vixie cron.
	seven, _, _ := ParseSchedule("0 3 * * 7", now)
	zero, _, _ := ParseSchedule("0 3 * * 0", now)
	if a, b := seven.Next(now), zero.Next(now); !a.Equal(b) || a.Weekday() != time.Sunday {
		t.Errorf("0 3 * * 7 next %v, 0 3 * * 0 next %v; want the same Sunday", a, b)
	}
	weekend, _, _ := ParseSchedule("0 3 * * 5-7", now)
	var days []time.Weekday
	for t := now; len(days) < 3; {
		t = weekend.Next(t)
		days = append(days, t.Weekday())
	}
	if days[0] != time.Friday || days[1] != time.Saturday || days[2] != time.Sunday {
		t.Errorf("5-7 fires on %v, want Friday, Saturday, Sunday", days)
	}
	// A step larger than its field's range works, with a warning.
	for _, w := range []struct{ spec, want string }{
		{"*/90 * * * *", "minute 0, hourly"},
		{"0 */30 * * *", "hour 0, daily"},
	} {
		_, warnings, err := ParseSchedule(w.spec, now)
		if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], w.want) || !strings.Contains(warnings[0], "larger than the field's range") {
			t.Errorf("ParseSchedule(%q) = %v, %q; want one warning saying %q", w.spec, err, warnings, w.want)
		}
	}
}

// syncBuffer is a log destination that the schedule's goroutine writes
// and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// The schedule's loop on the bubble's clock: each pass starts on an
// activation, the next one is announced before it, and a pass that lasts
// longer than the interval skips the activations it spans instead of
// overlapping them.
func TestRunScheduleOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sched, _, err := ParseSchedule("*/15 * * * *", start)
		if err != nil {
			t.Fatal(err)
		}
		var log syncBuffer
		var (
			mu     sync.Mutex
			starts []time.Time
			nexts  []time.Time
		)
		stopped := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			runSchedule(stopped, sched, realTimer, slog.New(slog.NewTextHandler(&log, nil)),
				func(next time.Time) { mu.Lock(); nexts = append(nexts, next); mu.Unlock() },
				func() bool {
					mu.Lock()
					starts = append(starts, time.Now())
					n := len(starts)
					mu.Unlock()
					if n == 2 {
						time.Sleep(40 * time.Minute) // the second pass outlasts two activations
					}
					return true
				})
		}()
		time.Sleep(2 * time.Hour)
		close(stopped)
		<-done

		mu.Lock()
		defer mu.Unlock()
		first := sched.Next(start)
		// 0, 15 (lasts to 55), then 60, 75, ... up to two hours.
		want := []time.Time{first, first.Add(15 * time.Minute)}
		for at := first.Add(60 * time.Minute); !at.After(start.Add(2 * time.Hour)); at = at.Add(15 * time.Minute) {
			want = append(want, at)
		}
		if len(starts) != len(want) {
			t.Fatalf("passes at %v, want at %v", starts, want)
		}
		for i := range want {
			if !starts[i].Equal(want[i]) {
				t.Errorf("pass %d at %v, want %v", i, starts[i], want[i])
			}
			if !nexts[i].Equal(want[i]) {
				t.Errorf("next pass %d announced as %v, want %v", i, nexts[i], want[i])
			}
		}
		if n := strings.Count(log.String(), "next pass at "); n != len(nexts) {
			t.Errorf("%d \"next pass at\" lines for %d waits:\n%s", n, len(nexts), log.String())
		}
		if !strings.Contains(log.String(), "next pass at "+first.Format(time.RFC3339)) {
			t.Errorf("the log does not name the first pass's time %s:\n%s", first.Format(time.RFC3339), log.String())
		}
	})
}

// An @every schedule fires at its interval on the bubble's clock, and the
// loop ends at once when it is stopped while waiting.
func TestRunScheduleEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		sched, _, err := ParseSchedule("@every 10m", start)
		if err != nil {
			t.Fatal(err)
		}
		var passes []time.Time
		stopped := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			runSchedule(stopped, sched, realTimer, slog.New(slog.DiscardHandler), func(time.Time) {},
				func() bool { passes = append(passes, time.Now()); return true })
		}()
		time.Sleep(35 * time.Minute)
		synctest.Wait()
		close(stopped)
		<-done
		if len(passes) != 3 {
			t.Fatalf("passes at %v, want 3 in 35 minutes", passes)
		}
		for i, p := range passes {
			if want := start.Add(time.Duration(i+1) * 10 * time.Minute).Truncate(time.Second); !p.Equal(want) {
				t.Errorf("pass %d at %v, want %v", i, p, want)
			}
		}
	})
}
