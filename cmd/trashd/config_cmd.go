package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

// runConfig prints the effective configuration: every variable, its value
// (secrets redacted) and whether it was set or defaulted.
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
	var b strings.Builder
	if err := envconfig.Usagef("TRASHD", &e, &b, "{{range .}}{{.Key}}\t{{.Tags.Get \"default\"}}\n{{end}}"); err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitError
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
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, val, src)
	}
	tw.Flush()
	if _, err := parse(e); err != nil {
		fmt.Fprintf(stderr, "trashd: %v\n", err)
		return exitUsage
	}
	return exitOK
}

func secret(name string) bool {
	return strings.HasSuffix(name, "_PASSWORD") || strings.Contains(name, "SECRET")
}
