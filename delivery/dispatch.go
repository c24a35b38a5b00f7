package delivery

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/almaalouma/nashra/store"
)

// Priorities of the work a chat has, lowest first: replies never wait
// behind a fan-out; corrections and retractions come next because they fix
// what readers already have; then the outbox lanes; broadcasts last.
const (
	prioReply = iota
	prioWork
	prioBreaking
	prioChannels
	prioGroups
	prioPrivate
	prioBroadcast
	prioNone
)

// laneNames name the priorities in metrics and figures.
var laneNames = [...]string{"replies", "edits", "breaking", "channels", "groups", "private", "broadcast"}

func rowPrio(l store.Lane) int { return int(l) + 1 }

// globalPauseChats is how many distinct chats answering 429 within a second
// mean the bot-wide limit was hit: then everything pauses.
const globalPauseChats = 2

// leaseMargin stops dispatching this long before the lease would end
// unrenewed, so that no send starts while another instance may take over.
const leaseMargin = time.Second

// chatQ is one chat's work in memory: what was claimed for it and not yet
// sent, and when the chat may next receive a message.
type chatQ struct {
	id      int64
	kind    store.ChatKind
	replies []store.QueuedReply
	work    []store.Delivery // edits and deletes of sent messages
	rows    []store.Delivery // posts, in lane and article order
	busy    bool             // a send to it is in flight
	nextAt  time.Time        // its rate limit or a 429's retry_after
	idx     int              // position in the heap it is in, -1 when none
	heap    *chatHeap
}

func (q *chatQ) size() int { return len(q.replies) + len(q.work) + len(q.rows) }

// prio returns the chat's most urgent work and its order within the
// priority (oldest reply, row or article first).
func (q *chatQ) prio() (int, int64) {
	p, o := prioNone, int64(0)
	if len(q.replies) > 0 {
		p, o = prioReply, q.replies[0].ID
		if q.replies[0].Lane != store.ReplyLane {
			p = prioBroadcast
		}
	}
	if len(q.work) > 0 && prioWork < p {
		p, o = prioWork, q.work[0].ID
	}
	if len(q.rows) > 0 {
		if rp := rowPrio(q.rows[0].Lane); rp < p {
			p, o = rp, q.rows[0].ArticleID
		}
	}
	return p, o
}

// chatHeap orders chats: ready ones by priority, waiting ones by time.
type chatHeap struct {
	qs   []*chatQ
	less func(a, b *chatQ) bool
}

func (h *chatHeap) Len() int           { return len(h.qs) }
func (h *chatHeap) Less(i, j int) bool { return h.less(h.qs[i], h.qs[j]) }
func (h *chatHeap) Swap(i, j int) {
	h.qs[i], h.qs[j] = h.qs[j], h.qs[i]
	h.qs[i].idx, h.qs[j].idx = i, j
}
func (h *chatHeap) Push(x any) {
	q := x.(*chatQ)
	q.idx, q.heap = len(h.qs), h
	h.qs = append(h.qs, q)
}
func (h *chatHeap) Pop() any {
	q := h.qs[len(h.qs)-1]
	h.qs[len(h.qs)-1] = nil
	h.qs = h.qs[:len(h.qs)-1]
	q.idx, q.heap = -1, nil
	return q
}

func byPriority(a, b *chatQ) bool {
	pa, oa := a.prio()
	pb, ob := b.prio()
	if pa != pb {
		return pa < pb
	}
	if oa != ob {
		return oa < ob
	}
	return a.id < b.id
}

func byTime(a, b *chatQ) bool { return a.nextAt.Before(b.nextAt) }

// pacer spaces sends to the global rate. A send late by less than one
// interval does not push the next one back, so timer delays do not add up
// to a lower rate; at most two sends ever go back to back.
type pacer struct {
	interval time.Duration
	next     time.Time
}

func (p *pacer) ready(now time.Time) bool { return !now.Before(p.next) }

func (p *pacer) take(now time.Time) {
	p.next = later(p.next, now.Add(-p.interval)).Add(p.interval)
}

// rateHit is a 429 answer, remembered for a second to tell a chat's limit
// from the bot-wide one.
type rateHit struct {
	chatID int64
	at     time.Time
	retry  time.Duration
}

// claimBatch is what the claimer took from the store in one go.
type claimBatch struct {
	replies []store.QueuedReply
	work    []store.Delivery
	rows    []store.Delivery
}

