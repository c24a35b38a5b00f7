package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestChatLifecycle(t *testing.T) { contract(t, testChatLifecycle) }

func testChatLifecycle(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	c, created, err := db.TouchChat(ctx, Chat{ID: 42, Kind: ChatPrivate, Title: "قارئ", Language: "ar"}, now)
	if err != nil || !created || c.Settings != DefaultSettings || !c.Active {
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
	c, created, _ = db.TouchChat(ctx, Chat{ID: 42, Kind: ChatPrivate}, now)
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
	db.TouchChat(ctx, Chat{ID: -5, Kind: ChatGroup}, now)
	db.Subscribe(ctx, -5, []string{"news", "articles"}, now)
	if err := db.MoveChat(ctx, -5, -1005, now); err != nil {
		t.Fatal(err)
	}
	if subs, _ := db.Subscriptions(ctx, -1005); !slices.Equal(subs, []string{"news", "articles"}) {
		t.Errorf("moved subscriptions = %v", subs)
	}
	c, _ := db.Chat(ctx, -1005)
	if c.Kind != ChatSupergroup {
		t.Errorf("kind = %s", c.Kind)
	}
	// The supergroup may already exist when the old group's move arrives.
	db.TouchChat(ctx, Chat{ID: -6, Kind: ChatGroup}, now)
	db.Subscribe(ctx, -6, []string{"news"}, now)
	db.TouchChat(ctx, Chat{ID: -1006, Kind: ChatSupergroup}, now)
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
	seed := []ChannelLink{{Section: "news", Channel: "@news_ch"}, {Section: "articles", Channel: "@art_ch"}}
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
