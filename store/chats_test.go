package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

func TestChatLifecycle(t *testing.T) { contract(t, testChatLifecycle) }

func testChatLifecycle(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	c, created, err := db.TouchChat(ctx, nashra.Chat{ID: 42, Kind: nashra.ChatPrivate, Title: "قارئ", Language: "ar"}, now)
	if err != nil || !created || c.Settings != nashra.DefaultChatSettings || !c.Active {
		t.Fatalf("new chat: %+v created=%v %v", c, created, err)
	}
	if added, _ := db.Subscribe(ctx, 42, []string{"news", "articles"}, now); len(added) != 2 {
		t.Fatalf("added %v", added)
	}
	if added, _ := db.Subscribe(ctx, 42, []string{"news"}, now); len(added) != 0 {
		t.Errorf("subscribing twice added %v", added)
	}
	if removed, _ := db.Unsubscribe(ctx, 42, []string{"news", "video"}); !slices.Equal(removed, []string{"news"}) {
		t.Errorf("removed %v", removed)
	}
	if err := db.SetChatActive(ctx, 42, false, "blocked", now); err != nil {
		t.Fatal(err)
	}
	counts, _ := db.CountChats(ctx)
	if counts.Readers != 1 || counts.ActiveReaders != 0 || counts.Inactive != 1 || counts.BySection["articles"] != 0 {
		t.Errorf("counts after block: %+v", counts)
	}
	// Writing again reactivates, keeping the settings and sections.
	c, created, _ = db.TouchChat(ctx, nashra.Chat{ID: 42, Kind: nashra.ChatPrivate}, now)
	if created || !c.Active || c.Language != "ar" {
		t.Errorf("after return: %+v created=%v", c, created)
	}
	if err := db.DeleteChat(ctx, 42); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Chat(ctx, 42); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted chat: %v", err)
	}
	if subs, _ := db.Subscriptions(ctx, 42); len(subs) != 0 {
		t.Errorf("subscriptions outlived the chat: %v", subs)
	}
}

func TestMoveChatKeepsSections(t *testing.T) { contract(t, testMoveChatKeepsSections) }

func testMoveChatKeepsSections(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	db.TouchChat(ctx, nashra.Chat{ID: -5, Kind: nashra.ChatGroup}, now)
	db.Subscribe(ctx, -5, []string{"news", "articles"}, now)
	if err := db.MoveChat(ctx, -5, -1005, now); err != nil {
		t.Fatal(err)
	}
	if subs, _ := db.Subscriptions(ctx, -1005); !slices.Equal(subs, []string{"news", "articles"}) {
		t.Errorf("moved subscriptions = %v", subs)
	}
	c, _ := db.Chat(ctx, -1005)
	if c.Kind != nashra.ChatSupergroup {
		t.Errorf("kind = %s", c.Kind)
	}
	// The supergroup may already exist when the old group's move arrives.
	db.TouchChat(ctx, nashra.Chat{ID: -6, Kind: nashra.ChatGroup}, now)
	db.Subscribe(ctx, -6, []string{"news"}, now)
	db.TouchChat(ctx, nashra.Chat{ID: -1006, Kind: nashra.ChatSupergroup}, now)
	db.Subscribe(ctx, -1006, []string{"articles"}, now)
	if err := db.MoveChat(ctx, -6, -1006, now); err != nil {
		t.Fatal(err)
	}
	if subs, _ := db.Subscriptions(ctx, -1006); !slices.Equal(subs, []string{"news", "articles"}) {
		t.Errorf("merged subscriptions = %v", subs)
	}
}

func TestChannelMappingRuntimeWins(t *testing.T) { contract(t, testChannelMappingRuntimeWins) }

func testChannelMappingRuntimeWins(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	seed := []nashra.ChannelLink{{Section: "news", Channel: "@news_ch"}, {Section: "articles", Channel: "@art_ch"}}
	if err := db.SeedChannels(ctx, seed, now); err != nil {
		t.Fatal(err)
	}
	db.LinkChannel(ctx, "news", "@extra", now)
	if ok, _ := db.UnlinkChannel(ctx, "articles", "@art_ch", now); !ok {
		t.Fatal("unlink found nothing")
	}
	// A restart seeds the same configuration again: the unlinked channel
	// stays unlinked, the run-time link stays.
	db.SeedChannels(ctx, seed, now)
	links, _ := db.ChannelLinks(ctx)
	var got []string
	for _, l := range links {
		got = append(got, l.Section+":"+l.Channel+":"+l.Source)
	}
	want := []string{"news:@extra:runtime", "news:@news_ch:config"}
	if !slices.Equal(got, want) {
		t.Errorf("links = %v, want %v", got, want)
	}
	// Dropping a channel from the configuration removes its seeded link.
	db.SeedChannels(ctx, nil, now)
	links, _ = db.ChannelLinks(ctx)
	if len(links) != 1 || links[0].Channel != "@extra" {
		t.Errorf("after config removal: %+v", links)
	}
}

