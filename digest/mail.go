package digest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/mail"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/templates"
)

// Paths of the pages the mails link to; the web package serves them.
const (
	signupPath  = "/email"
	archivePath = "/digest/"
)

func (s *Service) archiveURL(day string) string { return s.cfg.BaseURL + archivePath + day }

// actionURL returns the signed link that lets subscriber id do action;
// the zero expires never ends.
func (s *Service) actionURL(action links.Action, id int64, expires time.Time) string {
	return s.cfg.BaseURL + action.Path() + "?t=" + s.tokens.Sign(action, id, expires)
}

// Compose composes the mail of a claimed row as it goes out at now; ok is
// false when there is nothing to send (no new article in the reader's
// sections).
func (s *Service) Compose(ctx context.Context, row nashra.Send, now time.Time) (m mail.Message, ok bool, err error) {
	switch row.Kind {
	case nashra.SendDigest:
		return s.digestMail(ctx, row, now)
	case nashra.SendConfirm, nashra.SendNotice:
		m, err := s.accountMail(row, now)
		return m, err == nil, err
	}
	return mail.Message{}, false, fmt.Errorf("send %d: unknown kind %q", row.ID, row.Kind)
}

// digestMail fills the reader's edition with their links.
func (s *Service) digestMail(ctx context.Context, row nashra.Send, now time.Time) (mail.Message, bool, error) {
	d, err := s.digestRow(ctx, row.DigestID)
	if err != nil {
		return mail.Message{}, false, err
	}
	r, err := s.mailEdition(ctx, d, row.Sections)
	if err != nil || r == nil {
		return mail.Message{}, false, err
	}
	n := len(r.articles)
	vals := make([]string, r.slots())
	for i, a := range r.articles {
		vals[i] = cleanURL(s.links.Email(a, row.RecipientID, now))
	}
	vals[n+slotPreferences] = s.actionURL(links.ActionPreferences, row.RecipientID, time.Time{})
	vals[n+slotUnsubscribe] = s.actionURL(links.ActionUnsubscribe, row.RecipientID, time.Time{})
	vals[n+slotAddress] = row.Address
	var h, t bytes.Buffer
	h.Grow(64 << 10)
	t.Grow(16 << 10)
	fill(&h, r.html, vals, true)
	fill(&t, r.text, vals, false)
	raw, err := s.composer.compose(headers{to: row.Address, subject: r.subject, id: fmt.Sprintf("digest.%d.%d", d.ID, row.ID),
		date: now, unsubscribe: vals[n+slotUnsubscribe]}, t.Bytes(), h.Bytes())
	if err != nil {
		return mail.Message{}, false, err
	}
	return mail.Message{From: s.composer.envelope, To: row.Address, Raw: raw, Name: fmt.Sprintf("%s-digest-%d", d.Day, row.ID)}, true, nil
}

// digestRow returns a digest, read once per process.
func (s *Service) digestRow(ctx context.Context, id int64) (nashra.Digest, error) {
	v, err := s.editions.get(editionKey{digest: id, sections: "row"}, func() (any, error) { return s.st.DigestByID(ctx, id) })
	if err != nil {
		return nashra.Digest{}, err
	}
	return v.(nashra.Digest), nil
}

// mailEdition returns the rendered mail edition of d for a reader's
// sections (nil: all), rendering it the first time the set is met; nil
// when nothing new was published in those sections.
func (s *Service) mailEdition(ctx context.Context, d nashra.Digest, sections []string) (*rendered, error) {
	slugs := s.sections.Among(sections)
	key := store.SectionsKey(slugs)
	v, err := s.editions.get(editionKey{digest: d.ID, sections: "mail:" + key}, func() (any, error) {
		picks, err := s.picks(ctx, d, slugs)
		if err != nil || picks.Empty() {
			return (*rendered)(nil), err
		}
		return s.renderMail(ctx, d, picks)
	})
	if err != nil {
		return nil, err
	}
	return v.(*rendered), nil
}

// picks returns d's articles for a set of sections, ranked the first time
// and kept in the store, so that every message of the set — after a
// restart, on any instance — shows the same.
func (s *Service) picks(ctx context.Context, d nashra.Digest, slugs []string) (nashra.DigestPicks, error) {
	return s.st.DigestEdition(ctx, d.ID, store.SectionsKey(slugs), func() (nashra.DigestPicks, error) {
		sel, err := s.ranker.Digest(ctx, d.WindowEnd, slugs, s.cfg.Digest.PerSection)
		if err != nil {
			return nashra.DigestPicks{}, fmt.Errorf("rank: %w", err)
		}
		return picksOf(sel), nil
	})
}

