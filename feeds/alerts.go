package feeds

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/config"
)

// Alert kinds the poller raises.
const (
	AlertFloodGuard  = "flood_guard"
	AlertFailing     = "feed_failing"
	AlertStale       = "feed_stale"
	AlertRefused     = "feed_items_refused"
	AlertUnparsable  = "feed_unparsable"
	AlertUndecodable = "feed_undecodable"
)

// checkHealth raises the stale and failing alerts of a feed polled at now;
// before and after are its state around the poll, reason the step a failed
// poll failed at. Each alert is raised once, when its threshold is crossed
// between two polls, judged from the stored state, so that neither every
// later poll nor a restart raises it again. A healthy feed that stops
// parsing is reported at once: the site broke it, and waiting loses news.
// The stale gauge is kept here too.
func (p *Poller) checkHealth(ctx context.Context, before, after nashra.Feed, reason string, now time.Time, log *slog.Logger) {
	p.mu.Lock()
	if after.ErrorCount == 0 {
		delete(p.failingSince, after.ID)
	} else if _, ok := p.failingSince[after.ID]; !ok {
		p.failingSince[after.ID] = now
	}
	failingSince := p.failingSince[after.ID]
	p.mu.Unlock()

	if after.ErrorCount > 0 && before.ErrorCount == 0 && !before.LastSuccessAt.IsZero() && reason == "parse" {
		msg := fmt.Sprintf("خلاصة قسم «%s» (%s) كانت سليمة وصارت لا تُقرأ، فلا يُخزَّن منها شيء: %s",
			after.SectionSlug, after.URL, after.LastError)
		p.raise(ctx, AlertUnparsable, after, msg, now, log)
	}
	if after.ErrorCount > 0 {
		// Failing since the last success; a feed that never succeeded has
		// only this process's memory of its first failure.
		start := after.LastSuccessAt
		if start.IsZero() {
			start = failingSince
		}
		if crossed(start, before.CheckedAt, now, p.cfg.FailingAlertAfter.D()) {
			msg := fmt.Sprintf("خلاصة قسم «%s» (%s) تفشل منذ %s: %s",
				after.SectionSlug, after.URL, arabicDuration(now.Sub(start)), after.LastError)
			p.raise(ctx, AlertFailing, after, msg, now, log)
		}
		return
	}

	if refusing(after) && !refusing(before) {
		msg := fmt.Sprintf("خلاصة قسم «%s» (%s) تعمل، لكن قاعدة البيانات رفضت بعض موادها فلم تُحفظ، وستُعاد محاولة حفظها في كل جلب: %s",
			after.SectionSlug, after.URL, after.LastError)
		p.raise(ctx, AlertRefused, after, msg, now, log)
	}

	// Quiet since the last new article, or since the baseline.
	quiet := after.LastNewAt
	if after.BaselinedAt.After(quiet) {
		quiet = after.BaselinedAt
	}
	stale := !quiet.IsZero() && now.Sub(quiet) >= p.cfg.StaleAfter.D()
	p.mu.Lock()
	if stale {
		p.stale[after.ID] = true
	} else {
		delete(p.stale, after.ID)
	}
	p.metrics.stale.Set(float64(len(p.stale)))
	p.mu.Unlock()
	if stale && crossed(quiet, before.LastSuccessAt, now, p.cfg.StaleAfter.D()) {
		msg := fmt.Sprintf("خلاصة قسم «%s» (%s) تجيب ولكن بلا جديد منذ %s.",
			after.SectionSlug, after.URL, arabicDuration(now.Sub(quiet)))
		p.raise(ctx, AlertStale, after, msg, now, log)
	}
}

// refusing reports whether the last poll of f succeeded with items the
// store refused.
func refusing(f nashra.Feed) bool { return f.ErrorCount == 0 && f.LastError != "" }

// holdUndecodable tells the admins about the items of feed f held back
// because their text could not be decoded, each once: they stay out of the
// store and are looked at again at every poll, until the site mends them.
func (p *Poller) holdUndecodable(ctx context.Context, f nashra.Feed, held []nashra.Article, now time.Time, log *slog.Logger) {
	p.mu.Lock()
	told := p.undecodable[f.ID]
	next := make(map[string]bool, len(held))
	var fresh []nashra.Article
	for _, a := range held {
		next[a.GUID] = true
		if !told[a.GUID] {
			fresh = append(fresh, a)
		}
	}
	if len(next) == 0 {
		delete(p.undecodable, f.ID)
	} else {
		p.undecodable[f.ID] = next
	}
	p.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	log.Warn("items held back: text not decodable", "items", len(fresh), "first", fresh[0].Link)
	msg := fmt.Sprintf("خلاصة قسم «%s» (%s): حُجز عن القرّاء ما تعذّر فكّ ترميز نصّه (%s)، ويُعاد فحصه مع كل جلب حتى يصلحه الموقع. أوله: %s",
		f.SectionSlug, f.URL, arabic.Count(len(fresh), arabic.Article), fresh[0].Link)
	p.raise(ctx, AlertUndecodable, f, msg, now, log)
}

// crossed reports whether a condition that started at start and lasted
// until now reached limit after prev, the time of the previous look.
func crossed(start, prev, now time.Time, limit time.Duration) bool {
	return now.Sub(start) >= limit && (prev.IsZero() || prev.Sub(start) < limit)
}

// raise records an alert about feed f for the admins.
func (p *Poller) raise(ctx context.Context, kind string, f nashra.Feed, msg string, now time.Time, log *slog.Logger) {
	log.Warn("feed alert", "kind", kind, "message", msg)
	if _, err := p.store.RaiseAlert(ctx, nashra.Alert{Kind: kind, Subject: f.URL, Message: msg, CreatedAt: now}); err != nil {
		log.Error("raise alert", "kind", kind, "err", err)
	}
}

// floodMessage tells the admins what the flood guard did with n items.
func floodMessage(f nashra.Feed, n int, fg config.FloodGuard) string {
	var did string
	switch fg.Action {
	case config.FloodLatest:
		did = fmt.Sprintf("أُرسل أحدث %d منها وعُدّ الباقي مقروءًا.", min(fg.Latest, n))
	case config.FloodPush:
		did = "أُرسلت كلها كالمعتاد."
	default:
		did = "حُجزت كلها بانتظار قرار المشرف."
	}
	return fmt.Sprintf("حارس الإغراق: خلاصة قسم «%s» (%s) أتت دفعةً واحدة بـ%s كلها جديدة؛ %s",
		f.SectionSlug, f.URL, arabic.Count(n, arabic.Article), did)
}

// Counted units of time, in the genitive that follows "منذ".
var (
	minutes = arabic.Noun{One: "دقيقة واحدة", Two: "دقيقتين", Plural: "دقائق", Many: "دقيقة", Single: "دقيقة"}
	hours   = arabic.Noun{One: "ساعة واحدة", Two: "ساعتين", Plural: "ساعات", Many: "ساعة", Single: "ساعة"}
	days    = arabic.Noun{One: "يوم واحد", Two: "يومين", Plural: "أيام", Many: "يومًا", Single: "يوم"}
)

// arabicDuration says d in the largest whole unit: "3 ساعات", "يومين".
func arabicDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return arabic.Count(int(d/(24*time.Hour)), days)
	case d >= time.Hour:
		return arabic.Count(int(d/time.Hour), hours)
	default:
		return arabic.Count(max(1, int(d/time.Minute)), minutes)
	}
}
