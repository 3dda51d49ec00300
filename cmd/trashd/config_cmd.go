package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

func configCommand() command {
	return command{
		name:    "config",
		summary: "print the effective configuration, secrets redacted",
		about: "Print every TRASHD_* variable with its effective value and whether it was set or defaulted,\n" +
			"secrets redacted. Exit 2 when the configuration has a problem (each one is named).",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			return func(_ context.Context, c *cli, _ []string) error {
				return runConfig(c.stdout, c.stderr)
			}
		},
	}
}

// runConfig prints the effective configuration: every variable, its value
// (secrets redacted) and whether it was set or defaulted, then every TRASHD_
// variable that is set but unknown. It fails (code 2) when the configuration
// is invalid or a variable is unknown (a misspelt one is otherwise ignored).
func runConfig(stdout, stderr io.Writer) error {
	e, err := readEnv()
	if err != nil {
		return configErr(err)
	}
	vars := variables()
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tVALUE\tSOURCE")
	for _, v := range vars {
		val, src := e.value(v), "default"
		if _, set := os.LookupEnv(v.Name); set {
			src = "environment"
		}
		if secret(v.Name) && val != "" {
			val = "(redacted)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, escapeKey(val), src)
	}
	for _, u := range e.unknown {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, "(unknown: ignored)", "environment")
	}
	tw.Flush()
	if _, err := parse(e); err != nil {
		return configErr(err)
	}
	if len(e.unknown) > 0 {
		var names []string
		for _, u := range e.unknown {
			names = append(names, u.String())
		}
		return configErr(errors.New(strings.Join(names, "\n  ")))
	}
	return nil
}

func secret(name string) bool {
	return strings.HasSuffix(name, "_PASSWORD") || strings.Contains(name, "SECRET")
}