func (b claimBatch) size() int { return len(b.replies) + len(b.work) + len(b.rows) }

// session is one term as the dispatcher. Its scheduler goroutine owns the
// chats and heaps; the claimer feeds it, workers send, the acker stores
// outcomes, the housekeeper renews the lease and does the periodic work.
type session struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	batch  int

	// Owned by the scheduler goroutine.
	chats       map[int64]*chatQ
	ready       chatHeap
	waiting     chatHeap
	pacer       pacer
	free        int
	inflight    int
	globalUntil time.Time
	hits        []rateHit
	stopping    bool

	queued   atomic.Int64 // items in chatQs, not in flight
	paused   atomic.Bool
	leaseEnd atomic.Int64 // Unix nanoseconds
	lost     atomic.Bool

	jobs     chan *job
	done     chan *job
	intake   chan claimBatch
	control  chan func()
	needRows chan struct{}
	refreshC chan struct{}
	acker    *acker
	articles *articleCache
}

func newSession(parent context.Context, e *Engine, d store.Dispatcher, scopes []store.Scope) *session {
	ctx, cancel := context.WithCancel(parent)
	s := &session{
		e: e, ctx: ctx, cancel: cancel,
		batch:    min(max(int(e.cfg.GlobalPerSecond*2), 64), 4096),
		chats:    map[int64]*chatQ{},
		ready:    chatHeap{less: byPriority},
		waiting:  chatHeap{less: byTime},
		pacer:    pacer{interval: time.Duration(float64(time.Second) / e.cfg.GlobalPerSecond)},
		free:     e.cfg.Concurrency,
		jobs:     make(chan *job, e.cfg.Concurrency),
		done:     make(chan *job, e.cfg.Concurrency),
		intake:   make(chan claimBatch),
		control:  make(chan func()),
		needRows: make(chan struct{}, 1),
		refreshC: make(chan struct{}, 1),
		acker:    &acker{st: e.st, holder: e.holder, log: e.log, in: make(chan ackReq, 1024), gather: e.cfg.Concurrency},
		articles: &articleCache{st: e.st, ttl: 5 * time.Second, m: map[int64]cachedArticle{}},
	}
	s.paused.Store(d.Paused)
	e.m.paused.Set(b2f(d.Paused))
	s.leaseEnd.Store(d.LeaseUntil.UnixNano())
	now := e.now()
	for _, sc := range scopes {
		until := later(sc.NextAt, sc.PausedUntil)
		if sc.ChatID == 0 {
			s.globalUntil = until
			continue
		}
		q := s.chat(sc.ChatID, "")
		q.nextAt = until
		s.place(q, now)
	}
	return s
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// run serves the term until the context ends or the lease is lost, then
// winds down: in-flight sends finish and are recorded, the rest of what was
// claimed is given back.
func (s *session) run() {
	ackDone := make(chan struct{})
	go func() {
		s.acker.run()
		close(ackDone)
	}()
	var workers, background sync.WaitGroup
	for range s.e.cfg.Concurrency {
		workers.Go(s.work)
	}
	background.Go(s.claim)
	background.Go(s.housekeep)
	s.schedule()
	close(s.jobs)
	workers.Wait()
	s.cancel()
	background.Wait()
	close(s.acker.in)
	<-ackDone

	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Second)
	defer cancel()
	if err := s.e.st.ReleaseClaims(ctx, s.e.holder); err != nil {
		s.e.log.Error("cannot give back claimed rows; they wait for the lease to run out", "err", err)
	}
	if !s.lost.Load() {
		if err := s.e.st.ReleaseDispatcher(ctx, dispatcherName, s.e.holder); err != nil {
			s.e.log.Error("cannot release the dispatcher's lease", "err", err)
		}
	}
	s.e.log.Info("dispatcher stopped", "lost_lease", s.lost.Load())
}

// schedule is the scheduler goroutine: it hands the most urgent sendable
// work to idle workers, as fast as the global pacer, the chats' limits and
// Telegram's pauses allow.
func (s *session) schedule() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	ctxDone := s.ctx.Done()
	for {
		now := s.e.now()
		if s.stopping {
			if s.inflight == 0 {
				return
			}
		} else {
			s.promote(now)
			s.dispatch(now)
		}
		timer.Reset(s.nextWake(now))
		select {
		case <-ctxDone:
			s.stopping, ctxDone = true, nil
		case b := <-s.intake:
			s.take(b, s.e.now())
		case j := <-s.done:
			s.finish(j, s.e.now())
		case f := <-s.control:
			f()
		case <-timer.C:
		}
	}
}