func TestUpdatesHandledOnce(t *testing.T) { contract(t, testUpdatesHandledOnce) }

func testUpdatesHandledOnce(t *testing.T, db *DB) {
	ctx := context.Background()
	if ok, _ := db.ClaimUpdate(ctx, 7, time.Now()); !ok {
		t.Fatal("first claim refused")
	}
	if ok, _ := db.ClaimUpdate(ctx, 7, time.Now()); ok {
		t.Error("an update was claimed twice")
	}
	db.ClaimUpdate(ctx, 9, time.Now())
	db.ForgetUpdates(ctx, time.Now().Add(time.Hour))
	if id, _ := db.LastUpdateID(ctx); id != 9 {
		t.Errorf("last update id = %d after forgetting", id)
	}
}

func TestSettingsChangeReleasesDeferred(t *testing.T) {
	contract(t, testSettingsChangeReleasesDeferred)
}

// testSettingsChangeReleasesDeferred: rows quiet hours deferred come due
// again when the reader changes them; a retry keeps its backoff, and a
// change of something else releases nothing.
func testSettingsChangeReleasesDeferred(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	db.TouchChat(ctx, nashra.Chat{ID: 7, Kind: nashra.ChatPrivate}, now)
	db.Subscribe(ctx, 7, []string{"news"}, now)
	for i := range 3 {
		db.HandOn(ctx, FanOut{ArticleID: newArticle(t, db, "news", fmt.Sprint("q", i)), State: nashra.DeliveryPending, Now: now})
	}
	rows, err := db.ClaimDeliveries(ctx, "me", nashra.LanePrivate, 10, now.Add(time.Minute))
	if err != nil || len(rows) != 3 {
		t.Fatalf("claimed %d, %v", len(rows), err)
	}
	morning := now.Add(8 * time.Hour)
	if err := db.UpdateOutbox(ctx, "me", []OutboxUpdate{
		{Op: OpDefer, IDs: []int64{rows[0].ID, rows[1].ID}, At: morning},
		{Op: OpRetry, IDs: []int64{rows[2].ID}, At: now.Add(time.Hour), ErrorKind: "transient", Error: "502"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	s := nashra.DefaultChatSettings
	s.Digest = true // not a change of when posts come
	if err := db.SetChatSettings(ctx, 7, s, now); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Second)
	if n, _ := db.ReleaseHeldDeliveries(ctx, later); n != 0 {
		t.Fatalf("turning the digest on released %d held rows", n)
	}
	s.QuietStart, s.QuietEnd = 0, 0
	if err := db.SetChatSettings(ctx, 7, s, later); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.ReleaseHeldDeliveries(ctx, later); n != 2 {
		t.Fatalf("turning quiet hours off released %d held rows, want the 2 deferred", n)
	}
	again, _ := db.ClaimDeliveries(ctx, "me", nashra.LanePrivate, 10, later.Add(time.Minute))
	if len(again) != 2 || again[0].ID != rows[0].ID || again[1].ID != rows[1].ID || !again[0].DueAt.Equal(time.UnixMilli(later.UnixMilli())) {
		t.Errorf("claimable after the change: %+v", again)
	}
	if err := db.SetChatSettings(ctx, 99, s, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("settings of an unknown chat: %v", err)
	}
}

// The columns' SQL defaults are never what a new chat gets (TouchChat
// writes every setting from nashra.DefaultSettings), but a row written by
// hand or by an older instance falls back on them: they must say the same.
func TestColumnDefaultsAreTheChatDefaults(t *testing.T) {
	contract(t, testColumnDefaultsAreTheChatDefaults)
}

func testColumnDefaultsAreTheChatDefaults(t *testing.T, db *DB) {
	ctx := context.Background()
	if _, err := db.write.ExecContext(ctx, `INSERT INTO chats (id, kind, created_at, updated_at) VALUES (7, 'private', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	c, err := db.Chat(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if c.Settings != nashra.DefaultChatSettings {
		t.Errorf("the columns' defaults give %+v, nashra.DefaultChatSettings is %+v", c.Settings, nashra.DefaultChatSettings)
	}
}
