package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/store"
)

// An item the store refused shows in the poll's table, with its GUID and
// why, though the feed itself did not fail.
func TestPollTableShowsRefusedItems(t *testing.T) {
	var out strings.Builder
	printResults(&out, []feeds.Result{
		{Section: "news", FeedURL: "https://a.example/news/feed/", Status: 200, Items: 5, New: 2, Unchanged: 2,
			Refused: []store.ItemError{{GUID: "https://a.example/?p=4", Err: errors.New("refused")}}},
		{Section: "video", FeedURL: "https://a.example/video/feed/", Status: 304},
	})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", out.String())
	}
	if want := `1 of 5 items not stored, tried again at the next poll: item "https://a.example/?p=4": refused`; !strings.HasSuffix(lines[1], want) {
		t.Errorf("news line %q, want it to end with %q", lines[1], want)
	}
	if !strings.HasSuffix(lines[2], " -") {
		t.Errorf("video line %q, want no error", lines[2])
	}
}
