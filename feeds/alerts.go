package feeds

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
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
	AlertRecovered   = "feed_recovered"
)

// sectionName is the Arabic name of a feed's section, as editors know it.
func (p *Poller) sectionName(f nashra.Feed) string {
	if n := p.names[f.SectionSlug]; n != "" {
		return n
	}
	return f.SectionSlug
}

// whatFailed says in Arabic why a feed's poll failed, from the error the
// poll stored; the technical text stays in /feeds and the log.
func whatFailed(lastError string) string {
	e := strings.ToLower(lastError)
	switch {
	case strings.Contains(e, "not a feed"), strings.Contains(e, "parse"), strings.Contains(e, "decode"), strings.Contains(e, "xml"):
		return "ما يجيب به الموقع ليس خلاصة تُقرأ"
	case strings.Contains(e, "http 5"):
		return "الموقع يجيب بخطأ في خادمه (" + strings.TrimSpace(e[strings.Index(e, "http ")+5:][:3]) + ")"
	case strings.Contains(e, "http 4"):
		return "الموقع لا يقدّم الخلاصة على عنوانها (" + strings.TrimSpace(e[strings.Index(e, "http ")+5:][:3]) + ")"
	case strings.Contains(e, "timeout"), strings.Contains(e, "deadline"):
		return "الموقع لا يجيب في المهلة"
	case strings.Contains(e, "no such host"), strings.Contains(e, "refused"), strings.Contains(e, "reset"), strings.Contains(e, "eof"):
		return "تعذّر الاتصال بالموقع"
	case strings.Contains(e, "too large"):
		return "الخلاصة أكبر من الحد المسموح"
	case strings.Contains(e, "store"):
		return "قاعدة البيانات رفضت بعض المواد"
	}
	return "خطأ تقني"
}

// checkHealth raises the stale and failing alerts of a feed polled at now;
// before and after are its state around the poll, reason the step a failed
// poll failed at. Each alert is raised once, when its threshold is crossed
// between two polls, judged from the stored state, so that neither every
// later poll nor a restart raises it again. A healthy feed that stops
// parsing is reported at once: the site broke it, and waiting loses news.
// The stale gauge is kept here too.
func (p *Poller) checkHealth(ctx context.Context, before, after nashra.Feed, reason string, now time.Time, log *slog.Logger) {
	p.mu.Lock()
	firstFailure := p.failingSince[after.ID]
	if after.ErrorCount == 0 {
		delete(p.failingSince, after.ID)
	} else if _, ok := p.failingSince[after.ID]; !ok {
		p.failingSince[after.ID] = now
	}
	failingSince := p.failingSince[after.ID]
	p.mu.Unlock()

	if after.ErrorCount > 0 && before.ErrorCount == 0 && !before.LastSuccessAt.IsZero() && reason == "parse" {
		msg := fmt.Sprintf("⚠️ خلاصة قسم «%s» كانت سليمة وصارت لا تُقرأ، فلا يصل منها جديد: %s. التفاصيل في /feeds.",
			p.sectionName(after), whatFailed(after.LastError))
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
			msg := fmt.Sprintf("⚠️ لا يصل جديد قسم «%s» منذ %s: %s. التفاصيل في /feeds، وسأخبرك حين يعود.",
				p.sectionName(after), arabicDuration(now.Sub(start)), whatFailed(after.LastError))
			p.raise(ctx, AlertFailing, after, msg, now, log)
		}
		return
	}

	// Back after failing long enough to have been reported.
	down := before.LastSuccessAt
	if down.IsZero() {
		down = firstFailure
	}
	if before.ErrorCount > 0 && !down.IsZero() && before.CheckedAt.Sub(down) >= p.cfg.FailingAlertAfter.D() {
		msg := fmt.Sprintf("✅ عاد قسم «%s» يصل جديده بعد انقطاع دام %s.", p.sectionName(after), arabicDuration(now.Sub(down)))
		p.raise(ctx, AlertRecovered, after, msg, now, log)
	}

	if refusing(after) && !refusing(before) {
		msg := fmt.Sprintf("⚠️ خلاصة قسم «%s» تعمل، لكن قاعدة البيانات رفضت بعض موادها فلم تُحفظ، وستُعاد محاولة حفظها في كل جلب. التفاصيل في /feeds.",
			p.sectionName(after))
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
		msg := fmt.Sprintf("خلاصة قسم «%s» تجيب، لكن لا جديد فيها منذ %s. تحقق من النشر على الموقع، أو من /feeds.",
			p.sectionName(after), arabicDuration(now.Sub(quiet)))
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
	msg := fmt.Sprintf("⚠️ في خلاصة قسم «%s» %s تعذّرت قراءة حروفها، فحُجزت عن القرّاء ويُعاد فحصها مع كل جلب حتى يصلحها الموقع. أولها: %s",
		p.sectionName(f), arabic.Count(len(fresh), arabic.Item), fresh[0].Link)
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
func (p *Poller) floodMessage(f nashra.Feed, n int, fg config.FloodGuard) string {
	var did string
	switch fg.Action {
	case config.FloodLatest:
		did = fmt.Sprintf("فأُرسل أحدثها (%s) وعُدّ الباقي مقروءًا.", arabic.Count(min(fg.Latest, n), arabic.Item))
	case config.FloodPush:
		did = "فأُرسلت كلها كالمعتاد."
	default:
		did = "فأوقفتُها كلها عن الإرسال حتى تقرر: راجعها في /held، وأطلق ما يستحق بـ /release."
	}
	return fmt.Sprintf("🛑 وصلت من قسم «%s» دفعة واحدة من %s كلها جديد، وهذا يوحي بخلل في الموقع لا بأخبار، %s",
		p.sectionName(f), arabic.Count(n, arabic.Item), did)
}

// Counted units of time, in the genitive that follows "منذ".
var (
	minutes = arabic.Noun{Zero: "أي دقيقة", One: "دقيقة واحدة", Two: "دقيقتين", Few: "{n} دقائق", Many: "{n} دقيقة", Other: "{n} دقيقة"}
	hours   = arabic.Noun{Zero: "أي ساعة", One: "ساعة واحدة", Two: "ساعتين", Few: "{n} ساعات", Many: "{n} ساعة", Other: "{n} ساعة"}
	days    = arabic.Noun{Zero: "أي يوم", One: "يوم واحد", Two: "يومين", Few: "{n} أيام", Many: "{n} يومًا", Other: "{n} يوم"}
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
