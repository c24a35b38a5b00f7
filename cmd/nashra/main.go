// Command nashra carries Almaalouma's articles to its readers: it polls the
// site's section feeds, stores new articles and hands them on to Telegram
// and the daily email digest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/almaalouma/nashra/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit statuses.
const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2 // bad configuration or usage: nothing was started
)

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, env *cliEnv, args []string) error
}

var commands []command

func init() {
	// Assigned here because the help command lists the table it is in.
	commands = []command{
		{"run", "", "poll the feeds on schedule, serve the web endpoints and run the bot when a token is set", cmdRun},
		{"poll", "", "poll every feed once and print what each gave", cmdPoll},
		{"sections", "", "show the sections, their feeds and channels, and where each came from", cmdSections},
		{"migrate", "", "apply the database migrations and exit", cmdMigrate},
		{"backup", "FILE", "write a consistent copy of the SQLite database to FILE while nashra runs", cmdBackup},
		{"export", "FILE", "write the whole store, ids and signing secret included, to FILE for `nashra import`", cmdExport},
		{"import", "FILE", "load an export into a new, empty database: SQLite to PostgreSQL or back", cmdImport},
		{"deliveries", "pause|resume|stats|cancel ID|retract ID", "editors' controls of pushes to Telegram", cmdDeliveries},
		{"digest", "preview|send|resume [--date D] [--sections a,b]", "preview the daily digest, send it now, or resume a send the mail server paused", cmdDigest},
		{"demo", "", "run the whole pipeline offline against a sample site on loopback", cmdDemo},
		{"healthcheck", "", "exit 0 when the running server's /healthz answers (for Docker's HEALTHCHECK)", cmdHealthcheck},
		{"version", "", "print the version", cmdVersion},
	}
}

// cliEnv is what a command may touch of the outside world.
type cliEnv struct {
	getenv config.Getenv
	stdout io.Writer
	stderr io.Writer
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &cliEnv{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, env *cliEnv) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stdout)
		if len(args) == 0 {
			return exitConfig
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var ce *config.Error
		var ue usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ce), errors.As(err, &ue):
			fmt.Fprintln(env.stderr, "nashra:", err)
			return exitConfig
		default:
			fmt.Fprintln(env.stderr, "nashra:", err)
			return exitFail
		}
	}
	fmt.Fprintf(env.stderr, "nashra: unknown command %q (see nashra --help)\n", args[0])
	return exitConfig
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "nashra carries Almaalouma's articles to Telegram and email.")
	fmt.Fprintln(w, "\nUsage: nashra COMMAND [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-22s %s\n", c.name+" "+c.args, c.summary)
	}
	fmt.Fprintln(w, "\nConfiguration comes from NASHRA_CONFIG (a YAML file) and NASHRA_* variables; see README.md.")
	fmt.Fprintln(w, "Each command takes --help.")
}

// flags returns a flag set for command name that prints its help to stdout.
func flags(env *cliEnv, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		for _, c := range commands {
			if c.name == name {
				fmt.Fprintf(env.stdout, "Usage: nashra %s %s\n\n%s.\n", c.name, c.args, c.summary)
			}
		}
		fs.SetOutput(env.stdout)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a command's flags, turning mistakes into usage errors.
func parse(fs *flag.FlagSet, args []string, wantArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != wantArgs {
		fs.Usage()
		return usageError{fmt.Sprintf("%s takes %d argument(s), got %d", fs.Name(), wantArgs, fs.NArg())}
	}
	return nil
}

// newLogger builds the process logger: text on a terminal, JSON on request.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdVersion(ctx context.Context, env *cliEnv, args []string) error {
	if err := parse(flags(env, "version"), args, 0); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "nashra", version)
	return nil
}

func cmdHealthcheck(ctx context.Context, env *cliEnv, args []string) error {
	if err := parse(flags(env, "healthcheck"), args, 0); err != nil {
		return err
	}
	cfg, _, err := loadConfig(env)
	if err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return usageError{fmt.Sprintf("NASHRA_HTTP_ADDR %q: %v", cfg.HTTPAddr, err)}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}
