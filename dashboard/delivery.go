package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/store"
)

// laneNames are the delivery engine's lanes as editors read them, in the
// order they are served.
var laneNames = []struct{ key, name string }{
	{"replies", "ردود البوت"},
	{"edits", "تصحيحات وسحوبات"},
	{"breaking", "العاجل"},
	{"channels", "القنوات"},
	{"groups", "المجموعات"},
	{"private", "القرّاء"},
	{"broadcast", "رسائل البث"},
}

// liveData is the part of the delivery page that refreshes itself.
type liveData struct {
	Available  bool
	Paused     bool
	PausedAt   string
	Dispatcher string
	// Rate is the messages sent in the last rateWindow, per second, against
	// the configured limit.
	Rate, Limit float64
	RateChart   barChart
	Figures     []figure
	Lanes       barChart
	// Counters are this process's own since it started; Local is false
	// when the dispatcher runs on another instance.
	Counters []figure
	Local    bool
	Scopes   []scopeRow
	Dead     []deadRow
	Updated  string
}

type scopeRow struct {
	Scope string
	Until string
	Left  string
}

type deadRow struct {
	ID, ArticleID, ChatID int64
	Kind, Error, When     string
}

type deliveryData struct {
	Live   liveData
	Held   []heldRow
	Recent []recentRow
}

type heldRow struct {
	ID          int64
	Title, Link string
	Found       string
}

type recentRow struct {
	ID          int64
	Title, Link string
	State       string
	Sent        int
}

// rateWindow is the span over which sends per second are measured.
const rateWindow = 10 * time.Second

func (d *Dashboard) delivery(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := d.ctx(r)
	defer cancel()
	live, err := d.liveData(ctx)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := deliveryData{Live: live}
	if d.opts.FloodGuard != nil {
		held, err := d.opts.FloodGuard.Held(ctx, 100)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		for _, a := range held {
			data.Held = append(data.Held, heldRow{ID: a.ID, Title: a.Title, Link: a.Link, Found: d.when(a.FirstSeenAt)})
		}
	}
	recent, _, err := d.st.ArticleFigures(ctx, store.ArticleQuery{Sort: store.SortFound, Limit: 10})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	for _, a := range recent {
		if a.State != nashra.ArticleHanded {
			continue
		}
		data.Recent = append(data.Recent, recentRow{ID: a.ID, Title: a.Title, Link: a.Link, Sent: a.Sent, State: stateNames[a.State]})
	}
	d.render(w, http.StatusOK, "delivery.html", d.page(r, "الإرسال الآن", data))
}

// deliveryLive is the live part of the delivery page alone, which the
// page's script fetches every few seconds: a few reads of indexes and
// counters, never of the queue's rows.
func (d *Dashboard) deliveryLive(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := d.ctx(r)
	defer cancel()
	live, err := d.liveData(ctx)
	if err != nil {
		d.log.Error("dashboard: live delivery figures", "err", err)
		http.Error(w, "تعذّرت قراءة الأرقام", http.StatusServiceUnavailable)
		return
	}
	d.render(w, http.StatusOK, "live.html", d.page(r, "", live))
}

func (d *Dashboard) liveData(ctx context.Context) (liveData, error) {
	now := d.now()
	l := liveData{Updated: now.In(d.cfg.Site.Location).Format("15:04:05")}
	if d.opts.Delivery == nil {
		return l, nil
	}
	f, err := d.opts.Delivery.Figures(ctx)
	if err != nil {
		return l, err
	}
	l.Available = true
	l.Paused, l.Dispatcher = f.Paused, f.Dispatcher
	if f.Paused {
		l.PausedAt = d.when(f.PausedAt)
	}
	sent, err := d.st.DeliveriesSentSince(ctx, now.Add(-rateWindow))
	if err != nil {
		return l, err
	}
	l.Rate = float64(sent) / rateWindow.Seconds()
	l.Limit = d.cfg.Telegram.Limits.GlobalPerSecond
	l.RateChart = barChart{ID: "rate", Title: "الرسائل في الثانية مقابل الحد", Color: colBlue,
		Desc: fmt.Sprintf("%.1f رسالة في الثانية في آخر %d ثوانٍ، والحد %.0f", l.Rate, int(rateWindow.Seconds()), l.Limit),
		Bars: []bar{
			{Label: "المرسَل الآن (في الثانية)", Value: int(l.Rate + 0.5)},
			{Label: "حد تيليجرام (في الثانية)", Value: int(l.Limit)},
		}}
	due := 0
	l.Lanes = barChart{ID: "lanes", Title: "الرسائل المنتظرة حسب المسار", Color: colAmber}
	for _, lane := range laneNames {
		n := f.Due[lane.key]
		due += n
		l.Lanes.Bars = append(l.Lanes.Bars, bar{Label: lane.name, Value: n})
	}
	l.Lanes.Desc = fmt.Sprintf("%s رسالة تنتظر الإرسال", num(due))
	l.Figures = []figure{
		{Label: "تنتظر الإرسال", Value: due},
		{Label: "مؤجلة (ساعات الهدوء، نشرة كل ساعة، إعادة المحاولة)", Value: f.Held},
		{Label: "أُرسلت في الساعة الأخيرة", Value: f.SentLastHour},
		{Label: "أُسقطت لتقادمها", Value: f.Stale},
		{Label: "فشلت نهائيًا", Value: f.Dead},
	}
	if f.Live != nil {
		l.Local = true
		l.Counters = []figure{
			{Label: "ردود 429 من تيليجرام", Value: int(f.Live["rate_limited"])},
			{Label: "توقفات عامة عند حد تيليجرام", Value: int(f.Live["global_pauses"])},
			{Label: "رسائل وصلت أثناء مهلة 429", Value: int(f.Live["retry_after_violations"])},
			{Label: "أُرسل منذ التشغيل", Value: int(f.Live["sent"])},
		}
	}
	scopes, err := d.st.LimiterScopes(ctx, now)
	if err != nil {
		return l, err
	}
	for _, s := range scopes {
		if !s.PausedUntil.After(now) {
			continue
		}
		name := "البوت كله"
		if s.ChatID != 0 {
			name = "المحادثة " + strconv.FormatInt(s.ChatID, 10)
		}
		l.Scopes = append(l.Scopes, scopeRow{Scope: name, Until: s.PausedUntil.In(d.cfg.Site.Location).Format("15:04:05"),
			Left: fmt.Sprintf("%d ث", int(s.PausedUntil.Sub(now).Seconds()+0.5))})
	}
	for _, x := range f.RecentDead {
		l.Dead = append(l.Dead, deadRow{ID: x.ID, ArticleID: x.ArticleID, ChatID: x.ChatID, Kind: string(x.Kind),
			Error: x.LastError, When: d.when(x.CreatedAt)})
	}
	return l, nil
}

