package digest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/telegram"
)

var _ delivery.Renderer = (*Service)(nil)

// Render makes a chat's Telegram digest as the delivery engine sends it
// (the digest is queued once per chat, as a reply of method
// nashra.MethodDigest): the digest named in params, in the chat's sections,
// with its own links. There is nothing to send when the chat no longer
// asks for the digest, or nothing new was published in its sections.
func (s *Service) Render(ctx context.Context, chatID int64, params map[string]string) (delivery.Reply, bool, error) {
	id, err := strconv.ParseInt(params["digest_id"], 10, 64)
	if err != nil {
		return delivery.Reply{}, false, fmt.Errorf("telegram digest for chat %d: digest_id %q: %w", chatID, params["digest_id"], err)
	}
	c, err := s.st.Chat(ctx, chatID)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && (!c.Active || !c.Settings.Digest):
		s.m.messages.WithLabelValues("cancelled").Inc()
		return delivery.Reply{}, false, nil
	case err != nil:
		return delivery.Reply{}, false, err
	}
	text, err := s.telegramText(ctx, id, chatID)
	if err != nil {
		return delivery.Reply{}, false, err
	}
	if text == "" {
		s.m.messages.WithLabelValues("cancelled").Inc()
		return delivery.Reply{}, false, nil
	}
	s.m.messages.WithLabelValues("rendered").Inc()
	return telegram.TextMessage(chatID, text, nil), true, nil
}

// telegramText returns the reader's digest as Telegram HTML, rendered once
// per set of sections (their subscriptions; all when none) and filled with
// the chat's links; "" when nothing new was published in them.
func (s *Service) telegramText(ctx context.Context, digestID, chatID int64) (string, error) {
	d, err := s.digestRow(ctx, digestID)
	if err != nil {
		return "", err
	}
	subs, err := s.subs.Subscriptions(ctx, chatID)
	if err != nil {
		return "", err
	}
	slugs := s.sections.Among(subs)
	v, err := s.editions.get(editionKey{digest: d.ID, sections: "telegram:" + store.SectionsKey(slugs)}, func() (any, error) {
		picks, err := s.picks(ctx, d, slugs)
		if err != nil || picks.Empty() {
			return (*rendered)(nil), err
		}
		return s.renderTelegram(ctx, d, picks)
	})
	r := v.(*rendered)
	if err != nil || r == nil {
		return "", err
	}
	// A private chat's links are its reader's own; Links.Post tells it
	// from a group's by its id, above 0.
	vals := make([]string, len(r.articles))
	for i, a := range r.articles {
		vals[i] = cleanURL(s.links.Post(a, nashra.MediumTelegram, chatID))
	}
	var b bytes.Buffer
	fill(&b, r.html, vals, true)
	return b.String(), nil
}

// renderTelegram renders the digest as one Telegram message. The
// articles' links are slots, filled for each chat.
func (s *Service) renderTelegram(ctx context.Context, d nashra.Digest, picks nashra.DigestPicks) (*rendered, error) {
	m := telegram.Digest{Subject: d.Subject, LeadLabel: labelOf(picks.MostFollowed), ArchiveURL: s.archiveURL(d.Day)}
	lead, err := s.st.Article(ctx, picks.Lead)
	switch {
	case err == nil && lead.Retracted():
	case err == nil:
		m.Lead = &lead
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	for _, sp := range picks.Sections {
		sec := telegram.DigestSection{Heading: s.sectionName([]string{sp.Section}) + " — " + labelOf(sp.MostFollowed)}
		for _, id := range sp.Articles {
			a, err := s.st.Article(ctx, id)
			if errors.Is(err, store.ErrNotFound) || err == nil && a.Retracted() {
				continue
			}
			if err != nil {
				return nil, err
			}
			sec.Articles = append(sec.Articles, a)
		}
		m.Sections = append(m.Sections, sec)
	}
	ph := newPlaceholders()
	r := &rendered{subject: d.Subject}
	html := telegram.DigestMessage(m, func(a nashra.Article) string {
		r.articles = append(r.articles, a)
		return ph.mark(len(r.articles) - 1)
	})
	if r.html, err = ph.split(html); err != nil {
		return nil, err
	}
	return r, nil
}
