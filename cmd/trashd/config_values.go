package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"trashd/reconcile"
)

// problems collects configuration errors, each naming its variable.
type problems struct {
	list []string
	// unreadable are the variables whose value did not parse at all: the
	// options' Validate would only repeat them with the zero value.
	unreadable map[string]bool
	// crlf: a value ends in a carriage return, as every value of an env
	// file with CRLF line endings does; said once, after the problems.
	crlf bool
}

func (p *problems) add(name, msg string) { p.list = append(p.list, name+": "+msg) }

// refuse reports a value that cannot be used at all: the options' Validate
// would only repeat it.
func (p *problems) refuse(name, msg string) {
	if p.unreadable == nil {
		p.unreadable = map[string]bool{}
	}
	p.unreadable[name] = true
	p.add(name, msg)
}

// unreadableValue reports a value that does not parse as what name holds.
func (p *problems) unreadableValue(name, v, what string) {
	p.refuse(name, fmt.Sprintf("%q is not %s", v, what))
}

// controlChars refuses a value with a control character, and reports
// whether it did. No setting holds one: a "\r" left by a CRLF env file
// would otherwise end up in trash keys, in the lifecycle rule's id (which
// then never matches the bucket's, and each --apply adds another rule) or
// in credentials. A secret's value is never shown.
func (p *problems) controlChars(name, v string, secret bool) bool {
	i := strings.IndexFunc(v, unicode.IsControl)
	if i < 0 {
		return false
	}
	r, _ := utf8.DecodeRuneInString(v[i:])
	where := fmt.Sprintf("%q at byte %d", r, i)
	if r == '\r' && i == len(v)-1 {
		where = `"\r" (a carriage return) at its end`
	}
	if strings.HasSuffix(v, "\r") {
		p.crlf = true
	}
	shown := fmt.Sprintf("%q has", v)
	if secret {
		shown = "the value has"
	}
	p.refuse(name, fmt.Sprintf("%s a control character, %s; remove it", shown, where))
	return true
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	list := p.list
	if p.crlf {
		list = append(list[:len(list):len(list)], "values end in a carriage return (\\r): was the env file saved with CRLF line endings? "+
			"convert it to LF line endings (dos2unix FILE, or sed -i 's/\\r$//' FILE)")
	}
	return errors.New("invalid configuration:\n  " + strings.Join(list, "\n  "))
}

// fields reports the problems of an options struct's Validate (under
// Config's field prefix, "Reconcile") by the variables that set the fields.
func (p *problems) fields(prefix string, err error) {
	name := func(field string) string {
		if v := varOf(prefix + "." + field); v != "" {
			return v
		}
		return prefix + "." + field // a field no variable sets: cmd's own bug
	}
	for _, fe := range reconcile.FieldErrors(err) {
		v := name(fe.Field)
		if p.unreadable[v] {
			continue
		}
		p.add(v, fe.Text(name))
	}
	// Validate methods return only FieldErrors; anything else is reported
	// as it is rather than lost.
	if err != nil && len(reconcile.FieldErrors(err)) == 0 {
		p.add(prefix, err.Error())
	}
}

func (p *problems) int(name, v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		p.unreadableValue(name, v, "a whole number")
	}
	return n
}

// float parses a number; NaN and infinities parse, and the options'
// Validate refuses them where they make no sense.
func (p *problems) float(name, v, what string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		p.unreadableValue(name, v, what)
	}
	return f
}

func (p *problems) bool(name, v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		p.unreadableValue(name, v, "true or false")
	}
	return b
}

func (p *problems) duration(name, v string) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		p.unreadableValue(name, v, "a positive duration such as 30s, 5m or 1h")
	}
	return d
}

func (p *problems) oneOf(name, v string, allowed ...string) string {
	if !slices.Contains(allowed, v) {
		p.unreadableValue(name, v, "one of "+strings.Join(allowed, ", "))
	}
	return v
}

// bytes parses sizes such as 5GiB, 256MiB, 8MB or a plain number of bytes.
func (p *problems) bytes(name, v string) int64 {
	n, err := parseBytes(v)
	if err != nil {
		p.unreadableValue(name, v, "a size such as 64MiB, 5GiB or a number of bytes")
	}
	return n
}

var units = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err == nil && (n > math.MaxInt64/u.mult || n < math.MinInt64/u.mult) {
				return 0, fmt.Errorf("%s: too large", v)
			}
			return n * u.mult, err
		}
	}
	return strconv.ParseInt(v, 10, 64)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// formatDuration writes d as an operator would: 5m, 1h, 24h, 1h30m, 30s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func formatPrice(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
