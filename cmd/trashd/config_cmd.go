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
		args: "[--json]",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli, []string) error {
			asJSON := fs.Bool("json", false, "print one JSON document instead (the shape is in docs/operations.md)")
			return func(_ context.Context, c *cli, _ []string) error {
				return runConfig(c.stdout, *asJSON)
			}
		},
	}
}

// runConfig prints the effective configuration: every variable, its value
// (secrets redacted) and whether it was set or defaulted.
func runConfig(stdout io.Writer, asJSON bool) error {
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
	type variable struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Source string `json:"source"`
	}
	vars := make([]variable, 0, len(lines))
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
		vars = append(vars, variable{name, val, src})
	}
	_, perr := parse(e)
	if asJSON {
		problems := []string{}
		if perr != nil {
			// "invalid configuration:" and then one problem a line.
			for _, l := range strings.Split(perr.Error(), "\n")[1:] {
				problems = append(problems, strings.TrimSpace(l))
			}
		}
		if err := writeJSONDoc(stdout, struct {
			Variables []variable `json:"variables"`
			Problems  []string   `json:"problems"`
		}{vars, problems}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VARIABLE\tVALUE\tSOURCE")
		for _, v := range vars {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, escapeKey(v.Value), v.Source)
		}
		tw.Flush()
	}
	return configErr(perr)
}

func secret(name string) bool {
	return strings.HasSuffix(name, "_PASSWORD") || strings.Contains(name, "SECRET")
}
