package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// Logs go to stderr: text on a terminal, JSON otherwise (the journal, a
// file, a pipe), or as TRASHD_LOG_FORMAT says. stdout is the command's
// result, and on a terminal the live progress line.

// newLogger returns a logger writing to w at level, in format (auto, json
// or text; both validated by parse).
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "text" || (format != "json" && isTerminal(w)) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	if lw, ok := w.(*lineAware); ok {
		w = lw.w
	}
	if o, ok := w.(*output); ok {
		w = o.f
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// liveLine is the progress line redrawn in place on a terminal. Anything
// else written to the same terminal (a log line on stderr) first clears it
// and then draws it again below, so that the two never run into one line.
type liveLine struct {
	mu    sync.Mutex
	w     io.Writer // the terminal the line is drawn on
	line  string
	drawn bool
}

const clearLine = "\r\033[K"

// draw replaces the line with s.
func (l *liveLine) draw(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line, l.drawn = s, true
	fmt.Fprint(l.w, clearLine+s)
}

// end leaves the line as it is and moves on to a new one, so that what
// follows starts on its own line.
func (l *liveLine) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		fmt.Fprintln(l.w)
		l.drawn, l.line = false, ""
	}
}

// around writes with write while the line is cleared, then redraws it.
func (l *liveLine) around(write func() (int, error)) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		fmt.Fprint(l.w, clearLine)
	}
	n, err := write()
	if l.drawn {
		fmt.Fprint(l.w, l.line)
	}
	return n, err
}

// lineAware is a writer (stderr) that keeps clear of a live line on
// another writer (stdout). slog writes each record with one Write.
type lineAware struct {
	w    io.Writer
	line *liveLine
}

func (a *lineAware) Write(p []byte) (int, error) {
	return a.line.around(func() (int, error) { return a.w.Write(p) })
}

// output is stdout or stderr, which a reader may close before the command
// ends (`trashd reconcile | head -3`, a dropped SSH session). SIGPIPE is
// ignored (main), so a write there fails with EPIPE; from then on output
// drops what it is given and reports it written, so that neither a log line
// nor the progress line ends the pass, retries, or pays a system call again.
type output struct {
	f      *os.File
	closed atomic.Bool
}

func newOutput(f *os.File) *output { return &output{f: f} }

func (o *output) Write(p []byte) (int, error) {
	if o.closed.Load() {
		return len(p), nil
	}
	n, err := o.f.Write(p)
	if err != nil && (errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EIO)) {
		// EIO: the terminal of a dropped SSH session.
		o.closed.Store(true)
		return len(p), nil
	}
	return n, err
}
