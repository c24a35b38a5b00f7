package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/mail"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/web"
)

// newDigest builds the daily digest on an open store with nashra's
// secret, and the mail sender that sends its mails, holding the sender's
// lease as holder (empty: a holder of its own); tracked makes the article
// links, telegram says whether Telegram readers get it too, subs says what
// they follow.
func newDigest(cfg *config.Config, holder string, db *store.DB, subs digest.Subscribers, secret []byte, tracked digest.Links,
	ranker digest.Ranker, telegram bool, log *slog.Logger, reg prometheus.Registerer) (*digest.Service, *mail.Sender, error) {
	tokens, err := links.NewActionSigner(secret)
	if err != nil {
		return nil, nil, err
	}
	// A built digest wakes the sender, built next: digests are only
	// built once both are.
	var sender *mail.Sender
	d, err := digest.New(cfg, digest.Deps{
		Store: db, Ranker: ranker, Links: tracked, Tokens: tokens, Sections: catalog(cfg),
		Telegram: telegram, Subscribers: subs, Log: log, Registerer: reg, MailQueued: func() { sender.Notify() },
	})
	if err != nil {
		return nil, nil, err
	}
	if sender, err = mail.New(cfg, mail.Deps{Store: db, Composer: d, Log: log, Registerer: reg, Holder: holder}); err != nil {
		return nil, nil, err
	}
	return d, sender, nil
}

// emailPages builds the email digest's pages (signup, confirmation,
// preferences, unsubscribe on the subscribers; the archive on the digest);
// mount them with Register.
func emailPages(cfg *config.Config, subs *subscribers.Service, d *digest.Service, secret []byte, log *slog.Logger) (*web.EmailPages, error) {
	tokens, err := links.NewActionSigner(secret)
	if err != nil {
		return nil, err
	}
	return web.NewEmailPages(web.EmailOptions{
		Config: cfg, Sections: cfg.SiteSections(), Signup: subs, Subscribers: subs, Archive: d, Tokens: tokens, Logger: log,
	}), nil
}

// cmdDigest previews, sends and resumes the daily digest.
func cmdDigest(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "digest")
	date := fs.String("date", "", "the digest's day, YYYY-MM-DD in the site's time zone (default: today)")
	sections := fs.String("sections", "", "preview: comma-separated sections, by slug or Arabic name (default: all)")
	out := fs.String("out", "", "preview: write digest-DAY.html and digest-DAY.txt into this folder instead of stdout")
	format := fs.String("format", "text", "preview to stdout: text or html")
	var sub string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if sub != "preview" && sub != "send" && sub != "resume" {
		fs.Usage()
		return usageError{"digest takes preview, send or resume"}
	}
	cfg, log, err := loadConfig(env)
	if err != nil {
		return err
	}
	var day time.Time // zero: preview the next digest, send today's
	if *date != "" {
		if day, err = time.ParseInLocation("2006-01-02", *date, cfg.Site.Location); err != nil {
			return usageError{fmt.Sprintf("--date: want YYYY-MM-DD, got %q", *date)}
		}
	}
	var slugs []string
	for _, name := range strings.Split(*sections, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		s, ok := catalog(cfg).Match(name)
		if !ok {
			return usageError{fmt.Sprintf("--sections: no section %q (see nashra sections)", name)}
		}
		slugs = append(slugs, s.Slug)
	}
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	ranker := ranking.New(cfg, db, ranking.WithLogger(log))
	secret, tracked, err := articleLinks(ctx, cfg, db)
	if err != nil {
		return err
	}
	d, sender, err := newDigest(cfg, "", db, subscribers.New(cfg, db, catalog(cfg), subscribers.WithLogger(log)), secret, tracked, ranker,
		cfg.Telegram.Token != "", log, nil)
	if err != nil {
		return err
	}
	defer sender.Close()
	switch sub {
	case "preview":
		return previewDigest(ctx, env, d, day, slugs, *out, *format)
	case "resume":
		if err := sender.Resume(ctx); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, "email sending resumed; a running nashra picks it up within seconds")
		return nil
	}
	fmt.Fprintln(env.stdout, "building and sending the digest; if nashra is running, it sends and this waits for it")
	if day.IsZero() {
		day = time.Now()
	}
	got, err := d.SendNow(ctx, day, sender)
	if err != nil {
		return err
	}
	switch got.State {
	case nashra.DigestEmpty:
		fmt.Fprintf(env.stdout, "%s: no new articles in the window: no digest that day\n", got.Day)
	case nashra.DigestMissed:
		fmt.Fprintf(env.stdout, "%s: the digest was missed (not started before the cut-off)\n", got.Day)
	default:
		counts, err := db.SendCounts(ctx, got.ID)
		if err != nil {
			return err
		}
		e, t := counts[nashra.SendEmail], counts[nashra.SendTelegram]
		fmt.Fprintf(env.stdout, "%s: %s — emails: %d sent, %d bounced, %d failed, %d with nothing new; Telegram readers: %d queued\n",
			got.Day, got.Subject, e[nashra.DeliverySent], e[nashra.DeliveryBounced], e[nashra.DeliveryDead]+e[nashra.DeliveryStale],
			e[nashra.DeliveryCancelled], t[nashra.DeliverySent])
	}
	return nil
}

func previewDigest(ctx context.Context, env *cliEnv, d *digest.Service, day time.Time, sections []string, out, format string) error {
	p, err := d.Preview(ctx, day, sections)
	if errors.Is(err, digest.ErrNothingNew) {
		return fmt.Errorf("preview: %w", err)
	}
	if err != nil {
		return err
	}
	if out == "" {
		switch format {
		case "text":
			_, err = env.stdout.Write(p.Text)
		case "html":
			_, err = env.stdout.Write(p.HTML)
		default:
			return usageError{fmt.Sprintf("--format: want text or html, got %q", format)}
		}
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	base := filepath.Join(out, "digest-"+p.Day)
	for _, f := range []struct {
		ext  string
		body []byte
	}{{".html", p.HTML}, {".txt", p.Text}} {
		if err := os.WriteFile(base+f.ext, f.body, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, base+f.ext)
	}
	return nil
}
