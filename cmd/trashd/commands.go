package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
)

// cli is what every command gets: where its output goes. When stdout is a
// terminal, the progress line is drawn on it and stderr writes (logs)
// clear and redraw it.
type cli struct {
	stdout, stderr io.Writer
	line           *liveLine // nil unless stdout and stderr are both terminals
}

func newCLI(stdout, stderr io.Writer) *cli {
	c := &cli{stdout: stdout, stderr: stderr}
	if isTerminal(stdout) {
		c.line = &liveLine{w: stdout}
		if isTerminal(stderr) {
			c.stderr = &lineAware{w: stderr, line: c.line}
		}
	}
	return c
}

// logger is the command's logger, on stderr.
func (c *cli) logger(level, format string) *slog.Logger {
	return newLogger(c.stderr, level, format)
}

// command is one subcommand. flags declares its flags on fs and returns the
// function that runs it, so that `trashd help CMD` can list the flags
// without running anything.
type command struct {
	name     string
	args     string // the synopsis after the name: flags and arguments
	summary  string // one line, for the command list
	about    string // a paragraph, for the command's own help; "" uses summary
	operands bool   // the command takes positional arguments (and checks them itself)
	flags    func(fs *flag.FlagSet) func(ctx context.Context, c *cli, args []string) error
}

// commands are trashd's subcommands, in the order the help lists them.
func commands() []command {
	return []command{
		migrateCommand(),
		reconcileCommand(),
		serveCommand(),
		triggerCommand(),
		statusCommand(),
		lifecycleCommand(),
		restoreCommand(),
		retryCommand(),
		auditCommand(),
		doctorCommand(),
		configCommand(),
		versionCommand(),
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usage is trashd's own help: every command with its summary.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: trashd <command> [flags]\n\ncommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  help\tthis list; `trashd help CMD` or `trashd CMD --help`: one command's flags\n")
	tw.Flush()
	b.WriteString("\nConfiguration comes from TRASHD_* environment variables: `trashd config` prints every one with\n" +
		"its value; the README's configuration table says what each does.\n")
	return b.String()
}

// newFlagSet returns cmd's flag set and the function that runs it. Parse
// errors are not printed by the flag package: run reports them once, with
// the usage.
func (cmd command) newFlagSet() (*flag.FlagSet, func(context.Context, *cli, []string) error) {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, cmd.flags(fs)
}

// help is cmd's usage: synopsis, what it does, and its flags.
func (cmd command) help() string {
	fs, _ := cmd.newFlagSet()
	var b strings.Builder
	fmt.Fprintf(&b, "usage: trashd %s", cmd.name)
	if cmd.args != "" {
		fmt.Fprintf(&b, " %s", cmd.args)
	}
	about := cmd.about
	if about == "" {
		about = cmd.summary
	}
	fmt.Fprintf(&b, "\n\n%s\n", about)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nflags:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := "--"+f.Name, f.Usage
			if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
				// A `NAME` in the usage names the argument (flag's own rule).
				var arg string
				arg, usage = flag.UnquoteUsage(f)
				name += " " + arg
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(tw, "  %s\t%s%s\n", name, usage, def)
		})
		tw.Flush()
	}
	b.WriteString(configFooter)
	return b.String()
}

// configFooter ends every command's help: the variables are too many to
// list there, and `trashd config` shows each with its value.
const configFooter = "\nSettings come from TRASHD_* environment variables: `trashd config` prints every one with its value\n" +
	"and whether it was set or defaulted (the README's configuration table says what each does).\n"

// helpHelp is the usage of help itself (`trashd help help`).
const helpHelp = "usage: trashd help [COMMAND]\n\n" +
	"Without COMMAND: every command with a line on what it does. With COMMAND: its usage, what it does\n" +
	"and its flags, the same as `trashd COMMAND --help`.\n" + configFooter

// run runs the command named by args[0] and returns the exit code; it is
// the one place that prints a command's error and maps it to a code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI(stdout, stderr)
	return exitCode(dispatch(ctx, args, c), c.stderr)
}

func dispatch(ctx context.Context, args []string, c *cli) error {
	if len(args) == 0 {
		return &exitError{code: codeUsage, err: errors.New("no command given"), usage: usage()}
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "--help", "-help":
		return runHelp(c, rest)
	case "--version", "-version":
		name = "version"
	}
	cmd, ok := findCommand(name)
	if !ok {
		return &exitError{code: codeUsage, err: fmt.Errorf("unknown command %q", name), usage: usage()}
	}
	fs, runCmd := cmd.newFlagSet()
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, cmd.help())
			return nil
		}
		return &exitError{code: codeUsage, err: fmt.Errorf("%s: %w%s", cmd.name, err, negativeOperand(cmd, rest)), usage: cmd.help()}
	}
	if !cmd.operands && fs.NArg() > 0 {
		return &exitError{code: codeUsage, err: fmt.Errorf("%s takes no arguments, but was given %q",
			cmd.name, strings.Join(fs.Args(), " ")), usage: cmd.help()}
	}
	err := runCmd(ctx, c, fs.Args())
	var ee *exitError
	if errors.As(err, &ee) && ee.needUsage && ee.usage == "" {
		ee.usage = cmd.help()
	}
	return err
}

// operandErr is a mistake in a command's positional arguments (code 2,
// printed with the command's usage).
func operandErr(format string, args ...any) error {
	return &exitError{code: codeUsage, err: fmt.Errorf(format, args...), needUsage: true}
}

func runHelp(c *cli, args []string) error {
	switch len(args) {
	case 0:
		fmt.Fprint(c.stdout, usage())
		return nil
	case 1:
		switch args[0] {
		case "help", "-h", "--help", "-help":
			fmt.Fprint(c.stdout, helpHelp)
			return nil
		}
		if cmd, ok := findCommand(args[0]); ok {
			fmt.Fprint(c.stdout, cmd.help())
			return nil
		}
		return &exitError{code: codeUsage, err: fmt.Errorf("help: unknown command %q", args[0]), usage: usage()}
	}
	return &exitError{code: codeUsage, err: fmt.Errorf("help takes one command name, but was given %q", strings.Join(args, " ")), usage: usage()}
}

// negativeOperand is a hint when a command that takes LMS row ids was given
// a negative one, which the flag package reads as an unknown flag ("-5").
func negativeOperand(cmd command, args []string) string {
	if !cmd.operands {
		return ""
	}
	for _, a := range args {
		if a == "--" {
			return ""
		}
		if _, err := strconv.ParseInt(a, 10, 64); err == nil && strings.HasPrefix(a, "-") {
			return fmt.Sprintf(" (an LMS row id below 0 goes after --: trashd %s -- %s)", cmd.name, a)
		}
	}
	return ""
}