// nextWake is how long the scheduler may sleep when nothing arrives.
func (s *session) nextWake(now time.Time) time.Duration {
	at := now.Add(time.Second)
	if s.waiting.Len() > 0 && s.waiting.qs[0].nextAt.Before(at) {
		at = s.waiting.qs[0].nextAt
	}
	if s.free > 0 && s.ready.Len() > 0 {
		if next := later(s.pacer.next, s.globalUntil); next.Before(at) {
			at = next
		}
		if s.leaseEnding(now) {
			at = now.Add(100 * time.Millisecond)
		}
	}
	return max(at.Sub(now), time.Millisecond)
}

func (s *session) leaseEnding(now time.Time) bool {
	return now.Add(leaseMargin).UnixNano() > s.leaseEnd.Load()
}

// promote moves chats whose wait is over to the ready heap, and forgets
// idle ones that were only kept for their rate limit.
func (s *session) promote(now time.Time) {
	for s.waiting.Len() > 0 && !s.waiting.qs[0].nextAt.After(now) {
		q := heap.Pop(&s.waiting).(*chatQ)
		s.place(q, now)
	}
}

func (s *session) dispatch(now time.Time) {
	for s.free > 0 && s.ready.Len() > 0 {
		if now.Before(s.globalUntil) || s.leaseEnding(now) || !s.pacer.ready(now) {
			return
		}
		q := heap.Pop(&s.ready).(*chatQ)
		j := s.build(q, now)
		if j == nil {
			s.place(q, now)
			continue
		}
		s.pacer.take(now)
		q.busy = true
		s.free--
		s.inflight++
		s.queued.Add(-int64(j.items()))
		s.jobs <- j
	}
	if s.queued.Load() < int64(s.batch) {
		wake(s.needRows)
	}
}

// build takes the chat's most urgent work as one job; nil when, after
// triage, nothing is to be sent now.
func (s *session) build(q *chatQ, now time.Time) *job {
	p, _ := q.prio()
	switch {
	case p == prioReply || p == prioBroadcast:
		r := q.replies[0]
		q.replies = q.replies[1:]
		// A broadcast to every reader takes as long as a push.
		staleAfter := s.e.cfg.ReplyStaleAfter
		if p == prioBroadcast {
			staleAfter = s.e.cfg.StaleAfter
		}
		if now.Sub(r.CreatedAt) > staleAfter {
			s.queued.Add(-1)
			s.e.m.stale.Inc()
			s.acker.submit([]store.OutboxUpdate{{Op: store.OpReplyStale, IDs: []int64{r.ID}}}, nil)
			return nil
		}
		return &job{kind: jobReply, chatID: q.id, chatKind: q.kind, prio: p, reply: r}
	case p == prioWork:
		d := q.work[0]
		q.work = q.work[1:]
		kind := jobEdit
		if d.Todo == store.TodoDelete {
			kind = jobDelete
		}
		return &job{kind: kind, chatID: q.id, chatKind: q.kind, prio: p, rows: []store.Delivery{d}}
	case p == prioNone:
		return nil
	}
	silent := s.triage(q, now)
	if len(q.rows) == 0 {
		return nil
	}
	n := 1
	if q.kind != store.ChatChannel {
		n = min(len(q.rows), s.e.cfg.BundleMax)
	}
	rows := slices.Clone(q.rows[:n])
	q.rows = q.rows[n:]
	j := &job{kind: jobPost, chatID: q.id, chatKind: q.kind, prio: p, rows: rows, silent: silent}
	for _, r := range rows {
		j.plain = j.plain || r.Plain
	}
	return j
}

