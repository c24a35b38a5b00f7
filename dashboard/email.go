package dashboard

import (
	"fmt"
	"net/http"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

// digestsShown is how many digests the email page lists and charts.
const digestsShown = 30

var digestStateNames = map[nashra.DigestState]string{
	nashra.DigestSending: "يُرسل",
	nashra.DigestSent:    "أُرسل",
	nashra.DigestEmpty:   "لا جديد",
	nashra.DigestMissed:  "فات موعده",
}

type digestRow struct {
	Day, State, Subject                           string
	Queued, Sent, Bounced, Dead, Stale, Cancelled int
}

type emailData struct {
	States    []figure
	Chart     columnChart
	Sends     columnChart
	Digests   []digestRow
	Available bool
	Paused    bool
	PausedAt  string
}

func (d *Dashboard) email(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := d.ctx(r)
	defer cancel()
	now := d.now()
	loc := d.cfg.Site.Location
	var data emailData
	states, err := d.st.CountEmailSubscribers(ctx)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.States = []figure{
		{Label: "ينتظرون التأكيد", Value: states[nashra.EmailPending]},
		{Label: "نشطون", Value: states[nashra.EmailActive]},
		{Label: "أوقفوا النشرة مؤقتًا", Value: states[nashra.EmailPaused]},
		{Label: "ألغوا الاشتراك", Value: states[nashra.EmailUnsubscribed]},
		{Label: "ارتدّ بريدهم", Value: states[nashra.EmailBounced]},
	}
	days := lastDays(now, loc, 90)
	hours, err := d.st.AudienceHours(ctx, startOfDay(now.AddDate(0, 0, -89), loc))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	joins, leaves, bounces := make([]int, 90), make([]int, 90), make([]int, 90)
	for _, h := range hours {
		if h.Scope != "email" {
			continue
		}
		if i, ok := days.index[store.HourStart(h.Hour).In(loc).Format(dayKey)]; ok {
			joins[i] += h.Joins
			leaves[i] += h.Leaves
			bounces[i] += h.Bounces
		}
	}
	tj, tl, tb := sum(joins), sum(leaves), sum(bounces)
	data.Chart = columnChart{ID: "email-days", Title: "مشتركو البريد يوميًا — آخر 90 يومًا", Labels: days.labels,
		Desc: fmt.Sprintf("أكّد %s اشتراكهم، وألغى %s، وارتدّ بريد %s؛ الزمن يجري من اليمين إلى اليسار.", num(tj), num(tl), num(tb)),
		Series: []series{
			{Name: "أكّدوا", Color: colJoin, Values: joins},
			{Name: "ألغوا", Color: colLeave, Values: leaves, Down: true},
			{Name: "ارتدّ بريدهم", Color: colGrey, Values: bounces, Down: true},
		}}
	digests, err := d.st.Digests(ctx, digestsShown)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	ids := make([]int64, len(digests))
	for i, g := range digests {
		ids[i] = g.ID
	}
	sends, err := d.st.DigestSends(ctx, nashra.SendEmail, ids)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	// The chart runs from the oldest digest on the right.
	n := len(digests)
	sent, bounced := make([]int, n), make([]int, n)
	labels := make([]string, n)
	for i, g := range digests {
		s := sends[g.ID]
		data.Digests = append(data.Digests, digestRow{Day: g.Day, State: digestStateNames[g.State], Subject: g.Subject,
			Queued: g.Emails, Sent: s[nashra.DeliverySent], Bounced: s[nashra.DeliveryBounced], Dead: s[nashra.DeliveryDead],
			Stale: s[nashra.DeliveryStale], Cancelled: s[nashra.DeliveryCancelled]})
		j := n - 1 - i
		sent[j], bounced[j], labels[j] = s[nashra.DeliverySent], s[nashra.DeliveryBounced], g.Day[5:]
	}
	data.Sends = columnChart{ID: "digest-sends", Title: "رسائل كل نشرة: ما أُرسل وما ارتدّ", Labels: labels,
		Desc: fmt.Sprintf("آخر %s نشرة: أُرسلت %s رسالة وارتدّت %s.", num(n), num(sum(sent)), num(sum(bounced))),
		Series: []series{
			{Name: "أُرسلت", Color: colBlue, Values: sent},
			{Name: "ارتدّت", Color: colLeave, Values: bounced, Down: true},
		}}
	if d.opts.Email != nil {
		paused, at, err := d.opts.Email.Paused(ctx)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		data.Available, data.Paused = true, paused
		if paused {
			data.PausedAt = d.when(at)
		}
	}
	d.render(w, http.StatusOK, "email.html", d.page(r, "البريد", data))
}

// emailResume lifts the circuit breaker's pause, as `nashra digest
// resume` does.
func (d *Dashboard) emailResume(w http.ResponseWriter, r *http.Request) {
	if d.opts.Email == nil {
		d.done(w, r, "/dashboard/email", "no-service")
		return
	}
	ctx, cancel := d.ctx(r)
	defer cancel()
	if err := d.opts.Email.Resume(ctx); err != nil {
		d.fail(w, r, err)
		return
	}
	s, _ := sessionOf(r.Context())
	d.log.Info("dashboard: email send resumed", "user_id", s.admin)
	d.done(w, r, "/dashboard/email", "resumed")
}

func sum(vs []int) int {
	n := 0
	for _, v := range vs {
		n += v
	}
	return n
}
