package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/web"
)

func TestDigestCommand(t *testing.T) {
	site := demo.NewSite(time.Now())
	defer site.Close()
	vars := demoEnv(t, site)
	if code, _, errOut := runCLI(t, vars, "poll"); code != 0 {
		t.Fatalf("poll: %d %s", code, errOut)
	}
	// What the first poll found was already on the site: the digest holds
	// what was published since.
	site.Publish(time.Now(), append(demo.Fresh, demo.Item{Section: "video", Title: "فيديو: افتتاح جسر جديد في البصرة",
		Body: "جولة مصورة.", Tags: []string{"فيديو"}})...)
	if code, _, errOut := runCLI(t, vars, "poll"); code != 0 {
		t.Fatalf("second poll: %d %s", code, errOut)
	}

	code, out, errOut := runCLI(t, vars, "digest", "preview", "--sections", "news,مقالات")
	if code != 0 || !strings.Contains(out, "نشرة المعلومة — ") || !strings.Contains(out, "أخبار") {
		t.Fatalf("preview: %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out, "== فيديو") {
		t.Fatalf("the preview of two sections shows others:\n%s", out)
	}
	dir := t.TempDir()
	code, out, _ = runCLI(t, vars, "digest", "preview", "--out", dir)
	if code != 0 || strings.Count(out, dir) != 2 {
		t.Fatalf("preview --out: %d %s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "digest-*.html"))
	if len(files) != 1 {
		t.Fatalf("html files %v", files)
	}
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), `<html dir="rtl" lang="ar">`) {
		t.Fatal("the preview's HTML is not RTL")
	}

	db, err := store.Open(context.Background(), vars["NASHRA_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := db.ImportEmailSubscribers(context.Background(), []nashra.EmailSubscriber{
		{Address: "a@example.org", State: nashra.EmailActive, CreatedAt: now, UpdatedAt: now, RequestedAt: now},
		{Address: "b@example.org", State: nashra.EmailActive, Sections: []string{"video"}, CreatedAt: now, UpdatedAt: now, RequestedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	outbox := filepath.Join(filepath.Dir(strings.TrimPrefix(vars["NASHRA_DATABASE_URL"], "sqlite:")), "outbox")
	// Today's digest covered the day until 07:00; tomorrow's holds what the
	// poll just found.
	loc, _ := time.LoadLocation("Asia/Baghdad")
	tomorrow := time.Now().In(loc).AddDate(0, 0, 1).Format("2006-01-02")
	for range 2 { // sending twice sends once
		code, out, errOut = runCLI(t, vars, "digest", "send", "--date", tomorrow)
		if code != 0 || !strings.Contains(out, "emails: 2 sent") {
			t.Fatalf("send: %d\n%s\n%s", code, out, errOut)
		}
	}
	if mails, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(mails) != 2 {
		t.Fatalf("%d .eml files in %s, want 2", len(mails), outbox)
	}
	if code, out, _ = runCLI(t, vars, "digest", "resume"); code != 0 || !strings.Contains(out, "resumed") {
		t.Fatalf("resume: %d %s", code, out)
	}
	for _, args := range [][]string{{"digest"}, {"digest", "bogus"}, {"digest", "preview", "--sections", "nonsense"},
		{"digest", "send", "--date", "28/11/2026"}} {
		if code, _, _ := runCLI(t, vars, args...); code != exitConfig {
			t.Errorf("%v: exit %d, want %d", args, code, exitConfig)
		}
	}
}

// The pages `nashra run` mounts take a signup through the digest into the
// store.
func TestEmailPagesWiring(t *testing.T) {
	site := demo.NewSite(time.Now())
	defer site.Close()
	vars := demoEnv(t, site)
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secret, err := masterSecret(ctx, cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	ranker := ranking.New(cfg, db, ranking.WithLogger(log))
	d, sender, err := newDigest(cfg, "", db, nil, secret, nil, ranker, false, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	pages, err := emailPages(cfg, subscribers.New(cfg, db, catalog(cfg), subscribers.WithMailQueued(sender.Notify)), d, secret, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Addr: "127.0.0.1:0", Logger: log})
	pages.Register(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(ctx)
	resp, err := http.PostForm("http://"+srv.Addrs()[0].String()+"/email",
		url.Values{"address": {"qari@example.org"}, "section": {"news", "video"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "تحقق من بريدك") {
		t.Fatalf("signup: %s\n%s", resp.Status, body)
	}
	if counts, _ := db.CountEmailSubscribers(ctx); counts[nashra.EmailPending] != 1 {
		t.Fatalf("subscribers %v", counts)
	}
}
