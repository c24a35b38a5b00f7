package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

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
	dormant, err := db.SyncSections(ctx, sectionSpecs(cfg))
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, slug := range dormant {
		log.Warn("section no longer configured: its subscribers are kept, dormant", "section", slug)
	}
	return db, nil
}

func sectionSpecs(cfg *config.Config) []store.SectionSpec {
	specs := make([]store.SectionSpec, len(cfg.Sections))
	for i, s := range cfg.Sections {
		specs[i] = store.SectionSpec{Slug: s.Slug, Name: s.Name, Feeds: s.FeedURLs()}
	}
	return specs
}

// loadConfig loads the configuration and the logger every command uses.
func loadConfig(env *cliEnv) (*config.Config, *slog.Logger, error) {
	cfg, err := config.Load(env.getenv)
	if err != nil {
		return nil, nil, err
	}
	return cfg, newLogger(cfg, env.stderr), nil
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
	cfg, log, err := loadConfig(env)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, log)
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
		if !s.Active {
			state, from = "dormant", "store (no longer configured)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Slug, s.Name, state, joinOr(c.FeedURLs(), "-"), joinOr(c.Channels, "-"), from)
	}
	return w.Flush()
}

func joinOr(xs []string, empty string) string {
	if len(xs) == 0 {
		return empty
	}
	return strings.Join(xs, ", ")
}