// when writes a time as the site does, "20 شباط 2025 15:30".
func (d *Dashboard) when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return arabic.DateTime(t, d.cfg.Site.Location)
}

// noticeText are the results of the controls, shown after the redirect.
var noticeText = map[string]string{
	"released":   "أُطلق المقال للإرسال: سيصل قرّاءه كأي مقال جديد.",
	"dropped":    "أُلغي المقال الموقوف: لن يُرسل، ويبقى محفوظًا.",
	"not-held":   "المقال لم يعد موقوفًا (ربما قرّر فيه مشرف آخر).",
	"cancelled":  "أُلغي ما تبقّى من إرسال المقال.",
	"retracted":  "سُحب المقال: أُلغي ما لم يُرسل، وستُحذف رسائله حيث يسمح تيليجرام.",
	"resumed":    "استُؤنف إرسال النشرة البريدية.",
	"no-service": "هذا التحكم لا يعمل على هذه النسخة.",
}

// action is one of the editors' controls on an article.
type action struct {
	run func(ctx context.Context, id int64) (int, error)
	// done names the notice shown after it; none the one shown when it
	// changed nothing ("" for done's).
	done, none string
}

// heldAction releases or drops one held article: the flood guard's
// controls, the same as the bot's.
func (d *Dashboard) heldAction(w http.ResponseWriter, r *http.Request) {
	g := d.opts.FloodGuard
	if g == nil {
		d.done(w, r, "/dashboard/delivery", "no-service")
		return
	}
	d.act(w, r, map[string]action{
		"release": {run: func(ctx context.Context, id int64) (int, error) { return g.Release(ctx, []int64{id}) }, done: "released", none: "not-held"},
		"drop":    {run: func(ctx context.Context, id int64) (int, error) { return g.Drop(ctx, []int64{id}) }, done: "dropped", none: "not-held"},
	})
}

// articleAction cancels or retracts an article's pushes: the delivery
// engine's controls, the same as the bot's /cancel and /retract.
func (d *Dashboard) articleAction(w http.ResponseWriter, r *http.Request) {
	e := d.opts.Delivery
	if e == nil {
		d.done(w, r, "/dashboard/delivery", "no-service")
		return
	}
	d.act(w, r, map[string]action{
		"cancel":  {run: e.CancelArticle, done: "cancelled"},
		"retract": {run: e.Retract, done: "retracted"},
	})
}

// act runs the action the path names on the article it names, logs who
// did it, and sends the browser back to the delivery page.
func (d *Dashboard) act(w http.ResponseWriter, r *http.Request, actions map[string]action) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	a, ok := actions[r.PathValue("action")]
	if err != nil || id <= 0 || !ok {
		d.notFound(w, r)
		return
	}
	ctx, cancel := d.ctx(r)
	defer cancel()
	n, err := a.run(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		d.notFound(w, r)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	s, _ := sessionOf(r.Context())
	d.log.Info("dashboard: editor's control", "user_id", s.admin, "article_id", id, "action", r.PathValue("action"), "changed", n)
	done := a.done
	if n == 0 && a.none != "" {
		done = a.none
	}
	d.done(w, r, "/dashboard/delivery", done)
}

// done sends the browser back to a page that says what was done.
func (d *Dashboard) done(w http.ResponseWriter, r *http.Request, path, what string) {
	http.Redirect(w, r, path+"?done="+what, http.StatusSeeOther)
}
