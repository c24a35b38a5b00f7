package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

// seed gives the site readers, articles pushed and clicked, and email
// subscribers, through the store's own calls.
func (s *site) seed() (pushed, other int64) {
	s.t.Helper()
	ctx := context.Background()
	now := s.clock.t
	for id := int64(1); id <= 6; id++ {
		s.db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, now.Add(-48*time.Hour))
		s.db.Subscribe(ctx, id, []string{"news"}, now.Add(-48*time.Hour))
	}
	s.db.SetChatActive(ctx, 6, false, "blocked", now)
	s.db.TouchChat(ctx, nashra.Chat{ID: -7, Kind: nashra.ChatGroup}, now)
	s.db.Subscribe(ctx, -7, []string{"news", "video"}, now)
	save := func(guid, title string) int64 {
		res, err := s.db.SaveItems(ctx, "news", []nashra.Article{{GUID: guid, Link: "https://almaalouma.net/" + guid, Title: title}}, now,
			func(fresh []*nashra.Article) {
				for _, a := range fresh {
					a.State = nashra.ArticleNew
				}
			})
		if err != nil || len(res.New) != 1 {
			s.t.Fatalf("save: %+v %v", res, err)
		}
		return res.New[0]
	}
	pushed = save("p1", "إعلان نتائج الانتخابات في بغداد")
	other = save("p2", "تقرير عن الطاقة")
	for _, a := range []int64{pushed, other} {
		if _, err := s.db.HandOn(ctx, store.FanOut{ArticleID: a, State: nashra.DeliveryPending, Now: now}); err != nil {
			s.t.Fatal(err)
		}
	}
	rows, err := s.db.ClaimDeliveries(ctx, "t", nashra.LanePrivate, 100, now.Add(time.Minute))
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []int64
	for _, d := range rows {
		if d.ArticleID == pushed {
			ids = append(ids, d.ID)
		}
	}
	if err := s.db.UpdateOutbox(ctx, "t", []store.OutboxUpdate{{Op: store.OpSent, IDs: ids[:3], MessageID: 1, At: now},
		{Op: store.OpDead, IDs: ids[3:4], Error: "Forbidden: bot was blocked by the user"}}, nil); err != nil {
		s.t.Fatal(err)
	}
	s.db.ReleaseClaims(ctx, store.QueueTelegram, "t")
	s.db.RecordClicks(ctx, []nashra.Click{
		{ArticleID: pushed, Medium: nashra.MediumTelegram, Reader: "c:1", At: now},
		{ArticleID: pushed, Medium: nashra.MediumTelegram, Reader: "c:2", At: now},
		{ArticleID: pushed, Medium: nashra.MediumEmail, Reader: "s:1", At: now},
		{ArticleID: other, Medium: nashra.MediumWeb, Reader: "v:a", Network: "n", At: now},
	}, 10)
	for i, addr := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		id, _, err := s.db.RequestEmailSignup(ctx, store.SignupRequest{Address: addr, Now: now, Limit: 3, Window: time.Hour})
		if err != nil {
			s.t.Fatal(err)
		}
		if i < 2 {
			s.db.ConfirmEmailSubscriber(ctx, id, now)
		}
	}
	return pushed, other
}

