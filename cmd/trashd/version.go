package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the version",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			return func(_ context.Context, c *cli, _ []string) error {
				fmt.Fprintln(c.stdout, "trashd", version())
				return nil
			}
		},
	}
}

// Version is set at build time with -ldflags "-X main.Version=…"; otherwise
// the module's VCS stamp is used.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return info.Main.Version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
