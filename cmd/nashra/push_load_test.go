package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// TestLoadPublishToPost measures, over NASHRA_LOAD_PUBLISHES (100)
// publishes spread over the seven sections, the time from the publisher's
// ping to the channel post, through the whole program with the delivery
// engine's limits in force and the strict fake Bot API: pushed by the hub
// (websub), asked by the publish ping (ping), or found by polling alone
// at the default interval (poll, which takes some fifteen minutes). Run
// with NASHRA_LOAD=1 and -run 'TestLoadPublishToPost/websub' (or ping,
// poll); see README.md.
func TestLoadPublishToPost(t *testing.T) {
	if os.Getenv("NASHRA_LOAD") == "" {
		t.Skip("load scenario: set NASHRA_LOAD=1")
	}
	n := 100
	if v := os.Getenv("NASHRA_LOAD_PUBLISHES"); v != "" {
		fmt.Sscan(v, &n)
	}
	for _, c := range []struct {
		mode    string
		spacing time.Duration
	}{
		{"websub", time.Second},
		{"ping", time.Second},
		// Publishes spread over two poll intervals meet every phase of
		// the schedule.
		{"poll", 10 * time.Minute / time.Duration(n)},
	} {
		t.Run(c.mode, func(t *testing.T) {
			w := newPushWorld(t, c.mode == "websub", func(cfg *config.Config) {
				if c.mode == "poll" {
					cfg.WebSub.Enabled = false
				}
			})
			watch := newPostWatch(w)
			defer watch.stop()
			sections := config.Defaults().Sections
			sent := make([]time.Time, n)
			titles := make([]string, n)
			for i := range n {
				s := sections[i%len(sections)].Slug
				titles[i] = fmt.Sprintf("خبر رقم %d في قسم %s", i+1, s)
				it := demo.Item{Section: s, Title: titles[i], Body: "نص الخبر.", Tags: []string{"أخبار"}}
				sent[i] = time.Now()
				switch c.mode {
				case "websub":
					w.pub.viaHub(t, it)
				case "ping":
					w.pub.viaPing(t, it)
				default:
					w.site.Publish(time.Now(), it)
				}
				time.Sleep(c.spacing)
			}
			lat := make([]time.Duration, n)
			for i := range n {
				lat[i] = watch.wait(t, titles[i], 7*time.Minute).Sub(sent[i])
			}
			slowest := 0
			for i := range lat {
				if lat[i] > lat[slowest] {
					slowest = i
				}
			}
			slices.Sort(lat)
			q := func(p float64) time.Duration { return lat[int(p*float64(n-1)+0.5)].Round(time.Millisecond) }
			st := w.tg.Stats()
			t.Logf("%s: %d publishes, ping → channel post p50 %s, p95 %s, max %s (publish #%d); fake Bot API: %d 429s, %d violations",
				c.mode, n, q(0.5), q(0.95), lat[n-1].Round(time.Millisecond), slowest+1, st.TooManyRequests, st.GlobalViolations)
			for slug, ch := range w.channels {
				posts := w.tg.Sent(ch)
				for _, title := range titles {
					if k := countPosts(posts, title); strings.Contains(title, " "+slug) && k != 1 {
						t.Errorf("%q posted %d times", title, k)
					}
				}
			}
		})
	}
}

// postWatch notes when each post reached the fake Bot API, from its own
// records, so that watching costs no accuracy.
type postWatch struct {
	w      *pushWorld
	cancel context.CancelFunc
	done   sync.WaitGroup
	mu     sync.Mutex
	at     map[string]time.Time // by the post's text
}

func newPostWatch(w *pushWorld) *postWatch {
	ctx, cancel := context.WithCancel(context.Background())
	pw := &postWatch{w: w, cancel: cancel, at: map[string]time.Time{}}
	pw.done.Go(func() {
		for ctx.Err() == nil {
			for _, r := range w.tg.SentAll() {
				pw.mu.Lock()
				if _, ok := pw.at[r.Plain]; !ok {
					pw.at[r.Plain] = r.Time
				}
				pw.mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return pw
}

func (pw *postWatch) stop() { pw.cancel(); pw.done.Wait() }

// wait returns when the post that holds title was taken.
func (pw *postWatch) wait(t *testing.T, title string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		pw.mu.Lock()
		for text, at := range pw.at {
			if strings.Contains(text, title) {
				pw.mu.Unlock()
				return at
			}
		}
		pw.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no post of %q within %s", title, within)
	return time.Time{}
}

func countPosts(posts []telegramtest.Record, title string) int {
	n := 0
	for _, p := range posts {
		if strings.Contains(p.Plain, title) {
			n++
		}
	}
	return n
}
