package main

import (
	"io"
	"log/slog"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by parse
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
