package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/almaalouma/nashra/telegram"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
)

// demoDir holds what the demo writes, apart from the real data.
const demoDir = "data/demo"

// demoReader is the sample reader who follows every section.
const demoReader = 100001

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
	// The demo's own feeds, channels and database: the sample site, one
	// channel per section, a fresh file each time, never the operator's data.
	names := map[int64]string{demoReader: "a reader following every section"}
	for i := range cfg.Sections {
		s := &cfg.Sections[i]
		s.Feed, s.Feeds = site.FeedURL(s.Slug), nil
		id := int64(-1001000000001 - i)
		s.Channels = []string{fmt.Sprint(id)}
		names[id] = fmt.Sprintf("the %s channel (%s)", s.Slug, s.Name)
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
	if err := seedDemo(ctx, db, cfg.Sections); err != nil {
		return err
	}
	p, err := feeds.NewPoller(db, cfg, nil, log)
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

	fmt.Fprintln(w, "\n3. The delivery engine fans them out: one post per article to each section's channel, and one")
	fmt.Fprintln(w, "   message listing them for the reader (no Telegram token, so here is what Telegram would get):")
	sender := &consoleSender{w: w, render: telegram.NewRenderer(cfg.Site.Name, cfg.Site.Location, catalog(cfg), nil,
		telegram.WithBreaking(cfg.Delivery.BreakingCategories)), names: names}
	engine, err := delivery.New(cfg, "", db, sender, nil, log, nil)
	if err != nil {
		return err
	}
	if err := drain(ctx, db, engine); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n4. Tomorrow's digest as it stands now, for a confirmed email subscriber (no SMTP: written as .eml files).")
	if err := demoDigest(ctx, w, cfg, db, log); err != nil {
		return err
	}
	path := strings.TrimPrefix(cfg.DatabaseURL, "sqlite:")
	fmt.Fprintf(w, "\nWhere to look: the database is %s, for instance\n  sqlite3 %s 'SELECT id, state, title FROM articles'\n", path, path)
	fmt.Fprintf(w, "  sqlite3 %s 'SELECT article_id, chat_id, state, message_id FROM deliveries'\n", path)
	return nil
}

// seedDemo registers the sample reader, subscribed to every section, with no
// quiet hours so that the demo shows the same thing at any hour.
func seedDemo(ctx context.Context, db *store.DB, sections []config.Section) error {
	now := time.Now()
	if _, _, err := db.TouchChat(ctx, nashra.Chat{ID: demoReader, Kind: nashra.ChatPrivate, Language: "ar"}, now); err != nil {
		return err
	}
	settings := nashra.DefaultChatSettings
	settings.QuietStart, settings.QuietEnd = 0, 0
	if err := db.SetChatSettings(ctx, demoReader, settings, now); err != nil {
		return err
	}
	slugs := make([]string, len(sections))
	for i, s := range sections {
		slugs[i] = s.Slug
	}
	_, err := db.Subscribe(ctx, demoReader, slugs, now)
	return err
}

// demoDigest signs up and confirms a sample address, then builds and sends
// today's digest, which lands in the .eml outbox beside the database.
func demoDigest(ctx context.Context, w io.Writer, cfg *config.Config, db *store.DB, log *slog.Logger) error {
	now := time.Now()
	id, _, err := db.RequestEmailSignup(ctx, store.SignupRequest{Address: "reader@example.org", Now: now, Limit: 3, Window: 24 * time.Hour})
	if err != nil {
		return err
	}
	if _, err := db.ConfirmEmailSubscriber(ctx, id, now); err != nil {
		return err
	}
	secret, tracked, err := articleLinks(ctx, cfg, db)
	if err != nil {
		return err
	}
	ranker := ranking.New(cfg, db, ranking.WithLogger(log))
	d, sender, err := newDigest(cfg, "", db, nil, secret, tracked, ranker, false, log, nil)
	if err != nil {
		return err
	}
	defer sender.Close()
	// Today's digest went out this morning, before these articles: build
	// tomorrow's, whose window ends now.
	sent, err := d.SendNow(ctx, now.Add(24*time.Hour), sender)
	if err != nil {
		return err
	}
	outbox := cfg.MailDir()
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	fmt.Fprintf(w, "   «%s»: %d email(s); open the .eml files in %s with any mail client.\n", sent.Subject, sent.Emails, outbox)
	for _, f := range files {
		fmt.Fprintf(w, "   %s\n", f)
	}
	return nil
}

// drain runs the engine until every new article is handed on and every
// delivery is sent, or a minute passes.
func drain(ctx context.Context, db *store.DB, engine *delivery.Engine) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx) }()
	engine.Notify()
	ctl := delivery.NewControls(db, nil)
	for ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
		fresh, err := db.ArticlesInState(ctx, nashra.ArticleNew, 1)
		if err != nil {
			return err
		}
		f, err := ctl.Figures(ctx)
		if err != nil {
			return err
		}
		due := 0
		for _, n := range f.Due {
			due += n
		}
		if len(fresh) == 0 && due == 0 && f.Held == 0 {
			break
		}
	}
	err := ctx.Err()
	cancel()
	<-done
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("demo: deliveries still pending after a minute")
	}
	return nil
}