// triage takes out of the chat's rows those not to be sent now: stale ones,
// those of a chat gone or deleted since the fan-out, those of a reader who
// now takes only the digest, and those the chat's quiet hours or hourly
// bundle hold back (channels have no such choices). It reports whether the
// rest go silently.
func (s *session) triage(q *chatQ, now time.Time) (silent bool) {
	cfg := s.e.cfg
	var stale, gone, digest []int64
	hold := map[time.Time][]int64{}
	keep := q.rows[:0]
	first := true
	for _, r := range q.rows {
		settings := r.Settings
		if r.Kind == store.ChatChannel {
			settings = nil
		}
		switch until, sil := when(settings, r.CreatedAt, now, cfg.Location); {
		case now.Sub(r.DueAt) > cfg.StaleAfter:
			stale = append(stale, r.ID)
		case !r.ChatActive || (r.Kind != store.ChatChannel && r.Settings == nil):
			gone = append(gone, r.ID)
		case settings != nil && settings.Mode == store.ModeDigest:
			digest = append(digest, r.ID)
		case !until.IsZero():
			hold[until] = append(hold[until], r.ID)
		default:
			if first {
				silent, first = sil, false
			}
			keep = append(keep, r)
		}
	}
	removed := len(q.rows) - len(keep)
	if removed == 0 {
		return silent
	}
	clear(q.rows[len(keep):])
	q.rows = keep
	s.queued.Add(-int64(removed))
	var ups []store.OutboxUpdate
	if len(stale) > 0 {
		s.e.m.stale.Add(float64(len(stale)))
		s.e.log.Warn("deliveries dropped as stale", "chat_id", q.id, "rows", len(stale))
		ups = append(ups, store.OutboxUpdate{Op: store.OpStale, IDs: stale})
	}
	if len(gone) > 0 {
		ups = append(ups, store.OutboxUpdate{Op: store.OpCancel, IDs: gone, ErrorKind: ChatGone.String(),
			Error: "the chat left or was deleted after the fan-out"})
	}
	if len(digest) > 0 {
		ups = append(ups, store.OutboxUpdate{Op: store.OpCancel, IDs: digest, ErrorKind: "digest_only",
			Error: "the reader now takes the daily digest only"})
	}
	for until, ids := range hold {
		ups = append(ups, store.OutboxUpdate{Op: store.OpDefer, IDs: ids, At: until})
	}
	s.acker.submit(ups, nil)
	return silent
}

// finish takes a job back from a worker whose outcome is stored.
func (s *session) finish(j *job, now time.Time) {
	s.inflight--
	s.free++
	q := s.chats[j.chatID]
	q.busy = false
	switch j.effect {
	case effGone:
		s.queued.Add(-int64(q.size()))
		delete(s.chats, q.id)
		return
	case effRateLimited:
		s.requeue(q, j)
		q.nextAt = later(q.nextAt, j.end.Add(j.retryAfter))
		s.rateLimited(j.chatID, j.retryAfter, now)
	case effDone:
		if j.spaced() {
			q.nextAt = j.end.Add(s.interval(q.kind))
		}
	}
	s.place(q, now)
}

// requeue puts a job's work back at the front of its chat's queue.
func (s *session) requeue(q *chatQ, j *job) {
	switch j.kind {
	case jobReply:
		q.replies = slices.Insert(q.replies, 0, j.reply)
	case jobEdit, jobDelete:
		q.work = slices.Insert(q.work, 0, j.rows...)
	default:
		q.rows = slices.Insert(q.rows, 0, j.rows...)
	}
	s.queued.Add(int64(j.items()))
}

// rateLimited records a 429. Telegram does not say which limit it was:
// the chat is paused already; 429s from several chats within a second mean
// the bot-wide limit, and everything pauses.
func (s *session) rateLimited(chatID int64, retry time.Duration, now time.Time) {
	s.hits = slices.DeleteFunc(s.hits, func(h rateHit) bool { return now.Sub(h.at) > time.Second })
	s.hits = append(s.hits, rateHit{chatID: chatID, at: now, retry: retry})
	chats := map[int64]bool{}
	longest := time.Duration(0)
	for _, h := range s.hits {
		chats[h.chatID] = true
		longest = max(longest, h.retry)
	}
	if len(chats) < globalPauseChats || !now.Add(longest).After(s.globalUntil) {
		return
	}
	s.globalUntil = now.Add(longest)
	s.e.m.globalPause.Inc()
	s.e.globalPause.Add(1)
	s.e.log.Warn("429s from several chats at once: all sending paused", "chats", len(chats), "retry_after", longest)
	s.acker.submit(nil, []store.Scope{{ChatID: 0, PausedUntil: s.globalUntil}})
}