// marks returns the data-marks of each chart on a page, by id.
func marks(body string) map[string]int {
	out := map[string]int{}
	for _, m := range regexp.MustCompile(`<svg class="chart" id="([^"]+)"[^>]*data-marks="(\d+)"`).FindAllStringSubmatch(body, -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	return out
}

func TestPagesShowWhatHappened(t *testing.T) {
	s := newSite(t, "")
	pushed, _ := s.seed()
	c := s.browser()
	s.signIn(c)

	code, body := get(t, c, s.srv.URL+"/dashboard/")
	if code != http.StatusOK {
		t.Fatalf("overview %d", code)
	}
	m := marks(body)
	for _, id := range []string{"media", "sections", "moves30", "moves90"} {
		if m[id] == 0 {
			t.Errorf("overview chart %s drew no data (%v)", id, m)
		}
	}
	for _, want := range []string{">5<", "قرّاء تيليجرام النشطون", "<title id=\"moves30-t\">", "رسائل أُرسلت اليوم"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}

	// The ranking is read in the background; a page waits for it a little.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body = get(t, c, s.srv.URL+"/dashboard/articles?sort=sent")
		if code != http.StatusOK {
			t.Fatalf("articles %d", code)
		}
		if !strings.Contains(body, "يُحسب الآن") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	row := body[strings.Index(body, "إعلان نتائج"):]
	row = row[:strings.Index(row, "</tr>")]
	cells := regexp.MustCompile(`<td class="n">([^<]*)</td>`).FindAllStringSubmatch(row, -1)
	var got []string
	for _, c := range cells {
		got = append(got, c[1])
	}
	// sent, dead, stale, cancelled, clicks by medium (telegram, channels, email, web), rank
	if strings.Join(got, " ") != "3 1 0 0 2 0 1 0 1" {
		t.Errorf("the pushed article's row: %v", got)
	}
	// Searching as readers type: no hamza, teh marbuta as heh.
	_, body = get(t, c, s.srv.URL+"/dashboard/articles?q="+url.QueryEscape("اعلان نتائج الانتخابات"))
	if !strings.Contains(body, "إعلان نتائج الانتخابات") || strings.Contains(body, "تقرير عن الطاقة") {
		t.Errorf("search for اعلان did not find only إعلان")
	}
	_, body = get(t, c, s.srv.URL+"/dashboard/articles?q="+url.QueryEscape("الطاقه"))
	if !strings.Contains(body, "تقرير عن الطاقة") || strings.Contains(body, "إعلان نتائج") {
		t.Errorf("search for الطاقه did not find only الطاقة")
	}

	code, body = get(t, c, s.srv.URL+"/dashboard/delivery")
	if code != http.StatusOK || !strings.Contains(body, "Forbidden: bot was blocked by the user") || marks(body)["rate"] == 0 {
		t.Errorf("delivery %d: no dead row or no rate chart\n%s", code, body)
	}
	if !strings.Contains(body, fmt.Sprintf(`action="/dashboard/articles/%d/retract"`, pushed)) {
		t.Error("delivery lists no retract button for the pushed article")
	}
	code, live := get(t, c, s.srv.URL+"/dashboard/delivery/live")
	if code != http.StatusOK || strings.Contains(live, "<html") || !strings.Contains(live, "الطابور حسب المسار") {
		t.Errorf("live fragment %d:\n%s", code, live)
	}

	code, body = get(t, c, s.srv.URL+"/dashboard/feeds")
	if code != http.StatusOK || !strings.Contains(body, "https://almaalouma.net/category/news/feed/") || !strings.Contains(body, "لم يُفحص بعد") {
		t.Errorf("feeds %d", code)
	}

	code, body = get(t, c, s.srv.URL+"/dashboard/email")
	if code != http.StatusOK || marks(body)["email-days"] == 0 {
		t.Errorf("email %d, charts %v", code, marks(body))
	}
	figures := regexp.MustCompile(`<span class="n">([\d,]+)</span><span class="l">(ينتظرون التأكيد|نشطون)</span>`).FindAllStringSubmatch(body, -1)
	if len(figures) != 2 || figures[0][1] != "1" || figures[1][1] != "2" {
		t.Errorf("email states %v, want 1 pending and 2 active", figures)
	}
}

func TestReleaseAndDropHeldArticles(t *testing.T) {
	s := newSite(t, "")
	first, second := s.held("خبر موقوف أول"), s.held("خبر موقوف ثان")
	c := s.browser()
	csrf := s.signIn(c)
	_, body := get(t, c, s.srv.URL+"/dashboard/delivery")
	for _, id := range []int64{first, second} {
		if !strings.Contains(body, fmt.Sprintf(`id="held-%d"`, id)) {
			t.Fatalf("held article %d not listed", id)
		}
	}
	resp, _ := post(t, c, s.srv.URL+fmt.Sprintf("/dashboard/held/%d/release", first), url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/delivery?done=released" {
		t.Fatalf("release: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = get(t, c, s.srv.URL+resp.Header.Get("Location"))
	if !strings.Contains(body, "أُطلق المقال للإرسال") || strings.Contains(body, fmt.Sprintf(`id="held-%d"`, first)) {
		t.Errorf("after release the page does not say so, or still lists it")
	}
	resp, _ = post(t, c, s.srv.URL+fmt.Sprintf("/dashboard/held/%d/drop", second), url.Values{"csrf": {csrf}})
	_, body = get(t, c, s.srv.URL+resp.Header.Get("Location"))
	if !strings.Contains(body, "أُلغي المقال الموقوف") || !strings.Contains(body, `id="held-none"`) {
		t.Errorf("after drop the page does not say so, or lists held articles")
	}
	ctx := context.Background()
	if a, _ := s.db.Article(ctx, first); a.State != nashra.ArticleNew {
		t.Errorf("released article is %s, want new (the delivery engine's hand-off)", a.State)
	}
	if a, _ := s.db.Article(ctx, second); a.State != nashra.ArticleExcluded {
		t.Errorf("dropped article is %s, want excluded", a.State)
	}
	// Deciding twice (another editor was quicker) says so.
	resp, _ = post(t, c, s.srv.URL+fmt.Sprintf("/dashboard/held/%d/release", second), url.Values{"csrf": {csrf}})
	if resp.Header.Get("Location") != "/dashboard/delivery?done=not-held" {
		t.Errorf("releasing a dropped article: %s", resp.Header.Get("Location"))
	}
}

// An article an editor retracted stays on the articles page, marked as
// withdrawn and no longer linked, its figures kept; the others are not
// marked.
func TestRetractedArticlesAreMarked(t *testing.T) {
	s := newSite(t, "")
	pushed, other := s.seed()
	c := s.browser()
	csrf := s.signIn(c)
	resp, _ := post(t, c, s.srv.URL+fmt.Sprintf("/dashboard/articles/%d/retract", pushed), url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retract: %d", resp.StatusCode)
	}
	code, body := get(t, c, s.srv.URL+"/dashboard/articles")
	if code != http.StatusOK {
		t.Fatalf("articles %d", code)
	}
	row := func(title string) string {
		i := strings.Index(body, title)
		if i < 0 {
			t.Fatalf("%q is not listed", title)
		}
		r := body[strings.LastIndex(body[:i], "<tr>"):]
		return r[:strings.Index(r, "</tr>")]
	}
	retracted := row("إعلان نتائج الانتخابات في بغداد")
	for _, want := range []string{"<s>إعلان نتائج الانتخابات في بغداد</s>", `<span class="bad">مسحوب</span>`, "سُحب في ",
		fmt.Sprintf("#%d", pushed), `<td class="n">3</td>`} {
		if !strings.Contains(retracted, want) {
			t.Errorf("the retracted article's row lacks %q:\n%s", want, retracted)
		}
	}
	if strings.Contains(retracted, `href="https://almaalouma.net/p1"`) {
		t.Error("the retracted article is still linked")
	}
	if kept := row("تقرير عن الطاقة"); strings.Contains(kept, "مسحوب") || !strings.Contains(kept, fmt.Sprintf("#%d", other)) {
		t.Errorf("an article not retracted is marked:\n%s", kept)
	}
}
