package main

import (
	"bytes"
	"strings"
	"testing"
)

// A log line written while the progress line is drawn on the same terminal
// clears the line, takes a line of its own, and the progress is drawn again
// below it: never "2 missing{"time":…".
func TestLogLineKeepsClearOfTheProgressLine(t *testing.T) {
	var term bytes.Buffer // stdout and stderr on one terminal
	line := &liveLine{w: &term}
	stderr := &lineAware{w: &term, line: line}
	log := newLogger(stderr, "info", "text")

	line.draw("run 1 moving: 3/10 objects")
	log.Info("object failed", "key", "a\nb")
	line.draw("run 1 moving: 4/10 objects")
	line.end()
	log.Info("after")

	got := term.String()
	want := clearLine + "run 1 moving: 3/10 objects" + clearLine
	if !strings.HasPrefix(got, want) {
		t.Fatalf("the log line did not clear the progress line first:\n%q", got)
	}
	rest := got[len(want):]
	logLine, rest, _ := strings.Cut(rest, "\n")
	if !strings.Contains(logLine, `msg="object failed"`) || !strings.Contains(logLine, `key="a\nb"`) {
		t.Errorf("log line %q: want the message, the key escaped", logLine)
	}
	if want := "run 1 moving: 3/10 objects" + clearLine + "run 1 moving: 4/10 objects\n"; !strings.HasPrefix(rest, want) {
		t.Errorf("after the log line: %q, want the progress redrawn, then ended by %q", rest, want)
	}
	if !strings.HasSuffix(got, "msg=after\n") || strings.Count(got, "4/10") != 1 {
		t.Errorf("a log line after the end redrew the line:\n%q", got)
	}
}

func TestLogFormat(t *testing.T) {
	for _, tc := range []struct{ format, prefix string }{
		{"auto", `{"time":`}, // not a terminal: JSON
		{"json", `{"time":`},
		{"text", "time="},
	} {
		var b bytes.Buffer
		newLogger(&b, "info", tc.format).Info("hello")
		if !strings.HasPrefix(b.String(), tc.prefix) {
			t.Errorf("format %s: %q, want it to start %q", tc.format, b.String(), tc.prefix)
		}
	}
}
