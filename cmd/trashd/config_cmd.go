package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

func configCommand() command {
	return command{
		name:    "config",
		summary: "print the effective configuration, secrets redacted",
		about: "Print every TRASHD_* variable with its effective value and whether it was set or defaulted,\n" +
			"secrets redacted. Exit 2 when the configuration has a problem (each one is named).",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			return func(_ context.Context, c *cli, _ []string) error {
				return runConfig(c.stdout)
			}
		},
	}
}

// runConfig prints the effective configuration: every variable, its value
// (secrets redacted) and whether it was set or defaulted.
func runConfig(stdout io.Writer) error {
	e, err := readEnv()
	if err != nil {
		return configErr(err)
	}
	var b strings.Builder
	if err := envconfig.Usagef("TRASHD", &e, &b, "{{range .}}{{.Key}}\t{{.Tags.Get \"default\"}}\n{{end}}"); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	sort.Strings(lines)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tVALUE\tSOURCE")
	for _, l := range lines {
		name, def, _ := strings.Cut(l, "\t")
		val, set := os.LookupEnv(name)
		src := "environment"
		if !set {
			val, src = def, "default"
		}
		if secret(name) && val != "" {
			val = "(redacted)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, escapeKey(val), src)
	}
	tw.Flush()
	if _, err := parse(e); err != nil {
		return configErr(err)
	}
	return nil
}

func secret(name string) bool {
	return strings.HasSuffix(name, "_PASSWORD") || strings.Contains(name, "SECRET")
}
