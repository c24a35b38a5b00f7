package delivery_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/outbox/outboxtest"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// deliverd is a running helper process.
type deliverd struct {
	cmd *exec.Cmd
}

func startDeliverd(t testing.TB, bin, db string, fake *telegramtest.Server, args ...string) *deliverd {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(filepath.Dir(db), "deliverd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	cmd := exec.Command(bin, append([]string{"-db", db, "-api", fake.Endpoint(), "-token", fake.Token()}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &deliverd{cmd: cmd}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
	})
	return d
}

func (d *deliverd) kill(t testing.TB) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.cmd.Wait()
}

func (d *deliverd) terminate(t testing.TB) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("deliverd did not stop cleanly on SIGTERM: %v", err)
	}
}

var articleRef = regexp.MustCompile(`https://a\.example/(art-\d+)`)

// refs returns the articles a recorded message carries.
func refs(r telegramtest.Record) []string {
	var out []string
	for _, v := range r.Params {
		for _, g := range articleRef.FindAllStringSubmatch(v, -1) {
			if !slices.Contains(out, g[1]) {
				out = append(out, g[1])
			}
		}
	}
	return out
}

// received maps each chat to the articles it got, one entry per message
// that carried the article, from what the fake recorded.
func received(fake *telegramtest.Server) map[int64][]string {
	m := map[int64][]string{}
	for _, r := range fake.SentAll() {
		m[r.ChatID] = append(m[r.ChatID], refs(r)...)
	}
	return m
}

// A kill -9 at any moment loses nothing: after a restart every chat has
// every article, and only sends in flight at the kill (at most Concurrency
// messages per kill, each a post or a bundle of several articles) may
// arrive twice.
func TestKilledProcessLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	bin := outboxtest.Build(t, "github.com/almaalouma/nashra/delivery/internal/deliverd")
	limits := telegramtest.DefaultLimits()
	limits.GlobalPerSecond, limits.GlobalBurst = 250, 250
	fake := telegramtest.NewServer(telegramtest.WithLimits(limits), telegramtest.WithLatency(5*time.Millisecond, 25*time.Millisecond))
	defer fake.Close()

	dir := t.TempDir()
	path := filepath.Join(dir, "n.db")
	db := openStore(t, path)
	ctx := context.Background()
	const readers, concurrency = 400, 8
	for id := int64(1); id <= readers; id++ {
		fake.AddUser(tgbotapi.User{ID: id})
	}
	addChats(t, db, nashra.ChatPrivate, 1, readers, nil)
	for _, id := range []int64{-1001000000001, -1001000000002} {
		fake.AddChat(tgbotapi.Chat{ID: id, Type: "supergroup"})
	}
	addChats(t, db, nashra.ChatSupergroup, -1001000000001, 2, nil)
	channel := fake.AddChat(tgbotapi.Chat{ID: -1001234567890, Type: "channel"})
	if err := db.SeedChannels(ctx, []nashra.ChannelLink{{Section: "news", Channel: fmt.Sprint(channel.ID)}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	addArticle(t, db, "art-1", time.Now())
	addArticle(t, db, "art-2", time.Now())

	args := []string{"-rate", "200", "-concurrency", fmt.Sprint(concurrency), "-lease", "2s"}
	waitSent := func(n int) {
		t.Helper()
		eventually(t, 30*time.Second, fmt.Sprintf("%d messages", n), func() bool { return len(fake.SentAll()) >= n })
	}
	d := startDeliverd(t, bin, path, fake, args...)
	waitSent(120)
	d.kill(t)
	killed1 := len(fake.SentAll())

	// Articles keep arriving while it is down.
	addArticle(t, db, "art-3", time.Now())
	addArticle(t, db, "art-4", time.Now())
	d = startDeliverd(t, bin, path, fake, args...)
	waitSent(killed1 + 150)
	d.kill(t)

	d = startDeliverd(t, bin, path, fake, args...)
	want := []string{"art-1", "art-2", "art-3", "art-4"}
	complete := func() bool {
		got := received(fake)
		for id := int64(1); id <= readers; id++ {
			if !containsAll(got[id], want) {
				return false
			}
		}
		return containsAll(got[channel.ID], want) && containsAll(got[-1001000000001], want) && containsAll(got[-1001000000002], want)
	}
	eventually(t, 45*time.Second, "every chat to have every article", complete)
	time.Sleep(300 * time.Millisecond) // anything still queued would show now
	d.terminate(t)

	// What a kill can double is a send in flight, and a reader's send is
	// one bundle of up to BundleMax articles: the bound is on messages.
	repeats, repeatedArticles := 0, 0
	seen := map[int64]map[string]bool{}
	for _, r := range fake.SentAll() {
		if seen[r.ChatID] == nil {
			seen[r.ChatID] = map[string]bool{}
		}
		var again []string
		for _, g := range refs(r) {
			if seen[r.ChatID][g] {
				again = append(again, g)
			}
			seen[r.ChatID][g] = true
		}
		if len(again) > 0 {
			t.Logf("chat %d got %v again (message of %v)", r.ChatID, again, refs(r))
			repeats++
			repeatedArticles += len(again)
		}
	}
	for _, r := range fake.Sent(channel.ID) {
		if len(refs(r)) != 1 {
			t.Errorf("the channel got a post of %v", refs(r))
		}
	}
	if repeats > 2*concurrency {
		t.Errorf("%d messages repeated articles a chat had; two kills allow at most %d (the sends in flight)", repeats, 2*concurrency)
	}
	st := fake.Stats()
	if st.TooManyRequests != 0 {
		t.Errorf("%d 429s across the restarts: %+v", st.TooManyRequests, st)
	}
	c, _ := db.CountOutbox(ctx, time.Now().Add(-time.Hour))
	if open := c.Due[nashra.LanePrivate] + c.Due[nashra.LaneChannels] + c.Due[nashra.LaneGroups] + c.Held; open != 0 {
		t.Errorf("%d rows still open: %+v", open, c)
	}
	t.Logf("%d messages; after two kills %d repeated %d articles", len(fake.SentAll()), repeats, repeatedArticles)
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
