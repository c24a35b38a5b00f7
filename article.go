package nashra

import "time"

// ArticleState says where an article stands on its way to readers.
type ArticleState string

// The states of an article.
const (
	// ArticleSeen: found by a feed's first poll, or otherwise known before it
	// could be news; never pushed.
	ArticleSeen ArticleState = "seen"
	// ArticleNew: first seen after the baseline; waits to be handed on.
	ArticleNew ArticleState = "new"
	// ArticleHeld: stopped by the flood guard until an admin decides.
	ArticleHeld ArticleState = "held"
	// ArticleExcluded: carries a category that is never pushed.
	ArticleExcluded ArticleState = "excluded"
	// ArticleHanded: the delivery engine has taken it.
	ArticleHanded ArticleState = "handed"
)

// Article is one piece of the site, possibly in several sections.
type Article struct {
	ID      int64
	GUID    string
	Link    string // canonical: tracking parameters removed
	Title   string
	Summary string // plain text
	Content string // sanitized HTML
	// ImageURL is the lead image at full size, empty when there is none.
	ImageURL    string
	Author      string
	Categories  []string
	PublishedAt time.Time
	UpdatedAt   time.Time
	FirstSeenAt time.Time
	// Revision counts changes of title or summary after first sight;
	// RevisedAt is when the last one was seen.
	Revision  int
	RevisedAt time.Time
	State     ArticleState
	Sections  []string
	// RetractedAt is when an editor retracted it, zero when not: a
	// retracted article is in no list, ranking, digest or archive, and
	// its tracked link shows a notice instead of the site.
	RetractedAt time.Time
}

// Retracted reports whether an editor retracted the article.
func (a Article) Retracted() bool { return !a.RetractedAt.IsZero() }

// NewsTime is when the article became news: its publication time as the
// site gives it, else when nashra first saw it. Lists order by it.
func (a Article) NewsTime() time.Time {
	if a.PublishedAt.IsZero() {
		return a.FirstSeenAt
	}
	return a.PublishedAt
}
