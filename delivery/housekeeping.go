package delivery

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

// replyBatch bounds one claim of replies, edits or deletes.
const replyBatch = 256

// idle waits, between claims that found less than a full batch, for new
// work: a reply, the scheduler running low, or a tick.
func (s *session) idle(ctx context.Context) {
	t := time.NewTimer(250 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s.e.replyWake:
	case <-s.needRows:
	case <-t.C:
	}
}

// claim claims one round — replies, edits, deletes, breaking news,
// channels and groups as soon as they are due; readers' rows when the
// scheduler's queue runs low, so that memory holds a couple of seconds of
// work and nothing urgent ever waits behind a long push — and hands it to
// the scheduler. more says a limit was reached.
func (s *session) claim(ctx context.Context) (more bool, err error) {
	b, more, err := s.claimOnce(ctx)
	if b.size() > 0 {
		s.queued.Add(int64(b.newsSize()))
		select {
		case s.intake <- b:
		case <-ctx.Done():
			// Still claimed: given back when the term ends.
		}
	}
	return more, err
}

// claimOnce claims one round; what it claimed before an error is still
// returned, to be sent.
func (s *session) claimOnce(ctx context.Context) (b claimBatch, more bool, err error) {
	now := s.e.now()
	lease := now.Add(s.e.lease.TTL())
	st, holder := s.e.st, s.e.lease.Holder()
	if b.replies, err = st.ClaimReplies(ctx, holder, nashra.ReplyLane, replyBatch, now, lease); err != nil {
		return b, false, err
	}
	more = len(b.replies) == replyBatch
	if b.work, err = st.ClaimDeliveryTodo(ctx, holder, replyBatch, now, lease); err != nil {
		return b, false, err
	}
	more = more || len(b.work) == replyBatch
	if s.paused.Load() {
		return b, more, nil
	}
	// However long the readers' queue in memory, the other lanes are
	// claimed as they come.
	if b.rows, err = st.ClaimDeliveries(ctx, holder, nashra.LaneGroups, s.batch, lease); err != nil {
		return b, false, err
	}
	more = more || len(b.rows) >= s.batch
	if s.queued.Load() >= int64(s.batch) || more {
		return b, more, nil
	}
	readers, err := st.ClaimDeliveries(ctx, holder, nashra.LanePrivate, s.batch, lease)
	b.rows = append(b.rows, readers...)
	if err != nil {
		return b, false, err
	}
	if len(readers) >= s.batch {
		return b, true, nil
	}
	// Broadcasts only once the fan-outs are drained.
	broadcasts, err := st.ClaimReplies(ctx, holder, nashra.BroadcastLane, replyBatch, now, lease)
	if err != nil {
		return b, false, err
	}
	b.replies = append(b.replies, broadcasts...)
	return b, more || len(broadcasts) == replyBatch, nil
}

// Periods of the housekeeper's chores.
const (
	correctionsEvery = 30 * time.Second
	gaugesEvery      = 5 * time.Second
	compactEvery     = 10 * time.Minute
	compactChunk     = 5000
)

// housekeep is the housekeeper goroutine: every tick it makes held rows
// due and hands new articles on; less often — or when Notify says articles changed — it
// queues corrections; less often still it refreshes the gauges and
// compacts the outbox. The engine renews the claims with the lease.
func (s *session) housekeep() {
	cfg := s.e.cfg
	tick := time.NewTicker(min(time.Second, cfg.HandOnInterval.D()))
	defer tick.Stop()
	start := s.e.now()
	var corrected, gauged, compacted time.Time
	correctedSince := start.Add(-cfg.CorrectionWindow.D())
	compacted = start.Add(-compactEvery + time.Minute) // first compaction a minute after start
	notified := false
	for {
		now := s.e.now()
		if n, err := s.e.st.ReleaseHeldDeliveries(s.ctx, now); err != nil {
			s.e.log.Error("cannot release held deliveries", "err", err)
		} else if n > 0 {
			wake(s.needRows)
		}
		s.handOn(now)
		s.expand()
		if cfg.CorrectionWindow > 0 && (notified || now.Sub(corrected) >= correctionsEvery) {
			corrected = now
			// Looking back a minute covers articles revised while their old
			// text sat in the article cache.
			if s.correct(now, correctedSince.Add(-time.Minute)) {
				correctedSince = now
			}
		}
		if now.Sub(gauged) >= gaugesEvery {
			gauged = now
			s.gauge(now)
		}
		if now.Sub(compacted) >= compactEvery {
			compacted = now
			s.compact(now)
		}
		notified = false
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		case <-s.e.articleWake:
			notified = true
		}
	}
}

// renewed takes in the dispatcher's lease as renewed: how long it lasts,
// and whether the editors paused the pushes.
func (s *session) renewed(d store.Lease) {
	s.leaseEnd.Store(d.Until.UnixNano())
	if s.paused.Swap(d.Paused) != d.Paused {
		s.e.m.queue.SetPaused(d.Paused)
		s.e.log.Warn("pushes paused or resumed", "paused", d.Paused)
		if d.Paused {
			s.releasePushes()
		} else {
			wake(s.needRows)
		}
	}
}

