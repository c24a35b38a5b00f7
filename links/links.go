// Package links makes the links nashra sends and reads back: tracked
// article links through /r/<token>, whose signed tokens say which article
// was shown where and to whom, and the signed action links mailed to email
// subscribers (confirm, preferences, unsubscribe). Tokens are signed with
// keys derived from nashra's one secret.
package links

import (
	"strings"
	"time"

	"github.com/almaalouma/nashra"
)

// Builder builds the links nashra sends: tracked through /r/<token> on the
// public base URL, or the article's own link when tracking is off.
type Builder struct {
	base    string
	signer  *Signer
	enabled bool
}

// NewBuilder returns a link builder for the public base URL (NASHRA_BASE_URL).
// With enabled false every link goes straight to the site; tokens already
// sent keep redirecting all the same.
func NewBuilder(base string, signer *Signer, enabled bool) *Builder {
	return &Builder{base: strings.TrimRight(base, "/"), signer: signer, enabled: enabled}
}

// Article returns the link to a shown in medium to whoever reads there. An
// unknown medium gets the article's own link rather than a count under the
// wrong name.
func (l *Builder) Article(a nashra.Article, medium nashra.Medium) string {
	if code(medium) == 0 {
		return a.Link
	}
	return l.Tracked(a, Link{ArticleID: a.ID, Medium: medium})
}

// Post returns the link to a in a Telegram message in medium (telegram or
// channel): personal when chat is a private chat's id (above 0, as
// Telegram numbers users), so that its reader's clicks count once. It is
// the bot's LinkFunc.
func (l *Builder) Post(a nashra.Article, medium nashra.Medium, chat int64) string {
	if chat <= 0 || medium != nashra.MediumTelegram {
		return l.Article(a, medium)
	}
	return l.Tracked(a, Link{ArticleID: a.ID, Medium: nashra.MediumTelegram, ChatID: chat})
}

// Email returns the link to a in the email sent at sentAt to subscriber
// subscriberID (0 when the message is not personal).
func (l *Builder) Email(a nashra.Article, subscriberID int64, sentAt time.Time) string {
	return l.Tracked(a, Link{ArticleID: a.ID, Medium: nashra.MediumEmail, SubscriberID: subscriberID, SentAt: sentAt})
}

// Tracked returns the tracked link for link, which must name a; a.Link when
// tracking is off or a was never stored.
func (l *Builder) Tracked(a nashra.Article, link Link) string {
	if !l.enabled || a.ID <= 0 {
		return a.Link
	}
	return l.base + "/r/" + l.signer.Sign(link)
}
