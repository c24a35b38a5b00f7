package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
)

// openStore opens the database, applies migrations and brings the stored
// sections and feeds in line with the configuration.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if n, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	} else if n > 0 {
		log.Info("migrations applied", "count", n)
	}
	dormant, err := db.SyncSections(ctx, cfg.SiteSections())
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, slug := range dormant {
		log.Warn("section no longer configured: its subscribers are kept, dormant", "section", slug)
	}
	// The YAML mapping seeds the store; /link and /unlink changes stay.
	var channels []nashra.ChannelLink
	for _, s := range cfg.Sections {
		for _, ch := range s.Channels {
			channels = append(channels, nashra.ChannelLink{Section: s.Slug, Channel: ch, Source: nashra.SourceConfig})
		}
	}
	if err := db.SeedChannels(ctx, channels, time.Now()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// loadConfig loads the configuration and the logger every command uses.
func loadConfig(env *cliEnv) (*config.Config, *slog.Logger, error) {
	cfg, err := config.Load(env.getenv)
	if err != nil {
		return nil, nil, err
	}
	cfg.UserAgent = userAgent()
	return cfg, newLogger(cfg, env.stderr), nil
}

// openConfigured loads the configuration and opens the store in line with
// it: what most commands start with.
func openConfigured(ctx context.Context, env *cliEnv) (*config.Config, *store.DB, error) {
	cfg, log, err := loadConfig(env)
	if err != nil {
		return nil, nil, err
	}
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}

func cmdMigrate(ctx context.Context, env *cliEnv, args []string) error {
	if err := parse(flags(env, "migrate"), args, 0); err != nil {
		return err
	}
	cfg, log, err := loadConfig(env)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", n)
	fmt.Fprintf(env.stdout, "%d migration(s) applied\n", n)
	return nil
}

func cmdBackup(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "backup")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	cfg, _, err := loadConfig(env)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "backup written to %s\n", fs.Arg(0))
	return nil
}

func cmdSections(ctx context.Context, env *cliEnv, args []string) error {
	if err := parse(flags(env, "sections"), args, 0); err != nil {
		return err
	}
	cfg, db, err := openConfigured(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	source := "built-in defaults"
	if cfg.File != "" {
		source = cfg.File
	}
	stored, err := db.Sections(ctx)
	if err != nil {
		return err
	}
	channels, err := sectionChannels(ctx, db)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SLUG\tNAME\tSTATE\tFEEDS\tCHANNELS\tFROM")
	for _, s := range stored {
		var c config.Section
		for _, cs := range cfg.Sections {
			if cs.Slug == s.Slug {
				c = cs
			}
		}
		state, from := "active", source
		if s.Dormant {
			state, from = "dormant", "store (no longer configured)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Slug, s.Name, state,
			cmp.Or(strings.Join(c.FeedURLs(), ", "), "-"), cmp.Or(channels[s.Slug], "-"), from)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout)
	return printFeeding(ctx, env.stdout, db, cfg, time.Now())
}

// sectionChannels describes the channel mapping in force for `nashra
// sections`, by section slug: "@news (config, can post), @x (runtime, not
// checked)". Run-time changes (/link, /unlink) win over the YAML, so this
// reads the store, not the configuration.
func sectionChannels(ctx context.Context, db *store.DB) (map[string]string, error) {
	links, err := db.ChannelLinks(ctx)
	if err != nil {
		return nil, err
	}
	parts := map[string][]string{}
	for _, l := range links {
		state := "not checked"
		if l.CanPost != nil {
			state = "cannot post"
			if *l.CanPost {
				state = "can post"
			}
		}
		parts[l.Section] = append(parts[l.Section], fmt.Sprintf("%s (%s, %s)", l.Channel, l.Source, state))
	}
	out := make(map[string]string, len(parts))
	for slug, p := range parts {
		out[slug] = strings.Join(p, ", ")
	}
	return out, nil
}
