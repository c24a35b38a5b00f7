package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

// figure is one number of a row of figures.
type figure struct {
	Label string
	Value int
	Note  string
}

// dayKey names a local day.
const dayKey = "2006-01-02"

// days are the local days of a chart, oldest first.
type days struct {
	keys   []string
	index  map[string]int
	labels []string
}

// lastDays returns the n local days ending with today.
func lastDays(now time.Time, loc *time.Location, n int) days {
	today := now.In(loc)
	d := days{index: map[string]int{}}
	for i := n - 1; i >= 0; i-- {
		t := today.AddDate(0, 0, -i)
		k := t.Format(dayKey)
		d.index[k] = len(d.keys)
		d.keys = append(d.keys, k)
		d.labels = append(d.labels, fmt.Sprintf("%d/%d", t.Day(), int(t.Month())))
	}
	return d
}

// startOfDay is local midnight of t's day.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// mediumNames are the audience scopes as editors read them, in order.
var mediumNames = []struct{ scope, name string }{
	{"private", "قرّاء تيليجرام (محادثات خاصة)"},
	{"group", "مجموعات تيليجرام"},
	{"channel", "قنوات تيليجرام"},
	{"email", "البريد الإلكتروني"},
}

// clickMedia name the media of tracked links.
var clickMedia = []struct {
	m    nashra.Medium
	name string
}{
	{nashra.MediumTelegram, "تيليجرام"},
	{nashra.MediumChannel, "القنوات والمجموعات"},
	{nashra.MediumEmail, "البريد"},
	{nashra.MediumWeb, "الموقع"},
}

// moves are joins and leaves in one scope over a window.
type moves struct {
	Name            string
	Joins, Leaves   int
	Joins90, Leav90 int
}

type overviewData struct {
	Today    []figure
	Readers  []figure
	Media    barChart
	Sections barChart
	Chart30  columnChart
	Chart90  columnChart
	Moves    []moves
	Sects    []moves
	Clicks   []figure
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := d.ctx(r)
	defer cancel()
	data, err := d.overviewData(ctx)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, http.StatusOK, "overview.html", d.page(r, "نظرة عامة", data))
}

