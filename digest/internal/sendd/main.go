// Command sendd runs the digest and its mail sender on their own, against a store and
// an SMTP server: the crash test builds it without the race detector, kills
// it with SIGKILL mid-send, then runs it again to resume.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/mail"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
)

func main() {
	dbPath := flag.String("db", "", "the SQLite file")
	smtpAddr := flag.String("smtp", "", "host:port of the SMTP server")
	start := flag.String("now", "", "the clock's start, RFC 3339; it then advances like real time")
	day := flag.String("day", "", "the digest's day, YYYY-MM-DD: send it until none is left, then exit")
	flag.Parse()
	if err := run(*dbPath, *smtpAddr, *start, *day); err != nil {
		fmt.Fprintln(os.Stderr, "sendd:", err)
		os.Exit(1)
	}
}

func run(dbPath, smtpAddr, start, day string) error {
	ctx := context.Background()
	t0, err := time.Parse(time.RFC3339Nano, start)
	if err != nil {
		return err
	}
	began := time.Now()
	now := func() time.Time { return t0.Add(time.Since(began)) }
	db, err := store.Open(ctx, "sqlite:"+dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	cfg := config.Defaults()
	cfg.BaseURL, cfg.Email.From = "https://nashra.example.org", config.Address{Name: "نشرة المعلومة", Address: "digest@almaalouma.example"}
	if cfg.SMTP, err = config.ParseSMTP("smtp://" + smtpAddr); err != nil {
		return err
	}
	cfg.Email.RatePerSecond, cfg.LeaseDuration = 0, config.Duration(2*time.Second)
	cfg.Ranking.SiteBoost = -1 // the site's list is never read here
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	r := ranking.New(cfg, db, ranking.WithClock(now), ranking.WithLogger(log))
	tokens, err := links.NewActionSigner([]byte("test secret"))
	if err != nil {
		return err
	}
	s, err := digest.New(cfg, digest.Deps{Store: db, Ranker: r, Tokens: tokens, Sections: nashra.NewCatalog(cfg.SiteSections()), Now: now, Log: log})
	if err != nil {
		return err
	}
	m, err := mail.New(cfg, mail.Deps{Store: db, Composer: s, Now: now, Log: log})
	if err != nil {
		return err
	}
	defer m.Close()
	if day == "" {
		return m.Run(ctx)
	}
	at, err := time.ParseInLocation("2006-01-02", day, cfg.Site.Location)
	if err != nil {
		return err
	}
	_, err = s.SendNow(ctx, at, m)
	return err
}