// interval is the configured spacing between messages to one chat.
func (s *session) interval(kind store.ChatKind) time.Duration {
	if kind == store.ChatPrivate {
		return time.Duration(float64(time.Second) / s.e.cfg.ChatPerSecond)
	}
	return time.Duration(float64(time.Minute) / s.e.cfg.GroupPerMinute)
}

// chat returns the chat's queue, creating it. Replies do not say the chat's
// kind; Telegram's ids do: users are positive, groups and channels negative.
func (s *session) chat(id int64, kind store.ChatKind) *chatQ {
	q := s.chats[id]
	if q == nil {
		q = &chatQ{id: id, kind: store.ChatPrivate, idx: -1}
		if id < 0 {
			q.kind = store.ChatSupergroup
		}
		s.chats[id] = q
	}
	if kind != "" {
		q.kind = kind
	}
	return q
}

// place puts a chat in the heap its state calls for.
func (s *session) place(q *chatQ, now time.Time) {
	if q.heap != nil {
		heap.Remove(q.heap, q.idx)
	}
	switch {
	case q.busy:
	case q.nextAt.After(now):
		heap.Push(&s.waiting, q)
	case q.size() > 0:
		heap.Push(&s.ready, q)
	default:
		delete(s.chats, q.id)
	}
}

// take adds claimed work to the chats' queues.
func (s *session) take(b claimBatch, now time.Time) {
	if s.stopping {
		return // still claimed: given back when the term ends
	}
	touched := map[*chatQ]bool{}
	for _, r := range b.replies {
		q := s.chat(r.ChatID, "")
		q.replies = append(q.replies, r)
		touched[q] = true
	}
	for _, d := range b.work {
		q := s.chat(d.ChatID, d.Kind)
		q.work = append(q.work, d)
		touched[q] = true
	}
	if s.paused.Load() && len(b.rows) > 0 {
		s.release(b.rows)
		b.rows = nil
	}
	for _, d := range b.rows {
		q := s.chat(d.ChatID, d.Kind)
		q.rows = append(q.rows, d)
		touched[q] = true
	}
	for q := range touched {
		slices.SortFunc(q.rows, func(a, b store.Delivery) int {
			return cmp.Or(cmp.Compare(a.Lane, b.Lane), cmp.Compare(a.ArticleID, b.ArticleID), cmp.Compare(a.ID, b.ID))
		})
		s.place(q, now)
	}
}

// release gives rows back to the store, unsent.
func (s *session) release(rows []store.Delivery) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	s.queued.Add(-int64(len(rows)))
	s.acker.submit([]store.OutboxUpdate{{Op: store.OpRelease, IDs: ids}}, nil)
}

// onScheduler runs f on the scheduler goroutine, unless the term is over.
func (s *session) onScheduler(f func()) {
	select {
	case s.control <- f:
	case <-s.ctx.Done():
	}
}

// dropArticle forgets the rows of an article an editor cancelled; the store
// has them cancelled already.
func (s *session) dropArticle(articleID int64) {
	s.onScheduler(func() {
		now := s.e.now()
		for _, q := range s.chats {
			n := len(q.rows)
			q.rows = slices.DeleteFunc(q.rows, func(d store.Delivery) bool { return d.ArticleID == articleID })
			if len(q.rows) != n {
				s.queued.Add(-int64(n - len(q.rows)))
				s.place(q, now)
			}
		}
	})
}

// releasePushes gives back every row and broadcast held in memory: pushes
// are paused. Replies to readers stay.
func (s *session) releasePushes() {
	s.onScheduler(func() {
		now := s.e.now()
		var rows []store.Delivery
		var broadcasts []int64
		for _, q := range s.chats {
			n := len(q.rows) + len(q.replies)
			rows = append(rows, q.rows...)
			q.rows = nil
			q.replies = slices.DeleteFunc(q.replies, func(r store.QueuedReply) bool {
				if r.Lane != store.ReplyLane {
					broadcasts = append(broadcasts, r.ID)
					return true
				}
				return false
			})
			if n != len(q.replies) {
				s.place(q, now)
			}
		}
		if len(rows) > 0 {
			s.release(rows)
		}
		if len(broadcasts) > 0 {
			s.queued.Add(-int64(len(broadcasts)))
			s.acker.submit([]store.OutboxUpdate{{Op: store.OpReplyRelease, IDs: broadcasts}}, nil)
		}
	})
}

// refresh asks the housekeeper to read the dispatcher's row now.
func (s *session) refresh() { wake(s.refreshC) }
