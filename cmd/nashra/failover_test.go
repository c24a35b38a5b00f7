package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/storetest"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// asNashra, set in a process's environment, makes the test binary nashra
// itself: the failover test runs real nashra processes without building
// the command.
const asNashra = "NASHRA_TEST_AS_NASHRA"

func TestMain(m *testing.M) {
	if os.Getenv(asNashra) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// process is nashra running in a process of its own.
type process struct {
	cmd *exec.Cmd
	log string
}

// startNashra runs `nashra args…` with vars added to the environment, its
// output in a log file that a failing test shows.
func startNashra(t *testing.T, vars map[string]string, name string, args ...string) *process {
	t.Helper()
	p := &process{log: filepath.Join(t.TempDir(), name+".log")}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(os.Environ(), asNashra+"=1")
	for k, v := range vars {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("%s's log:\n%s", name, lastLines(string(b), 40))
		}
	})
	return p
}

func (p *process) logged(s string) bool {
	b, _ := os.ReadFile(p.log)
	return bytes.Contains(b, []byte(s))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// pidOf reads the process id in a lease holder's name: host-pid-random.
func pidOf(holder string) int {
	parts := strings.Split(holder, "-")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

func eventually(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two nashra processes share one PostgreSQL; the one pushing to Telegram
// is killed with SIGKILL mid-push. The other takes over within 15 s, every
// reader gets every article, only sends in flight at the kill arrive
// twice, Telegram never answers 429, and long polling moves with the
// leadership without a single 409.
func TestFailoverOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills real processes")
	}
	dbURL := storetest.PostgresURL(t)
	ctx := context.Background()
	site := demo.NewSite(time.Now())
	defer site.Close()
	tg := telegramtest.NewServer()
	defer tg.Close()

	vars := demoEnv(t, site)
	// Links straight to the site, so that each message shows its articles.
	f, err := os.OpenFile(vars["NASHRA_CONFIG"], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "tracking:\n  enabled: false")
	f.Close()
	vars["NASHRA_DATABASE_URL"] = dbURL
	vars["NASHRA_TELEGRAM_TOKEN"] = tg.Token()
	vars["NASHRA_TELEGRAM_API"] = tg.Endpoint()

	a := startNashra(t, vars, "a", "run")
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// a leads alone and polls the sample site's first articles: seen, not
	// news.
	eventually(t, 20*time.Second, "the first poll", func() bool {
		n, _ := db.CountArticles(ctx)
		return n == len(demo.Initial)
	})
	const readers = 240
	var slugs []string
	secs, err := db.Sections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		slugs = append(slugs, s.Slug)
	}
	now := time.Now()
	for id := int64(1); id <= readers; id++ {
		tg.AddUser(tgbotapi.User{ID: id, FirstName: "قارئ"})
		if _, _, err := db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Subscribe(ctx, id, slugs, now); err != nil {
			t.Fatal(err)
		}
		noQuietHours(t, db, id, nil)
	}
	b := startNashra(t, vars, "b", "run")
	eventually(t, 20*time.Second, "b running", func() bool { return b.logged("nashra running") })

	// The site publishes; a one-off poll stores the news, and the leader
	// pushes it.
	// Four articles at once, none breaking: more than three waiting is a
	// flood, which each reader gets as one list (see nashra.BundleOver).
	items := []demo.Item{{Section: "reports", Title: "تقرير: موسم الحصاد في نينوى", Body: "تقرير عن موسم الحصاد.",
		Tags: []string{"تقارير"}}}
	for _, it := range demo.Fresh {
		it.Tags = slices.DeleteFunc(slices.Clone(it.Tags), func(tag string) bool { return tag == "عاجل" })
		items = append(items, it)
	}
	site.Publish(time.Now(), items...)
	poll := startNashra(t, vars, "poll", "poll")
	if err := poll.cmd.Wait(); err != nil {
		t.Fatalf("nashra poll: %v", err)
	}
	fresh, err := db.LatestArticles(ctx, "", len(items))
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, art := range fresh {
		if art.State == nashra.ArticleSeen {
			t.Fatalf("the poll stored %q as seen, not news", art.Title)
		}
		links = append(links, art.Link)
	}

	// Kill the process that sends, mid-push.
	eventually(t, 30*time.Second, "the push to start", func() bool { return len(tg.SentAll()) >= 100 })
	d, err := db.Lease(ctx, "telegram")
	if err != nil {
		t.Fatal(err)
	}
	victim, survivor := a, b
	if pidOf(d.Holder) == b.cmd.Process.Pid {
		victim, survivor = b, a
	} else if pidOf(d.Holder) != a.cmd.Process.Pid {
		t.Fatalf("the dispatcher %q is neither process", d.Holder)
	}
	killed := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.cmd.Wait()
	sentAtKill := len(tg.SentAll())

	// Every reader gets every article.
	got := func() map[int64][][]string {
		m := map[int64][][]string{}
		for _, r := range tg.SentAll() {
			var carried []string
			for _, l := range links {
				if strings.Contains(r.Params["text"]+r.Params["caption"]+r.Params["reply_markup"]+r.Params["link_preview_options"], l) {
					carried = append(carried, l)
				}
			}
			m[r.ChatID] = append(m[r.ChatID], carried)
		}
		return m
	}
	eventually(t, 40*time.Second, "every reader to have every article", func() bool {
		m := got()
		for id := int64(1); id <= readers; id++ {
			has := map[string]bool{}
			for _, msg := range m[id] {
				for _, l := range msg {
					has[l] = true
				}
			}
			if len(has) != len(links) {
				return false
			}
		}
		return true
	})
	var takeover time.Duration
	for _, r := range tg.SentAll()[sentAtKill:] {
		if r.Time.After(killed) {
			takeover = r.Time.Sub(killed)
			break
		}
	}
	if takeover == 0 || takeover > 15*time.Second {
		t.Errorf("the survivor's first message came %s after the kill, want within 15s", takeover)
	}
	// A message that repeats an article its reader had is a send that was
	// in flight at the kill: at most delivery.concurrency (8) of them.
	repeats := 0
	for id, msgs := range got() {
		has := map[string]bool{}
		for _, msg := range msgs {
			again := false
			for _, l := range msg {
				again = again || has[l]
				has[l] = true
			}
			if again {
				repeats++
				t.Logf("reader %d got an article twice", id)
			}
		}
	}
	if repeats > 8 {
		t.Errorf("%d messages repeated an article; a kill may repeat only the 8 sends in flight", repeats)
	}
	if st := tg.Stats(); st.TooManyRequests != 0 {
		t.Errorf("Telegram answered 429 %d times: %+v", st.TooManyRequests, st)
	}

	// Long polling moved with the leadership: the survivor answers.
	reader := tg.AddUser(tgbotapi.User{FirstName: "جديد", LanguageCode: "ar"})
	tg.PushMessage(telegramtest.Incoming{From: reader.ID, Text: "/start"})
	eventually(t, 15*time.Second, "an answer to /start from the survivor", func() bool { return len(tg.Sent(reader.ID)) > 0 })
	for _, p := range []*process{a, b} {
		if p.logged("Conflict") {
			t.Error("two instances called getUpdates at once (409 Conflict)")
		}
	}
	if err := survivor.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := survivor.cmd.Wait(); err != nil {
		t.Errorf("the survivor did not stop cleanly: %v", err)
	}
	t.Logf("%d readers, %d messages; killed after %d, takeover in %s, %d repeated", readers, len(tg.SentAll()), sentAtKill,
		takeover.Round(time.Millisecond), repeats)
}
