package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

func configCommand() command {
	return command{
		name:    "config",
		summary: "print the effective configuration, secrets redacted",
		about: "Print every TRASHD_* variable with its effective value and whether it was set or defaulted,\n" +
			"secrets redacted, and every TRASHD_ variable set that trashd does not know. Exit 2 when the\n" +
			"configuration has a problem or a variable is unknown (each one is named).",
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
// (secrets redacted) and whether it was set or defaulted, then every TRASHD_
// variable that is set but unknown. It fails (code 2) when the configuration
// is invalid or a variable is unknown (a misspelt one is otherwise ignored).
func runConfig(stdout io.Writer, asJSON bool) error {
	e := readEnv()
	type row struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Source string `json:"source"` // default, environment, or unknown (set, but not a trashd variable)
	}
	table := variables()
	sort.Slice(table, func(i, j int) bool { return table[i].Name < table[j].Name })
	vars := make([]row, 0, len(table)+len(e.unknown))
	for _, v := range table {
		val, src := e.value(v), "default"
		if e.isSet(v.Name) {
			src = "environment"
		}
		if secret(v.Name) && val != "" {
			val = "(redacted)"
		}
		vars = append(vars, row{v.Name, val, src})
	}
	var problems []string
	_, perr := parse(e)
	if perr != nil {
		// "invalid configuration:" and then one problem a line.
		for _, l := range strings.Split(perr.Error(), "\n")[1:] {
			problems = append(problems, strings.TrimSpace(l))
		}
	}
	for _, u := range e.unknown {
		vars = append(vars, row{u.Name, "(unknown: ignored)", "unknown"})
		problems = append(problems, u.String())
	}
	if asJSON {
		if problems == nil {
			problems = []string{}
		}
		if err := writeJSONDoc(stdout, struct {
			Variables []row    `json:"variables"`
			Problems  []string `json:"problems"`
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
	if len(problems) > 0 {
		return configErr(errors.New("invalid configuration:\n  " + strings.Join(problems, "\n  ")))
	}
	return nil
}

func secret(name string) bool {
	return strings.HasSuffix(name, "_PASSWORD") || strings.Contains(name, "SECRET")
}
