package subscribers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/keywords"
	"github.com/almaalouma/nashra/store"
)

// followers returns, as text, who an article with this title and these
// categories goes to by keyword or tag, and who mutes it.
func followers(s *Service, title string, cats ...string) string {
	fs, muted := s.Followers(nashra.Article{Title: title, Categories: cats})
	return fmt.Sprint(fs, muted)
}

func TestFollowFeedsTheIndex(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, id := range []int64{1, 2, -100} {
		if _, _, err := f.s.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.s.LoadFollows(ctx); err != nil {
		t.Fatal(err)
	}
	if _, added, err := f.s.Follow(ctx, 1, 0, nashra.FollowKeyword, "  الكهرباء "); !added || err != nil {
		t.Fatalf("follow: %v %v", added, err)
	}
	if fl, added, err := f.s.Follow(ctx, 1, 0, nashra.FollowKeyword, "كهرباء"); added || err != nil || fl.Key == "" {
		t.Fatalf("the same word without its article: added=%v %v, want known already", added, err)
	}
	f.s.Follow(ctx, 2, 0, nashra.FollowTag, "#النفط")
	f.s.Follow(ctx, -100, 5, nashra.FollowKeyword, "الكهرباء")
	f.s.Follow(ctx, 2, 0, nashra.FollowMute, "كهرباء")

	fs, muted := f.s.Followers(nashra.Article{Title: "انقطاع واسع وبالكهرباء في البصرة", Categories: []string{"النفط"}})
	if len(fs) != 2 || len(muted) != 1 || muted[0].ChatID != 2 {
		t.Fatalf("followers %v muted %v: want chat 1 and the group's topic 5 by keyword, chat 2 muted", fs, muted)
	}
	if got := followers(f.s, "انفطار أنبوب", "اقتصاد"); got != "[] []" {
		t.Errorf("a word inside another matched: %s", got)
	}

	// A reader of another instance unfollows: this one hears it from the
	// store's log of changes.
	other := New(config.Defaults(), f.db, f.s.Sections(), WithClock(func() time.Time { return f.now }),
		WithLogger(slog.New(slog.DiscardHandler)))
	if err := other.LoadFollows(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Unfollow(ctx, 1, 0, nashra.FollowKeyword, "كهرباء"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Unfollow(ctx, 1, 0, nashra.FollowKeyword, "كهرباء"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unfollow twice: %v", err)
	}
	if _, _, err := other.Follow(ctx, 2, 0, nashra.FollowKeyword, "البصرة"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SyncFollows(ctx); err != nil {
		t.Fatal(err)
	}
	fs, _ = f.s.Followers(nashra.Article{Title: "الكهرباء في البصرة"})
	if fmt.Sprint(fs) != "[{-100 5 الكهرباء}]" {
		t.Fatalf("after the other instance's changes: %v, want only the group's topic (chat 1 left, chat 2 mutes الكهرباء)", fs)
	}
	fs, _ = f.s.Followers(nashra.Article{Title: "أمطار في البصرة"})
	if fmt.Sprint(fs) != "[{2 0 البصرة}]" {
		t.Fatalf("the other instance's new follow: %v", fs)
	}

	// A deleted topic's follows move to the group's general topic.
	if n, err := f.s.TopicToGeneral(ctx, -100, 5); err != nil || n != 1 {
		t.Fatalf("topic to general: %d %v", n, err)
	}
	if fs, _ := f.s.Followers(nashra.Article{Title: "الكهرباء"}); fmt.Sprint(fs) != "[{-100 0 الكهرباء}]" {
		t.Fatalf("after its topic went: %v, want the group's general topic", fs)
	}
	// /stop forgets a chat; the index follows through the log.
	if err := f.s.ForgetChat(ctx, 2); err != nil {
		t.Fatal(err)
	}
	f.s.SyncFollows(ctx)
	if fs, _ := f.s.Followers(nashra.Article{Title: "البصرة", Categories: []string{"النفط"}}); len(fs) != 0 {
		t.Fatalf("a forgotten chat still follows: %v", fs)
	}
}

func TestFollowLimitsAndRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.s.TouchChat(ctx, nashra.Chat{ID: 1, Kind: nashra.ChatPrivate})
	for i := range keywords.MaxPerOwner {
		kind := nashra.FollowKeyword
		if i%2 == 1 {
			kind = nashra.FollowMute
		}
		if _, added, err := f.s.Follow(ctx, 1, 0, kind, fmt.Sprintf("word%c%c", 'a'+i/26, 'a'+i%26)); !added || err != nil {
			t.Fatalf("follow %d: %v %v", i, added, err)
		}
	}
	if _, _, err := f.s.Follow(ctx, 1, 0, nashra.FollowTag, "النفط"); !errors.Is(err, ErrTooManyFollows) {
		t.Fatalf("follow past the limit: %v", err)
	}
	for _, bad := range []struct {
		phrase string
		want   error
	}{{"", keywords.ErrEmpty}, {"و", keywords.ErrTooShort}, {"واحد اثنان ثلاثة أربعة خمسة ستة سبعة", keywords.ErrTooLong}} {
		if _, _, err := f.s.Follow(ctx, 1, 0, nashra.FollowKeyword, bad.phrase); !errors.Is(err, bad.want) {
			t.Errorf("follow %q: %v, want %v", bad.phrase, err, bad.want)
		}
	}
}

func TestMatchingRecentArticles(t *testing.T) {
	as := []nashra.Article{{ID: 1, Title: "وزارة الكهرباء تعلن"}, {ID: 2, Title: "انفطار"}, {ID: 3, Title: "محطات كهربائية", Categories: []string{"طاقة"}}}
	got := Matching(nashra.FollowKeyword, "الكهرباء", as)
	if len(got) != 2 || got[0].ID != 1 || got[1].ID != 3 {
		t.Fatalf("matching %v", got)
	}
	if got := Matching(nashra.FollowTag, "#طاقة", as); len(got) != 1 || got[0].ID != 3 {
		t.Fatalf("matching a tag: %v", got)
	}
}

func TestFollowMetrics(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	if err := f.s.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := f.s.LoadFollows(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{1, 2} {
		f.s.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate})
		f.s.Follow(ctx, id, 0, nashra.FollowKeyword, "الكهرباء")
	}
	f.s.Follow(ctx, 1, 0, nashra.FollowMute, "رياضة")
	if err := f.s.gaugeFollows(ctx); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got = append(got, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), m.GetGauge().GetValue()))
		}
	}
	if want := "nashra_follow_rules{} 3|nashra_keyword_followers{keyword=الكهرباء} 2"; strings.Join(got, "|") != want {
		t.Fatalf("metrics %q, want %q", got, want)
	}
}