// accountMail composes a confirmation link or an "already subscribed"
// notice; they are personal, and rendered for each.
func (s *Service) accountMail(row nashra.Send, now time.Time) (mail.Message, error) {
	data := struct {
		Subject, Site, Address, Link, Valid, Preferences string
	}{Site: s.cfg.Site.Name, Address: row.Address}
	name := string(row.Kind)
	if row.Kind == nashra.SendConfirm {
		data.Subject = "أكّد اشتراكك في نشرة " + s.cfg.Site.Name
		data.Link = s.actionURL(links.ActionConfirm, row.RecipientID, now.Add(s.cfg.Email.ConfirmTTL.D()))
		data.Valid = arabic.Count(max(1, int(s.cfg.Email.ConfirmTTL.D()/time.Hour)), hours)
	} else {
		data.Subject = "اشتراكك في نشرة " + s.cfg.Site.Name + " قائم"
		data.Preferences = s.actionURL(links.ActionPreferences, row.RecipientID, time.Time{})
	}
	var h, t bytes.Buffer
	if err := templates.EmailHTML().ExecuteTemplate(&h, name+".html", data); err != nil {
		return mail.Message{}, fmt.Errorf("render %s: %w", name, err)
	}
	if err := templates.EmailText().ExecuteTemplate(&t, name+".txt", data); err != nil {
		return mail.Message{}, fmt.Errorf("render %s: %w", name, err)
	}
	raw, err := s.composer.compose(headers{to: row.Address, subject: data.Subject, id: fmt.Sprintf("%s.%d", name, row.ID), date: now},
		[]byte(rtlLines(t.String())), h.Bytes())
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{From: s.composer.envelope, To: row.Address, Raw: raw, Name: fmt.Sprintf("%s-%d", name, row.ID)}, nil
}

// Digests returns up to limit digests that went out (sent or sending),
// newest first, for the archive.
func (s *Service) Digests(ctx context.Context, limit int) ([]nashra.Digest, error) {
	return s.st.Digests(ctx, limit)
}

// ArchivePage returns the web page of a day's digest (YYYY-MM-DD), the
// "view in browser" target, without the articles retracted since;
// store.ErrNotFound when no digest went out that day.
func (s *Service) ArchivePage(ctx context.Context, day string) ([]byte, error) {
	d, err := s.st.Digest(ctx, day)
	if err != nil {
		return nil, err
	}
	if d.State != nashra.DigestSending && d.State != nashra.DigestSent {
		return nil, store.ErrNotFound
	}
	// Rendered at every request, not kept: an article retracted since
	// must leave the page at once.
	return s.renderWeb(ctx, d)
}

// ErrNothingNew is returned by Preview when the window holds no article.
var ErrNothingNew = errors.New("no new articles in the digest's window")

// Preview is a digest as one reader would get it.
type Preview struct {
	// Day is the digest's local date, YYYY-MM-DD.
	Day     string
	Subject string
	HTML    []byte
	Text    []byte
}

// Preview renders a digest as a reader of sections (all when empty) would
// get it, without queuing anything: the digest of day's local date — its
// window ending at that day's digest time, or now when that is later — or,
// when day is zero, the next digest with what its window holds so far.
// The personal links point at the pages, untokened.
func (s *Service) Preview(ctx context.Context, day time.Time, sections []string) (Preview, error) {
	now := s.now()
	at, until := s.digestAt(day), now
	if day.IsZero() {
		if at = s.digestAt(now); !at.After(now) {
			at = s.digestAt(now.AddDate(0, 0, 1))
		}
	} else {
		d, err := s.st.Digest(ctx, at.Format(dayLayout))
		switch {
		case err == nil && !d.WindowEnd.IsZero():
			until = d.WindowEnd
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return Preview{}, err
		case at.Before(now):
			until = at
		}
	}
	slugs := s.sections.Among(sections)
	sel, err := s.ranker.Digest(ctx, until, slugs, s.cfg.Digest.PerSection)
	if err != nil {
		return Preview{}, fmt.Errorf("preview: rank: %w", err)
	}
	picks := picksOf(sel)
	if picks.Empty() {
		return Preview{}, ErrNothingNew
	}
	pd := nashra.Digest{Day: at.Format(dayLayout), Subject: s.subject(at), WindowStart: sel.Since, WindowEnd: sel.Until}
	r, err := s.renderMail(ctx, pd, picks)
	if err != nil {
		return Preview{}, err
	}
	n := len(r.articles)
	vals := make([]string, r.slots())
	for i, a := range r.articles {
		vals[i] = cleanURL(s.links.Article(a, nashra.MediumWeb))
	}
	vals[n+slotPreferences] = s.cfg.BaseURL + links.ActionPreferences.Path()
	vals[n+slotUnsubscribe] = s.cfg.BaseURL + links.ActionUnsubscribe.Path()
	vals[n+slotAddress] = "name@example.com"
	var h, t bytes.Buffer
	fill(&h, r.html, vals, true)
	fill(&t, r.text, vals, false)
	return Preview{Day: pd.Day, Subject: r.subject, HTML: h.Bytes(), Text: t.Bytes()}, nil
}
