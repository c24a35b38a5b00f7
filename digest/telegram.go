package digest

import (
	"bytes"
	"context"
	"errors"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/telegram"
)

// handTelegram hands the Telegram digest to the delivery engine: one
// message per reader, paced at TelegramPerSecond because the engine sends
// them in the reply lane, before the fan-outs: readers' answers must not
// wait behind thousands of digests.
func (s *Service) handTelegram(ctx context.Context) {
	p := outbox.NewPacer(s.cfg.Digest.TelegramPerSecond)
	s.eng.Poll(ctx, func(ctx context.Context) (bool, error) {
		now := s.now()
		rows, err := s.st.ClaimSends(ctx, store.SendTelegram, s.holder, 32, now, now.Add(s.cfg.LeaseDuration.D()))
		if err != nil {
			return false, err
		}
		for _, row := range rows {
			if p.Wait(ctx) != nil {
				return false, nil // still claimed: given back when the term ends
			}
			u := s.handOne(ctx, row)
			if err := s.st.UpdateSends(ctx, s.holder, []store.SendUpdate{u}); err != nil && ctx.Err() == nil {
				s.log.Error("digest: cannot record a Telegram hand-off", "chat_id", row.RecipientID, "err", err)
			}
		}
		return len(rows) > 0, nil
	}, func(ctx context.Context) { s.idle(ctx, store.SendTelegram, s.wakeTelegram) })
}

// handOne queues one reader's digest with the delivery engine.
func (s *Service) handOne(ctx context.Context, row store.Send) store.SendUpdate {
	one := []int64{row.ID}
	log := s.log.With("chat_id", row.RecipientID, "digest_id", row.DigestID)
	if s.now().Sub(row.CreatedAt) > s.cfg.Email.StaleAfter.D() {
		s.m.messages.WithLabelValues("telegram", "stale").Inc()
		return store.SendUpdate{Op: store.SendOpStale, IDs: one}
	}
	text, err := s.telegramText(ctx, row)
	if err == nil && text == "" {
		s.m.messages.WithLabelValues("telegram", "cancelled").Inc()
		return store.SendUpdate{Op: store.SendOpCancel, IDs: one, ErrorKind: "nothing_new", Error: "nothing new in the reader's sections"}
	}
	if err == nil {
		err = s.telegram.EnqueueReply(ctx, telegram.TextMessage(row.RecipientID, text, nil))
	}
	if err != nil {
		at, ok := s.retry.Next(row.Attempts+1, s.now())
		if !ok {
			log.Error("digest: Telegram digest given up", "err", err)
			return store.SendUpdate{Op: store.SendOpDead, IDs: one, ErrorKind: "transient", Error: err.Error()}
		}
		return store.SendUpdate{Op: store.SendOpRetry, IDs: one, ErrorKind: "transient", Error: err.Error(), At: at}
	}
	s.m.messages.WithLabelValues("telegram", "sent").Inc()
	return store.SendUpdate{Op: store.SendOpSent, IDs: one, At: s.now()}
}

// telegramText returns the reader's digest as Telegram HTML, rendered once
// per set of sections (their subscriptions; all when none) and filled with
// the chat's links; "" when nothing new was published in them.
func (s *Service) telegramText(ctx context.Context, row store.Send) (string, error) {
	d, err := s.digestRow(ctx, row.DigestID)
	if err != nil {
		return "", err
	}
	subs, err := s.subs.Subscriptions(ctx, row.RecipientID)
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
		vals[i] = cleanURL(s.links.Post(a, nashra.MediumTelegram, row.RecipientID))
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
