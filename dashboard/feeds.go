package dashboard

import (
	"fmt"
	"net/http"
	"time"

	"github.com/almaalouma/nashra/feeds/websub"
)

type feedRow struct {
	Section, URL string
	By, ByNote   string
	Checked      string
	Status       string
	OK           bool
	Items        int
	Errors       int
	LastError    string
	Next         string
	LastNew      string
}

// fedByNames say how a feed hears of new articles.
var fedByNames = map[string]string{
	websub.FedByPush: "دفع فوري (WebSub)",
	websub.FedByPing: "إشعار النشر من الموقع",
	websub.FedByPoll: "الجلب الدوري وحده",
}

func (d *Dashboard) feeds(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := d.ctx(r)
	defer cancel()
	now := d.now()
	statuses, err := websub.Statuses(ctx, d.st, now)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	items, err := d.st.ArticlesBySection(ctx)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	names := map[string]string{}
	for _, s := range d.cfg.Sections {
		names[s.Slug] = s.Name
	}
	var rows []feedRow
	for _, s := range statuses {
		f := s.Feed
		row := feedRow{Section: names[f.SectionSlug], URL: f.URL, By: fedByNames[s.By], Checked: d.when(f.CheckedAt),
			Items: items[f.SectionSlug], Errors: f.ErrorCount, LastError: f.LastError, LastNew: d.when(f.LastNewAt)}
		if row.Section == "" {
			row.Section = f.SectionSlug
		}
		switch s.By {
		case websub.FedByPush:
			row.ByNote = fmt.Sprintf("المحور %s، الاشتراك حتى %s", s.Hub, d.when(s.LeaseUntil))
		case websub.FedByPing:
			row.ByNote = fmt.Sprintf("آخر إشعار %s", d.when(s.LastPing))
		default:
			if s.Hub != "" {
				row.ByNote = fmt.Sprintf("المحور %s: %s", s.Hub, subStateNames(s.State))
			}
		}
		switch {
		case f.CheckedAt.IsZero():
			row.Status = "لم يُفحص بعد"
		case f.ErrorCount > 0:
			row.Status = fmt.Sprintf("يفشل منذ %d محاولة (HTTP %d)", f.ErrorCount, f.LastStatus)
		default:
			row.Status, row.OK = fmt.Sprintf("يعمل (HTTP %d)", f.LastStatus), true
		}
		switch {
		case f.NextCheckAt.IsZero():
			row.Next = "الآن"
		case f.NextCheckAt.Before(now):
			row.Next = "مستحق الآن"
		default:
			row.Next = fmt.Sprintf("%s (بعد %s)", f.NextCheckAt.In(d.cfg.Site.Location).Format("15:04"), f.NextCheckAt.Sub(now).Round(time.Second))
		}
		rows = append(rows, row)
	}
	d.render(w, http.StatusOK, "feeds.html", d.page(r, "المصادر", rows))
}

// subStateNames names a WebSub subscription's state.
func subStateNames(state string) string {
	switch state {
	case "active":
		return "مشترك"
	case "lapsed":
		return "انتهى الاشتراك"
	case "silent":
		return "توقف عن الدفع"
	case "requested":
		return "طُلب الاشتراك"
	case "denied":
		return "رفض الاشتراك"
	case "unsubscribing":
		return "يُلغى الاشتراك"
	}
	return "لا اشتراك"
}
