package ranking

import (
	"context"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/almaalouma/nashra"
)

// The purge runs at start and keeps the days the ranking may still need;
// the site's list is read at start when a URL is configured.
func TestRegisteredJobs(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	now := time.Now()
	people := addArticle(t, db, "articles", linkPeople, "الناس على دين الملوك", now.Add(-time.Hour))
	if _, err := db.RecordClicks(ctx, []nashra.Click{
		{ArticleID: people, Medium: "web", Reader: "v:old", At: now.Add(-40 * 24 * time.Hour)},
		{ArticleID: people, Medium: "web", Reader: "v:new", At: now.Add(-time.Hour)},
	}, 0); err != nil {
		t.Fatal(err)
	}
	r := newRanker(t, siteAt(serveHome(t).URL), db, time.Now)
	s, err := gocron.NewScheduler()
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := r.Register(s)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("Register = %d jobs, %v", len(jobs), err)
	}
	s.Start()
	defer s.Shutdown()
	deadline := time.Now().Add(10 * time.Second)
	for {
		listed, err := db.SiteMostFollowed(ctx, now.Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		bs, err := db.ClickBuckets(ctx, now.Add(-50*24*time.Hour), now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		// The old click survives only as a daily count, at noon of its day.
		purged := len(bs) == 2 && bs[1].At.Hour() == 12 && bs[1].At.Minute() == 0
		if len(listed) == 1 && purged {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: listed %v, buckets %+v", listed, bs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
