package service

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinInterval is the shortest time between two scheduled passes that a
// schedule may ask for. A pass claims, renews leases, probes the buckets
// and records a run: a schedule firing every few seconds is a mistake (a
// negative or zero @every fires every second), not a wish.
const MinInterval = time.Minute

// lookAhead is how far ParseSchedule looks for a schedule's first
// activation: a schedule with none in five years (day 31 of February)
// never runs a pass, and is refused rather than left silent. It is also
// the horizon of cron's own search.
const lookAhead = 5 * 366 * 24 * time.Hour

// Schedule is a checked TRASHD_SCHEDULE: standard 5-field cron,
// descriptors (@hourly, @every 15m) and an optional CRON_TZ= prefix.
type Schedule struct {
	Spec  string
	sched cron.Schedule
}

// Next is the first activation after t; zero when there is none.
func (s Schedule) Next(t time.Time) time.Time { return s.sched.Next(t) }

const scheduleHelp = `use 5 fields like "*/15 * * * *" (minute hour day-of-month month day-of-week, Sunday 0 or 7), ` +
	`or "@every 15m", "@hourly", "@daily"; an optional CRON_TZ=Zone/Name prefix`

// ParseSchedule checks spec: it must parse, fire at least once within the
// next five years from now, and never fire twice within MinInterval. The
// warnings are for a spec that works but likely not as meant (a step larger
// than its field's range).
func ParseSchedule(spec string, now time.Time) (Schedule, []string, error) {
	fields := strings.Fields(spec)
	prefix := ""
	if len(fields) > 0 && (strings.HasPrefix(fields[0], "CRON_TZ=") || strings.HasPrefix(fields[0], "TZ=")) {
		prefix, fields = fields[0]+" ", fields[1:]
	}
	var warnings []string
	switch {
	case len(fields) > 0 && fields[0] == "@every":
		d, err := time.ParseDuration(strings.Join(fields[1:], ""))
		switch {
		case err != nil:
			return Schedule{}, nil, fmt.Errorf("schedule %q: the interval after @every: %w (%s)", spec, err, scheduleHelp)
		case d <= 0:
			return Schedule{}, nil, fmt.Errorf("schedule %q: @every needs a positive interval of at least %s, e.g. \"@every 15m\"", spec, MinInterval)
		}
	case len(fields) == 5:
		fields[4] = sundaySeven(fields[4])
		warnings = stepWarnings(spec, fields)
	}
	sched, err := cron.ParseStandard(prefix + strings.Join(fields, " "))
	if err != nil {
		return Schedule{}, nil, fmt.Errorf("schedule %q: %w (%s)", spec, err, scheduleHelp)
	}
	first := sched.Next(now)
	if first.IsZero() || first.Sub(now) > lookAhead {
		return Schedule{}, nil, fmt.Errorf("schedule %q never fires: no date within the next 5 years matches it "+
			"(a day of the month that the month does not have, like 31 in February?); the service would never run a pass", spec)
	}
	// Cron's fields cannot fire twice a minute, but @every can, and a
	// negative or zero interval fires every second.
	prev := first
	for range 4 {
		next := sched.Next(prev)
		if gap := next.Sub(prev); !next.IsZero() && gap < MinInterval {
			return Schedule{}, nil, fmt.Errorf("schedule %q fires every %s: more often than once every %s, the shortest interval between passes; "+
				"use \"@every %s\" or longer", spec, gap, MinInterval, MinInterval)
		}
		prev = next
	}
	return Schedule{Spec: spec, sched: sched}, warnings, nil
}

// sundaySeven reads 7 in the day-of-week field as Sunday, as Vixie cron
// does; the cron parser knows only 0-6. A list item "7" becomes "0" and a
// range ending in 7 ("5-7") ends in 6 and adds 0.
func sundaySeven(dow string) string {
	items := strings.Split(dow, ",")
	for i, it := range items {
		switch {
		case it == "7":
			items[i] = "0"
		case strings.HasSuffix(it, "-7") && !strings.Contains(it, "/"):
			items[i] = strings.TrimSuffix(it, "-7") + "-6,0"
		}
	}
	return strings.Join(items, ",")
}

// cronFields are the five fields' names and ranges, in order.
var cronFields = []struct {
	name   string
	lo, hi int
	unit   string // what a step that matches only the first value amounts to
}{
	{"minute", 0, 59, "hourly"},
	{"hour", 0, 23, "daily"},
	{"day-of-month", 1, 31, "monthly"},
	{"month", 1, 12, "yearly"},
	{"day-of-week", 0, 6, "weekly"},
}

// stepWarnings warns of a step as large as its field's range ("*/90" in
// the minute field): cron does not carry a step over into the next hour,
// so it matches only the range's first value.
func stepWarnings(spec string, fields []string) []string {
	var out []string
	for i, f := range cronFields {
		for _, it := range strings.Split(fields[i], ",") {
			rng, stepText, ok := strings.Cut(it, "/")
			if !ok {
				continue
			}
			step, err := strconv.Atoi(stepText)
			if err != nil || step <= 0 {
				continue // the parser says what is wrong
			}
			lo, hi := f.lo, f.hi
			if a, b, isRange := strings.Cut(rng, "-"); isRange {
				lo, _ = strconv.Atoi(a)
				hi, _ = strconv.Atoi(b)
			} else if rng != "*" {
				continue // "5/90": from 5 to the end of the range
			}
			if step > hi-lo {
				hint := ""
				if f.name == "minute" {
					hint = fmt.Sprintf(` (for every %d minutes use "@every %dm")`, step, step)
				}
				out = append(out, fmt.Sprintf("schedule %q: the step /%d in the %s field is larger than the field's range (%d-%d): "+
					"a step does not carry over, so it fires only at %s %d, %s%s", spec, step, f.name, f.lo, f.hi, f.name, lo, f.unit, hint))
			}
		}
	}
	return out
}
