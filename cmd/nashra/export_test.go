package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/storetest"
)

// Moving up and back: a store that has been running, with readers, an
// email subscriber and links already sent, goes SQLite → PostgreSQL →
// SQLite through `nashra export` and `nashra import`; the old tracked link
// still leads to its article, and the old unsubscribe link still names
// its subscriber.
func TestExportImportKeepsOldLinksWorking(t *testing.T) {
	ctx := context.Background()
	site := demo.NewSite(time.Now())
	defer site.Close()
	vars := demoEnv(t, site)
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMain(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { n, _ := m.db.CountArticles(ctx); return n == len(demo.Initial) })
	now := time.Now()
	m.db.TouchChat(ctx, nashra.Chat{ID: 42, Kind: nashra.ChatPrivate}, now)
	m.db.Subscribe(ctx, 42, []string{"news"}, now)
	subID, _, err := m.db.RequestEmailSignup(ctx, store.SignupRequest{Address: "qari@example.org", Now: now, Limit: 3, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m.db.ConfirmEmailSubscriber(ctx, subID, now)
	arts, err := m.db.LatestArticles(ctx, "", 1)
	if err != nil || len(arts) != 1 {
		t.Fatal(arts, err)
	}
	// The links a reader holds, signed with the store's own secret.
	secret, err := masterSecret(ctx, cfg, m.db)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := links.NewSigner(secret)
	tracked := links.NewBuilder(cfg.BaseURL, signer, true).Email(arts[0], subID, now.Add(-time.Hour))
	_, token, _ := strings.Cut(tracked, "/r/")
	actions, _ := links.NewActionSigner(secret)
	unsubscribe := actions.Sign(links.ActionUnsubscribe, subID, time.Time{})
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	pgVars := map[string]string{"NASHRA_CONFIG": vars["NASHRA_CONFIG"], "NASHRA_DATABASE_URL": storetest.PostgresURL(t)}
	backVars := map[string]string{"NASHRA_CONFIG": vars["NASHRA_CONFIG"], "NASHRA_DATABASE_URL": "sqlite:" + filepath.Join(dir, "back.db")}
	for _, step := range []struct {
		vars map[string]string
		args []string
	}{
		{vars, []string{"export", filepath.Join(dir, "1.jsonl")}},
		{pgVars, []string{"import", filepath.Join(dir, "1.jsonl")}},
		{pgVars, []string{"export", filepath.Join(dir, "2.jsonl")}},
		{backVars, []string{"import", filepath.Join(dir, "2.jsonl")}},
	} {
		code, stdout, stderr := runCLI(t, step.vars, step.args...)
		if code != 0 || !strings.Contains(stdout, "rows of") {
			t.Fatalf("nashra %s: %d\n%s%s", strings.Join(step.args, " "), code, stdout, stderr)
		}
	}
	// Importing twice is refused: the database is no longer empty.
	if code, _, stderr := runCLI(t, pgVars, "import", filepath.Join(dir, "1.jsonl")); code == 0 || !strings.Contains(stderr, "not empty") {
		t.Errorf("a second import: %d %s", code, stderr)
	}
	if code, _, _ := runCLI(t, vars, "export", filepath.Join(dir, "1.jsonl")); code == 0 {
		t.Error("export overwrote a file")
	}
	one, _ := os.ReadFile(filepath.Join(dir, "1.jsonl"))
	two, _ := os.ReadFile(filepath.Join(dir, "2.jsonl"))
	if len(one) == 0 || len(two) < len(one)-200 {
		t.Errorf("the export shrank from %d to %d bytes", len(one), len(two))
	}

	// nashra on the SQLite that came back from PostgreSQL.
	back, err := config.Load(func(k string) string {
		if v, ok := backVars[k]; ok {
			return v
		}
		return vars[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err = NewMain(ctx, back, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get("http://" + m.Addr().String() + "/r/" + token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != arts[0].Link {
		t.Errorf("old tracked link: %d → %q, want %s", resp.StatusCode, loc, arts[0].Link)
	}
	secret2, err := masterSecret(ctx, back, m.db)
	if err != nil {
		t.Fatal(err)
	}
	actions2, _ := links.NewActionSigner(secret2)
	id, err := actions2.Verify(unsubscribe, links.ActionUnsubscribe, time.Now())
	if err != nil || id != subID {
		t.Fatalf("old unsubscribe link: subscriber %d, %v", id, err)
	}
	if s, err := m.db.EmailSubscriber(ctx, id); err != nil || s.Address != "qari@example.org" || s.State != nashra.EmailActive {
		t.Errorf("the subscriber behind the old link: %+v, %v", s, err)
	}
	if subs, _ := m.db.Subscriptions(ctx, 42); len(subs) != 1 {
		t.Errorf("the reader's subscriptions: %v", subs)
	}
}
