package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

// runConfig prints the effective configuration: every variable, its value
// (secrets redacted) and whether it was set or defaulted, then every TRASHD_
// variable that is set but unknown. It exits non-zero when the configuration
// is invalid or a variable is unknown (a misspelt one is otherwise ignored).
func runConfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("config", "config", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	e, err := readEnv()
	if err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitUsage
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
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, val, src)
	}
	for _, u := range e.unknown {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, "(unknown: ignored)", "environment")
	}
	tw.Flush()
	code := exitOK
	for _, u := range e.unknown {
		fmt.Fprintf(stderr, "trashd: %s\n", u)
		code = exitUsage
	}
	if _, err := parse(e); err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		code = exitUsage
	}
	return code
}

func secret(name string) bool {
	return strings.HasSuffix(name, "_PASSWORD") || strings.Contains(name, "SECRET")
}
