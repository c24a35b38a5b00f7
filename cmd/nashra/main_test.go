package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
	"github.com/almaalouma/nashra/store"
)

// demoEnv describes a configuration whose sections are the sample site's.
func demoEnv(t *testing.T, site *demo.Site) map[string]string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("sections:\n")
	for _, s := range config.Defaults().Sections {
		fmt.Fprintf(&b, "  - slug: %s\n    name: %s\n    feed: %s\n", s.Slug, s.Name, site.FeedURL(s.Slug))
	}
	cfgPath := filepath.Join(dir, "nashra.yaml")
	if err := os.WriteFile(cfgPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"NASHRA_CONFIG":       cfgPath,
		"NASHRA_DATABASE_URL": "sqlite:" + filepath.Join(dir, "nashra.db"),
		"NASHRA_HTTP_ADDR":    "127.0.0.1:0",
	}
}

// startMain builds and starts the whole program, as `nashra run` does, on
// the configuration vars describe, which adjust (when not nil) may change
// first. The caller closes it.
func startMain(t *testing.T, vars map[string]string, adjust func(*config.Config)) *Main {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(cfg)
	}
	ctx := context.Background()
	m, err := NewMain(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		m.Close(ctx)
		t.Fatal(err)
	}
	return m
}

func runCLI(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &cliEnv{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

func TestEndToEndPollThenNewArticles(t *testing.T) {
	site := demo.NewSite(time.Now())
	defer site.Close()
	vars := demoEnv(t, site)
	ctx := context.Background()
	m := startMain(t, vars, nil)
	defer m.Close(ctx)
	base := "http://" + m.Addr().String()
	// Until every feed has recorded its first poll, a poll of it is still a
	// baseline, whatever the articles stored so far.
	waitFor(t, func() bool {
		fs, err := m.db.Feeds(ctx)
		for _, f := range fs {
			if f.BaselinedAt.IsZero() {
				return false
			}
		}
		n, _ := m.db.CountArticles(ctx)
		return err == nil && n == len(demo.Initial)
	})
	// The first poll of each feed is a baseline: nothing is news.
	if as, _ := m.db.ArticlesInState(ctx, nashra.ArticleNew, 100); len(as) != 0 {
		t.Fatalf("%d articles new after the first poll", len(as))
	}
	site.Publish(time.Now(), demo.Fresh...)
	if _, err := m.poller.PollAll(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, _ := m.db.ArticlesInState(ctx, nashra.ArticleNew, 100)
	if len(fresh) != len(demo.Fresh) {
		t.Fatalf("%d new articles, want %d", len(fresh), len(demo.Fresh))
	}
	bylines := map[string]string{}
	for _, it := range demo.Fresh {
		bylines[it.Title] = it.Byline
	}
	for _, a := range fresh {
		// The byline at the top of the body wins over the site's account.
		if strings.Contains(a.Link, "utm_") || a.Author != bylines[a.Title] {
			t.Errorf("article %q: link %s author %q, want %q", a.Title, a.Link, a.Author, bylines[a.Title])
		}
	}
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": "nashra_",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s = %d %.200s", path, resp.StatusCode, body)
		}
	}
	// A consistent backup while the service runs.
	out := filepath.Join(t.TempDir(), "backup.db")
	if code, stdout, stderr := runCLI(t, vars, "backup", out); code != 0 {
		t.Fatalf("backup: %d %s %s", code, stdout, stderr)
	}
	cp, err := store.Open(ctx, "sqlite:"+out)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if n, _ := cp.CountArticles(ctx); n != len(demo.Initial)+len(demo.Fresh) {
		t.Errorf("backup holds %d articles", n)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPollCommandPrintsEachFeed(t *testing.T) {
	site := demo.NewSite(time.Now())
	defer site.Close()
	vars := demoEnv(t, site)
	code, out, errOut := runCLI(t, vars, "poll")
	if code != 0 {
		t.Fatalf("poll exit %d: %s", code, errOut)
	}
	for _, s := range config.Defaults().Sections {
		if !strings.Contains(out, site.FeedURL(s.Slug)) {
			t.Errorf("poll output lacks %s:\n%s", s.Slug, out)
		}
	}
	if !strings.Contains(out, "first poll") {
		t.Errorf("the first poll is not called a baseline:\n%s", out)
	}
	// Broken feeds are reported, not fatal.
	site.Close()
	code, out, _ = runCLI(t, vars, "poll")
	if code != 0 || !strings.Contains(out, "error") {
		t.Errorf("poll of a dead site: exit %d\n%s", code, out)
	}
}

func TestCommandLineErrors(t *testing.T) {
	cases := []struct {
		args []string
		vars map[string]string
		code int
		want string
	}{
		{args: []string{"frobnicate"}, code: 2, want: "unknown command"},
		{args: []string{"backup"}, code: 2, want: "takes 1 argument"},
		{args: []string{"migrate"}, vars: map[string]string{"NASHRA_LOG_FORMAT": "xml"}, code: 2, want: "NASHRA_LOG_FORMAT"},
		{args: []string{"run"}, vars: map[string]string{"NASHRA_CONFIG": "/nonexistent/nashra.yaml"}, code: 2, want: "NASHRA_CONFIG"},
		{args: []string{"version"}, code: 0},
		{args: []string{"poll", "--help"}, code: 0},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Chdir(t.TempDir())
			code, _, errOut := runCLI(t, c.vars, c.args...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, c.code, errOut, c.want)
			}
		})
	}
}

func TestSectionsCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errOut := runCLI(t, nil, "sections")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"news", "أخبار", "إنفوجرافيك", "https://almaalouma.net/category/translation/feed/", "built-in defaults"} {
		if !strings.Contains(out, want) {
			t.Errorf("sections output lacks %q:\n%s", want, out)
		}
	}
}
