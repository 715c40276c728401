// Command hromadabot is the hromada digital-transformation bot: `run` starts
// the chat bot, `demo` and `console` talk to it in a terminal, and the other
// subcommands administer communities, invites, reports, scores and open data
// from the shell. `hromadabot help` lists them all.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is the process's outside world, passed in so that tests run commands
// in-process with their own streams and environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand. Name may be two words ("community add").
type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, e *env, args []string) error
}

// commands is the table `help` prints and run dispatches on; help itself is
// answered by run, which needs the table. It is filled in init because the
// commands print their usage from it.
var commands []command

func init() {
	commands = []command{
		{"run", "run", "start the chat bot with the configuration from the environment (see README.md)", cmdRun},
		{"demo", "demo [--db PATH]", "try the bot in this terminal on a fresh database with every community and sample reports", cmdDemo},
		{"console", "console [--as PLATFORM:ID] [--db PATH]", "chat with the bot in this terminal on a database", cmdConsole},
		{"community add", "community add --name NAME [--oblast O] [--type T] [--center C] [--db PATH]", "add a community", cmdCommunityAdd},
		{"community list", "community list [--oblast O] [--json] [--db PATH]", "list communities", cmdCommunityList},
		{"community load", "community load [--db PATH]", "load all 1,469 territorial communities of Ukraine (idempotent)", cmdCommunityLoad},
		{"invite", "invite --community ID_OR_NAME [--db PATH]", "print a one-time invite code that makes its user the community's CDTO", cmdInvite},
		{"report", "report --community C --indicator N --value V [--comment T] [--evidence URL] [--db PATH]", "store a progress report and print the new index", cmdReport},
		{"score", "score --community C [--year Y] [--json] [--db PATH]", "print a community's digital index, plan fulfilment, rank and indicators", cmdScore},
		{"ranking", "ranking [--year Y] [--limit N] [--json] [--db PATH]", "print communities ranked by digital index", cmdRanking},
		{"export", "export [--format csv|json|xlsx] [--table T] [--out FILE] [--year Y] [--db PATH]", "write open data: communities, indicators, latest values and scores", cmdExport},
		{"import", "import FILE [--community C] [--db PATH]", "store reports, or a community's own plan, from a CSV or XLSX file (all or nothing)", cmdImport},
		{"broadcast send", "broadcast send --audience cdto|residents|all [--community C] --text T [--now] [--db PATH]", "store an announcement; the running bot sends it (after quiet hours unless --now)", cmdBroadcastSend},
		{"broadcast status", "broadcast status [--job ID] [--limit N] [--db PATH]", "print the progress of a broadcast, or of the latest ones", cmdBroadcastStatus},
		{"db copy", "db copy [--from PATH_OR_URL] --to URL", "copy every record into an empty database, SQLite or PostgreSQL, and check both sides", cmdDBCopy},
		{"help", "help [COMMAND]", "list the commands, or show one command's flags", nil},
	}
}

// usageError is a mistake in how a command was called; it exits with 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// flagError ties an error to the flag (or argument) it is about, so that the
// one-line message names it: "--value: value 101 is out of range…".
type flagError struct {
	flag string
	err  error
}

func (e *flagError) Error() string { return e.flag + ": " + e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

// onFlag wraps a non-nil err as being about flag.
func onFlag(flag string, err error) error {
	if err == nil {
		return nil
	}
	return &flagError{flag: flag, err: err}
}

// run dispatches args to a command and returns the exit code: 0 on success,
// 1 when the command failed, 2 when it was called wrongly.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printCommands(e.stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		return help(ctx, e, args[1:])
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		switch sub := subcommands(args[0]); {
		case len(sub) > 0 && len(args) > 1:
			fmt.Fprintf(e.stderr, "hromadabot: unknown command %q (%s takes %s)\n", args[0]+" "+args[1], args[0], strings.Join(sub, ", "))
		case len(sub) > 0:
			fmt.Fprintf(e.stderr, "hromadabot: %s needs a subcommand: %s\n", args[0], strings.Join(sub, ", "))
		default:
			fmt.Fprintf(e.stderr, "hromadabot: unknown command %q (run 'hromadabot help' for the list)\n", args[0])
		}
		return 2
	}
	err := cmd.run(ctx, e, rest)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintf(e.stderr, "hromadabot: %s\n", oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// lookup finds the command named by the first one or two words of args.
func lookup(args []string) (*command, []string) {
	if len(args) >= 2 {
		for i := range commands {
			if commands[i].name == args[0]+" "+args[1] {
				return &commands[i], args[2:]
			}
		}
	}
	for i := range commands {
		if commands[i].name == args[0] && commands[i].run != nil {
			return &commands[i], args[1:]
		}
	}
	return nil, nil
}

// subcommands lists the second words of the commands that start with group.
func subcommands(group string) []string {
	var out []string
	for _, c := range commands {
		if first, second, ok := strings.Cut(c.name, " "); ok && first == group {
			out = append(out, second)
		}
	}
	return out
}

func help(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printCommands(e.stdout)
		return 0
	}
	if args[0] == "help" {
		printUsage(e.stdout, newFlags("help"))
		return 0
	}
	cmd, _ := lookup(args)
	if cmd == nil {
		fmt.Fprintf(e.stderr, "hromadabot: help: unknown command %q (run 'hromadabot help' for the list)\n", strings.Join(args, " "))
		return 2
	}
	// A command parsing its flags with parseFlags prints its usage and flags
	// for -h and stops there; for any other, the table's usage line must do.
	// The context is already cancelled, so a command that ignored -h and
	// started working would stop at once.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := cmd.run(cancelled, e, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		printUsage(e.stdout, newFlags(cmd.name))
	}
	return 0
}

func printCommands(w io.Writer) {
	fmt.Fprint(w, "hromadabot is the chat bot of Ukraine's territorial communities for their digital transformation.\n\nUsage: hromadabot COMMAND [flags]\n\nCommands:\n")
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'hromadabot help COMMAND' for a command's flags. Commands that touch the database take --db PATH or a postgres:// URL\n(default: $DATABASE_URL, else $DATABASE_PATH, else ./hromada.db).\n")
}

// newFlags returns the flag set of the named command. It prints nothing by
// itself: parseFlags answers -h with the command's usage on stdout and turns
// other mistakes into one-line usage errors.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs, allowing flags after positional arguments
// ("import FILE --community C"), and returns the positional arguments.
func parseFlags(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(e.stdout, fs)
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s: %v (run 'hromadabot help %s')", fs.Name(), err, fs.Name())
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// noArgs parses flags for a command that takes no positional arguments.
func noArgs(e *env, fs *flag.FlagSet, args []string) error {
	pos, err := parseFlags(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s: unexpected argument %q (run 'hromadabot help %s')", fs.Name(), pos[0], fs.Name())
	}
	return nil
}

func printUsage(w io.Writer, fs *flag.FlagSet) {
	for _, c := range commands {
		if c.name == fs.Name() {
			fmt.Fprintf(w, "Usage: hromadabot %s\n\n%s.\n", c.usage, capitalize(c.summary))
		}
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s\n    \t%s", strings.TrimSpace(f.Name+" "+name), usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// required reports a missing required flag as a usage error.
func required(fs *flag.FlagSet, names ...string) error {
	for _, name := range names {
		if f := fs.Lookup(name); f != nil && strings.TrimSpace(f.Value.String()) == "" {
			return usagef("--%s is required (run 'hromadabot help %s')", name, fs.Name())
		}
	}
	return nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// oneLine keeps an error message on one line, as a terminal or a log expects.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(strings.TrimSpace(s))
}
