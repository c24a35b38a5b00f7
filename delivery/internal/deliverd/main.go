// Command deliverd runs the delivery engine alone, against a store file and
// a Bot API endpoint, through the bot's real Sender and the real client
// library: the process the crash test kills with SIGKILL and the load
// scenarios measure (peak resident memory, CPU per message). It stops
// cleanly on SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/almaalouma/nashra/telegram"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "deliverd:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := config.Defaults()
	dbPath := flag.String("db", "", "SQLite file, migrated and seeded")
	endpoint := flag.String("api", "", "Bot API endpoint in the client library's format")
	token := flag.String("token", "", "bot token")
	hwm := flag.String("hwm", "", "file to write VmHWM (peak resident kB) into, every second and at exit")
	l := &cfg.Telegram.Limits
	flag.Float64Var(&l.GlobalPerSecond, "rate", l.GlobalPerSecond, "messages per second in total")
	flag.Float64Var(&l.ChatPerSecond, "chat-rate", l.ChatPerSecond, "messages per second into a private chat")
	flag.Float64Var(&l.GroupPerMinute, "group-rate", l.GroupPerMinute, "messages per minute into a group or channel")
	flag.IntVar(&cfg.Delivery.Concurrency, "concurrency", cfg.Delivery.Concurrency, "sends in flight")
	flag.DurationVar((*time.Duration)(&cfg.LeaseDuration), "lease", cfg.LeaseDuration.D(), "dispatcher lease")
	verbose := flag.Bool("v", false, "log at info level")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	db, err := store.Open(ctx, "sqlite:"+*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	api := telegram.NewAPI(*token, *endpoint, nil)
	catalog := nashra.NewCatalog(cfg.SiteSections())
	snd := telegram.NewSender(api, telegram.NewRenderer(cfg.Site.Name, cfg.Site.Location, catalog, nil), telegram.WithSenderLogger(log))
	eng, err := delivery.New(cfg, "", db, snd, nil, log, nil)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *hwm != "" {
		go func() {
			for {
				writeHWM(*hwm)
				time.Sleep(time.Second)
			}
		}()
		defer writeHWM(*hwm)
	}
	return eng.Run(ctx)
}

// writeHWM copies VmHWM, the peak resident set, from /proc/self/status.
func writeHWM(path string) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			_ = os.WriteFile(path, []byte(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))), 0o644)
		}
	}
}