func (d *Dashboard) overviewData(ctx context.Context) (overviewData, error) {
	var o overviewData
	now := d.now()
	loc := d.cfg.Site.Location
	midnight := startOfDay(now, loc)
	// The three counts that read the most, at once: each waits on its own
	// reads, and the store has connections to spare.
	var chats store.ChatCounts
	var emails map[nashra.EmailState]int
	var hours []store.AudienceHour
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { chats, err = d.st.CountChats(gctx); return err })
	g.Go(func() (err error) { emails, err = d.st.CountEmailSubscribers(gctx); return err })
	g.Go(func() (err error) {
		hours, err = d.st.AudienceHours(gctx, startOfDay(now.AddDate(0, 0, -89), loc))
		return err
	})
	if err := g.Wait(); err != nil {
		return o, err
	}
	members, known, err := d.channelMembers(ctx)
	if err != nil {
		return o, err
	}
	channelNote := "لم يُعرف عدد مشتركيها بعد"
	if known > 0 {
		channelNote = fmt.Sprintf("عدد مشتركي %s من %s قناة كما أبلغ تيليجرام", num(members), num(known))
	}
	activeEmail := emails[nashra.EmailActive]
	o.Readers = []figure{
		{Label: "قرّاء تيليجرام النشطون", Value: chats.ActiveReaders},
		{Label: "مجموعات تيليجرام", Value: chats.Groups},
		{Label: "قنوات تيليجرام", Value: chats.Channels, Note: channelNote},
		{Label: "مشتركو البريد النشطون", Value: activeEmail},
	}
	o.Media = barChart{ID: "media", Title: "القرّاء حسب الوسيلة", Color: colBlue,
		Desc: fmt.Sprintf("قرّاء تيليجرام %s، مشتركو القنوات %s، المجموعات %s، البريد %s", num(chats.ActiveReaders),
			num(members), num(chats.Groups), num(activeEmail)),
		Bars: []bar{
			{Label: "تيليجرام (خاص)", Value: chats.ActiveReaders},
			{Label: "مشتركو القنوات", Value: members, Note: fmt.Sprintf("(%s قناة)", num(known))},
			{Label: "المجموعات", Value: chats.Groups},
			{Label: "البريد", Value: activeEmail},
		}}
	var secDesc []string
	o.Sections = barChart{ID: "sections", Title: "متابعو تيليجرام حسب القسم", Color: colAmber}
	for _, s := range d.cfg.Sections {
		o.Sections.Bars = append(o.Sections.Bars, bar{Label: s.Name, Value: chats.BySection[s.Slug]})
		secDesc = append(secDesc, s.Name+" "+num(chats.BySection[s.Slug]))
	}
	o.Sections.Desc = strings.Join(secDesc, "، ")

	// Joins and leaves per local day, over 90 days.
	d90 := lastDays(now, loc, 90)
	joins, leaves := make([]int, 90), make([]int, 90)
	byScope := map[string]*moves{}
	since30 := startOfDay(now.AddDate(0, 0, -29), loc)
	for _, h := range hours {
		at := store.HourStart(h.Hour)
		i, ok := d90.index[at.In(loc).Format(dayKey)]
		if !ok {
			continue
		}
		m := byScope[h.Scope]
		if m == nil {
			m = &moves{}
			byScope[h.Scope] = m
		}
		m.Joins90 += h.Joins
		m.Leav90 += h.Leaves + h.Bounces
		if !at.Before(since30) {
			m.Joins += h.Joins
			m.Leaves += h.Leaves + h.Bounces
		}
		if strings.HasPrefix(h.Scope, "section:") {
			continue
		}
		joins[i] += h.Joins
		leaves[i] += h.Leaves + h.Bounces
	}
	o.Chart90 = movesChart("moves90", "المنضمّون والمغادرون يوميًا — آخر 90 يومًا", d90.labels, joins, leaves)
	o.Chart30 = movesChart("moves30", "المنضمّون والمغادرون يوميًا — آخر 30 يومًا", d90.labels[60:], joins[60:], leaves[60:])
	for _, m := range mediumNames {
		mv := moves{Name: m.name}
		if got := byScope[m.scope]; got != nil {
			mv = *got
			mv.Name = m.name
		}
		o.Moves = append(o.Moves, mv)
	}
	for _, s := range d.cfg.Sections {
		mv := moves{Name: s.Name}
		if got := byScope["section:"+s.Slug]; got != nil {
			mv = *got
			mv.Name = s.Name
		}
		o.Sects = append(o.Sects, mv)
	}

	articles, err := d.st.CountArticlesSince(ctx, midnight)
	if err != nil {
		return o, err
	}
	pushed, err := d.st.DeliveryHours(ctx, midnight)
	if err != nil {
		return o, err
	}
	sent, failed := 0, 0
	for _, states := range pushed {
		sent += states[nashra.DeliverySent]
		failed += states[nashra.DeliveryDead]
	}
	clicks, err := d.st.ClicksByMedium(ctx, now)
	if err != nil {
		return o, err
	}
	uniques := 0
	byMedium := map[nashra.Medium]store.MediumClicks{}
	for _, c := range clicks {
		uniques += c.Uniques
		byMedium[c.Medium] = c
	}
	o.Today = []figure{
		{Label: "مقالات جديدة اليوم", Value: articles},
		{Label: "رسائل أُرسلت اليوم", Value: sent},
		{Label: "رسائل فشلت اليوم", Value: failed},
		{Label: "نقرات فريدة اليوم", Value: uniques, Note: "منذ منتصف الليل بالتوقيت العالمي"},
	}
	for _, m := range clickMedia {
		c := byMedium[m.m]
		o.Clicks = append(o.Clicks, figure{Label: m.name, Value: c.Uniques, Note: fmt.Sprintf("من %s نقرة", num(c.Clicks))})
	}
	return o, nil
}

// channelMembers adds up what Telegram said of the linked channels'
// subscribers, and says of how many channels it knows.
func (d *Dashboard) channelMembers(ctx context.Context) (members, known int, err error) {
	links, err := d.st.ChannelLinks(ctx)
	if err != nil {
		return 0, 0, err
	}
	counts, err := d.st.ChannelMembers(ctx)
	if err != nil {
		return 0, 0, err
	}
	seen := map[int64]bool{}
	for _, l := range links {
		if l.ChatID == 0 || seen[l.ChatID] {
			continue
		}
		seen[l.ChatID] = true
		if n, ok := counts[l.ChatID]; ok {
			members += n
			known++
		}
	}
	return members, known, nil
}

func movesChart(id, title string, labels []string, joins, leaves []int) columnChart {
	tj, tl := 0, 0
	for i := range joins {
		tj += joins[i]
		tl += leaves[i]
	}
	return columnChart{ID: id, Title: title, Labels: labels,
		Desc: fmt.Sprintf("انضم %s وغادر %s في الفترة كلها؛ الزمن يجري من اليمين (الأقدم) إلى اليسار (اليوم).", num(tj), num(tl)),
		Series: []series{
			{Name: "انضموا", Color: colJoin, Values: joins},
			{Name: "غادروا", Color: colLeave, Values: leaves, Down: true},
		}}
}
