package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/store"
)

// demoDir holds what the demo writes, apart from the real data.
const demoDir = "data/demo"

func cmdDemo(ctx context.Context, env *cliEnv, args []string) error {
	if err := parse(flags(env, "demo"), args, 0); err != nil {
		return err
	}
	cfg, log, err := loadConfig(env)
	if err != nil {
		return err
	}
	site := demo.NewSite(time.Now())
	defer site.Close()
	// The demo's own sections and database: the sample site's feeds, a fresh
	// file each time, never the operator's data.
	for i := range cfg.Sections {
		cfg.Sections[i].Feed, cfg.Sections[i].Feeds = site.FeedURL(cfg.Sections[i].Slug), nil
	}
	if err := os.RemoveAll(demoDir); err != nil {
		return err
	}
	cfg.DatabaseURL = "sqlite:" + filepath.Join(demoDir, "nashra.db")
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := feeds.NewPoller(db, feedsConfig(cfg), nil, log)
	if err != nil {
		return err
	}
	w := env.stdout
	fmt.Fprintf(w, "nashra demo: a sample of %s serves its %d section feeds on %s\n\n", cfg.Site.Name, len(cfg.Sections), site.URL())
	fmt.Fprintln(w, "1. First poll: what the feeds already hold is stored as seen, so a fresh install floods nobody.")
	results, err := p.PollAll(ctx)
	if err != nil {
		return err
	}
	printResults(w, results)

	fmt.Fprintf(w, "\n2. The site publishes %d new articles; the next poll finds them.\n", len(demo.Fresh))
	site.Publish(time.Now(), demo.Fresh...)
	if results, err = p.PollAll(ctx); err != nil {
		return err
	}
	printResults(w, results)

	fresh, err := db.ArticlesInState(ctx, store.StateNew, 100)
	if err != nil {
		return err
	}
	if len(fresh) == 0 {
		return errors.New("demo: the second poll found nothing new")
	}
	fmt.Fprintf(w, "\n3. New articles, handed on to delivery (no Telegram token: shown here instead):\n")
	for _, a := range fresh {
		printArticle(w, cfg, a)
	}
	fmt.Fprintf(w, "\nWhere to look: the database is %s (sqlite3 %s 'SELECT id, state, title FROM articles').\n",
		strings.TrimPrefix(cfg.DatabaseURL, "sqlite:"), strings.TrimPrefix(cfg.DatabaseURL, "sqlite:"))
	return nil
}

func printArticle(w interface{ Write([]byte) (int, error) }, cfg *config.Config, a store.Article) {
	fmt.Fprintf(w, "\n  ── %s ──\n  %s\n  %s\n", strings.Join(a.Sections, ", "), a.Title, a.Summary)
	fmt.Fprintf(w, "  %s · %s\n  %s\n", a.Author, arabic.DateTime(a.PublishedAt, cfg.Site.Location), a.Link)
}