// handOn fans out the articles waiting in state new, oldest first, but
// breaking news before the rest: its rows must exist before the others'
// are claimed, or a burst would reach readers ahead of it.
func (s *session) handOn(now time.Time) {
	const page = 50
	for s.ctx.Err() == nil {
		as, err := s.e.st.ArticlesInState(s.ctx, nashra.ArticleNew, page)
		if err != nil {
			s.e.log.Error("cannot read new articles", "err", err)
			return
		}
		slices.SortStableFunc(as, func(a, b nashra.Article) int {
			return cmp.Compare(b2i(carries(b, s.e.breaking)), b2i(carries(a, s.e.breaking)))
		})
		for _, a := range as {
			s.handOnArticle(a, now)
		}
		if len(as) < page {
			return
		}
	}
}

func (s *session) handOnArticle(a nashra.Article, now time.Time) {
	log := s.e.log.With("article_id", a.ID)
	if carries(a, s.e.never) {
		if _, err := s.e.st.SetArticleState(s.ctx, []int64{a.ID}, nashra.ArticleNew, nashra.ArticleExcluded); err != nil {
			log.Error("cannot exclude an article", "err", err)
		}
		log.Info("article never pushed: excluded category", "categories", a.Categories)
		return
	}
	f := store.FanOut{ArticleID: a.ID, Breaking: carries(a, s.e.breaking), State: nashra.DeliveryPending, Now: now}
	if now.Sub(a.FirstSeenAt) > s.e.cfg.StaleAfter.D() {
		f.State = nashra.DeliveryStale
	}
	start := time.Now()
	if s.e.followers != nil {
		f.Follows, f.Muted = s.e.followers.Followers(a)
	}
	res, err := s.e.st.HandOn(s.ctx, f)
	if err != nil {
		log.Error("cannot hand an article on", "err", err)
		return
	}
	if !res.Handed {
		return
	}
	s.e.m.fanOut.Add(float64(res.Channels + res.Chats + res.Followed))
	if f.State == nashra.DeliveryStale {
		s.e.m.stale.Add(float64(res.Channels + res.Chats + res.Followed))
	}
	log.Info("article handed on", "breaking", f.Breaking, "state", f.State, "channels", res.Channels, "chats", res.Chats,
		"followed", res.Followed, "deferred", res.Deferred, "muted", res.Muted, "took", time.Since(start).Round(time.Millisecond))
	if len(res.Unresolved) > 0 {
		log.Warn("channels without a known id got nothing; the bot resolves them", "channels", res.Unresolved)
	}
	wake(s.needRows)
}

// expand writes the rows of the fan-outs stored as lists, one list per
// transaction so that the claims and the replies get the store's writer in
// between, and wakes the claimer after each.
func (s *session) expand() {
	for s.ctx.Err() == nil {
		e, ok, err := s.e.st.ExpandFanOut(s.ctx)
		if err != nil {
			s.e.log.Error("cannot expand a fan-out", "err", err)
			return
		}
		if !ok {
			return
		}
		s.e.m.fanOut.Add(float64(e.Rows))
		if e.State == nashra.DeliveryStale {
			s.e.m.stale.Add(float64(e.Rows))
		}
		wake(s.needRows)
	}
}

// correct queues the edits of posts whose article changed; it reports
// whether the store answered.
func (s *session) correct(now, revisedSince time.Time) bool {
	kinds := []nashra.ChatKind{nashra.ChatChannel, nashra.ChatGroup, nashra.ChatSupergroup}
	if s.e.cfg.EditReaders {
		kinds = append(kinds, nashra.ChatPrivate)
	}
	n, err := s.e.st.MarkCorrections(s.ctx, revisedSince, now.Add(-s.e.cfg.CorrectionWindow.D()), kinds)
	if err != nil {
		s.e.log.Error("cannot queue corrections", "err", err)
		return false
	}
	if n > 0 {
		s.e.log.Info("corrections queued", "messages", n)
		wake(s.e.replyWake)
	}
	return true
}

func (s *session) gauge(now time.Time) {
	c, err := s.e.st.CountOutbox(s.ctx, now.Add(-time.Hour))
	if err != nil {
		s.e.log.Error("cannot count the outbox", "err", err)
		return
	}
	m := s.e.m
	for p, name := range laneNames {
		var n int
		switch p {
		case prioReply:
			n = c.Replies
		case prioWork:
			n = c.Work
		case prioBroadcast:
			n = c.Broadcasts
		default:
			n = c.Due[nashra.Lane(p-1)]
		}
		m.depth.WithLabelValues(name).Set(float64(n))
	}
	m.held.Set(float64(c.Held))
	m.staleRows.Set(float64(c.Stale))
	m.deadRows.Set(float64(c.Dead))
}

// compact deletes finished rows past retention, a chunk at a time so that
// sends are never kept waiting for the writer long.
func (s *session) compact(now time.Time) {
	total := 0
	for s.ctx.Err() == nil {
		n, err := s.e.st.CompactOutbox(s.ctx, now.Add(-s.e.cfg.Retention.D()), compactChunk)
		if err != nil {
			s.e.log.Error("cannot compact the outbox", "err", err)
			return
		}
		total += n
		if n < compactChunk {
			break
		}
		outbox.Sleep(s.ctx, 50*time.Millisecond)
	}
	if total > 0 {
		s.e.log.Info("outbox compacted", "rows", total)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
