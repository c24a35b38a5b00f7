package delivery

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

// Priorities of the work a chat has, lowest first. Replies are a class of
// their own, taking turns with the rest (see session.pick); among the
// rest, corrections and retractions come first because they fix what
// readers already have, then the outbox lanes, broadcasts last.
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

func rowPrio(l nashra.Lane) int { return int(l) + 1 }

// maxQueuedAnswers is how many replies that answer something (those with a
// Merge key) one chat may have waiting: a reader who floods the bot gets a
// few answers, the newest, not one per message.
const maxQueuedAnswers = 3

// leaseMargin stops dispatching this long before the lease would end
// unrenewed, so that no send starts while another instance may take over.
const leaseMargin = time.Second

// chatQ is one chat's work in memory: what was claimed for it and not yet
// sent, and when the chat may next receive a message.
type chatQ struct {
	id         int64
	kind       nashra.ChatKind
	replies    []nashra.QueuedReply // answers to the chat, oldest first
	broadcasts []nashra.QueuedReply // admins' messages to every reader
	work       []nashra.Delivery    // edits and deletes of sent messages
	rows       []nashra.Delivery    // posts, in lane and article order
	busy       bool                 // a send to it is in flight
	nextAt     time.Time            // its rate limit or a 429's retry_after
	idx        [3]int               // its position in each heap, by slot; -1 when not in it
}

func (q *chatQ) size() int { return len(q.replies) + q.newsSize() }

// newsSize counts the chat's work other than replies.
func (q *chatQ) newsSize() int { return len(q.broadcasts) + len(q.work) + len(q.rows) }

// newsPrio returns the priority of the chat's most urgent work other than
// replies, and its order within the priority (oldest row or article
// first).
func (q *chatQ) newsPrio() (int, int64) {
	p, o := prioNone, int64(0)
	if len(q.work) > 0 {
		p, o = prioWork, q.work[0].ID
	}
	if len(q.rows) > 0 {
		if rp := rowPrio(q.rows[0].Lane); rp < p {
			p, o = rp, q.rows[0].ArticleID
		}
	}
	if p == prioNone && len(q.broadcasts) > 0 {
		p, o = prioBroadcast, q.broadcasts[0].ID
	}
	return p, o
}

// answer queues a reply to the chat and returns the ids of those it
// supersedes: a waiting reply with the same Merge gives way to the newer
// one, and beyond maxQueuedAnswers the oldest answers go.
func (q *chatQ) answer(r nashra.QueuedReply) (superseded []int64) {
	if r.Merge != "" {
		if i := slices.IndexFunc(q.replies, func(o nashra.QueuedReply) bool { return o.Merge == r.Merge }); i >= 0 {
			superseded = append(superseded, q.replies[i].ID)
			q.replies = slices.Delete(q.replies, i, i+1)
		}
	}
	q.replies = append(q.replies, r)
	keyed := 0
	for _, o := range q.replies {
		if o.Merge != "" {
			keyed++
		}
	}
	for i := 0; keyed > maxQueuedAnswers; {
		if q.replies[i].Merge == "" {
			i++
			continue
		}
		superseded = append(superseded, q.replies[i].ID)
		q.replies = slices.Delete(q.replies, i, i+1)
		keyed--
	}
	return superseded
}

// chatHeap orders chats: those with replies by their oldest reply, those
// with other work by priority, waiting ones by time. A ready chat may be
// in both of the first two; slot is the heap's index in chatQ.idx.
type chatHeap struct {
	qs   []*chatQ
	slot int
	less func(a, b *chatQ) bool
}

// The heaps' slots.
const (
	slotWaiting = iota
	slotAnswers
	slotNews
)

func (h *chatHeap) Len() int           { return len(h.qs) }
func (h *chatHeap) Less(i, j int) bool { return h.less(h.qs[i], h.qs[j]) }
func (h *chatHeap) Swap(i, j int) {
	h.qs[i], h.qs[j] = h.qs[j], h.qs[i]
	h.qs[i].idx[h.slot], h.qs[j].idx[h.slot] = i, j
}
func (h *chatHeap) Push(x any) {
	q := x.(*chatQ)
	q.idx[h.slot] = len(h.qs)
	h.qs = append(h.qs, q)
}
func (h *chatHeap) Pop() any {
	q := h.qs[len(h.qs)-1]
	h.qs[len(h.qs)-1] = nil
	h.qs = h.qs[:len(h.qs)-1]
	q.idx[h.slot] = -1
	return q
}

func byOldestReply(a, b *chatQ) bool {
	if a.replies[0].ID != b.replies[0].ID {
		return a.replies[0].ID < b.replies[0].ID
	}
	return a.id < b.id
}

func byPriority(a, b *chatQ) bool {
	pa, oa := a.newsPrio()
	pb, ob := b.newsPrio()
	if pa != pb {
		return pa < pb
	}
	if oa != ob {
		return oa < ob
	}
	return a.id < b.id
}

func byTime(a, b *chatQ) bool { return a.nextAt.Before(b.nextAt) }

// claimBatch is what the claimer took from the store in one go.
type claimBatch struct {
	replies []nashra.QueuedReply
	work    []nashra.Delivery
	rows    []nashra.Delivery
}

func (b claimBatch) size() int { return len(b.replies) + len(b.work) + len(b.rows) }

// newsSize counts what the batch adds to session.queued.
func (b claimBatch) newsSize() int {
	n := len(b.work) + len(b.rows)
	for _, r := range b.replies {
		if r.Lane != nashra.ReplyLane {
			n++
		}
	}
	return n
}

// session is one term as the dispatcher. Its scheduler goroutine owns the
// chats and heaps; the claimer feeds it, workers send, the writer stores
// outcomes, the housekeeper renews the lease and does the periodic work.
type session struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	batch  int

	// Owned by the scheduler goroutine.
	chats    map[int64]*chatQ
	answers  chatHeap // ready chats with replies
	news     chatHeap // ready chats with posts, edits, deletes, broadcasts
	waiting  chatHeap
	newsTurn bool // the news go next when both have work
	free     int
	inflight int
	stopping bool

	// queued counts the rows, edits, deletes and broadcasts in chatQs,
	// not in flight: the claimer keeps it near batch. Replies are claimed
	// as they come and kept few per chat by merging.
	queued   atomic.Int64
	paused   atomic.Bool
	leaseEnd atomic.Int64 // Unix nanoseconds

	jobs     chan *job
	done     chan *job
	intake   chan claimBatch
	control  chan func()
	needRows chan struct{}
	out      *outbox.Writer[outcome]
	articles *articleCache
}

func newSession(parent context.Context, e *Engine, d store.Lease, scopes []store.Scope) *session {
	ctx, cancel := context.WithCancel(parent)
	s := &session{
		e: e, ctx: ctx, cancel: cancel,
		batch:    min(max(int(e.limits.GlobalPerSecond*2), 64), 4096),
		chats:    map[int64]*chatQ{},
		answers:  chatHeap{slot: slotAnswers, less: byOldestReply},
		news:     chatHeap{slot: slotNews, less: byPriority},
		waiting:  chatHeap{slot: slotWaiting, less: byTime},
		free:     e.cfg.Concurrency,
		jobs:     make(chan *job, e.cfg.Concurrency),
		done:     make(chan *job, e.cfg.Concurrency),
		intake:   make(chan claimBatch),
		control:  make(chan func()),
		needRows: make(chan struct{}, 1),
		out:      outbox.NewWriter(e.storeOutcomes, e.cfg.Concurrency, e.log),
		articles: &articleCache{st: e.st, ttl: 5 * time.Second, m: map[int64]cachedArticle{}},
	}
	s.paused.Store(d.Paused)
	e.m.queue.SetPaused(d.Paused)
	s.leaseEnd.Store(d.Until.UnixNano())
	now := e.now()
	for _, sc := range scopes {
		if sc.ChatID == 0 {
			e.lim.Pause(sc.PausedUntil)
			continue
		}
		q := s.chat(sc.ChatID, "")
		q.nextAt = outbox.Later(sc.NextAt, sc.PausedUntil)
		s.place(q, now)
	}
	return s
}

// run serves the term until the context ends or the lease is lost, then
// winds down: in-flight sends finish and are recorded, the rest of what was
// claimed is given back.
func (s *session) run() {
	var workers, background sync.WaitGroup
	workers.Go(func() {
		outbox.Work(s.ctx, s.e.eng, s.e.cfg.Concurrency, s.jobs, s, s.out, func(j *job, _ outcome) { s.done <- j })
	})
	background.Go(func() { s.e.eng.Poll(s.ctx, s.claim, s.idle) })
	background.Go(s.housekeep)
	s.schedule()
	close(s.jobs)
	workers.Wait()
	s.cancel()
	background.Wait()
	s.out.Close()
	s.e.log.Info("dispatcher stopped")
}

// schedule is the scheduler goroutine: it hands the most urgent sendable
// work to idle workers, as fast as the bot-wide limit, the chats' limits
// and Telegram's pauses allow.
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
	if s.free > 0 && s.answers.Len()+s.news.Len() > 0 {
		if next := s.e.lim.Next(now).Add(-outbox.DispatchLead); next.Before(at) {
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

// promote moves chats whose wait is over to the ready heaps, and forgets
// idle ones that were only kept for their rate limit.
func (s *session) promote(now time.Time) {
	for s.waiting.Len() > 0 && !s.waiting.qs[0].nextAt.After(now) {
		q := heap.Pop(&s.waiting).(*chatQ)
		s.place(q, now)
	}
}

// dispatch hands jobs to idle workers while the bot-wide limit has room,
// reserving each job's first request a place in it (see limiter).
func (s *session) dispatch(now time.Time) {
	for s.free > 0 && !s.leaseEnding(now) {
		h := s.pick()
		if h == nil {
			break
		}
		ticket := s.e.lim.Reserve(now)
		if ticket == 0 {
			break
		}
		q := heap.Pop(h).(*chatQ)
		j := s.build(q, h == &s.answers, now)
		if j == nil {
			s.e.lim.Release(ticket)
			s.place(q, now)
			continue
		}
		s.newsTurn = h == &s.answers
		j.turn = s.e.lim.Turn(ticket)
		q.busy = true
		s.place(q, now)
		s.free--
		s.inflight++
		s.queued.Add(-int64(j.news()))
		s.jobs <- j
	}
	if s.queued.Load() < int64(s.batch) {
		wake(s.needRows)
	}
}

// pick returns the heap the next job comes from: replies and the rest take
// turns while both have work, so that a flood of replies cannot hold the
// news back, nor a push the answers; each keeps half the rate.
func (s *session) pick() *chatHeap {
	switch {
	case s.answers.Len() == 0 && s.news.Len() == 0:
		return nil
	case s.news.Len() == 0 || s.answers.Len() > 0 && !s.newsTurn:
		return &s.answers
	}
	return &s.news
}

// build takes the chat's most urgent work of its class (a reply, or
// anything else) as one job; nil when, after triage, nothing is to be sent
// now.
func (s *session) build(q *chatQ, answer bool, now time.Time) *job {
	if answer {
		r := q.replies[0]
		q.replies = q.replies[1:]
		return s.replyJob(q, r, prioReply, s.e.cfg.ReplyStaleAfter.D(), now)
	}
	p, _ := q.newsPrio()
	switch p {
	case prioWork:
		d := q.work[0]
		q.work = q.work[1:]
		kind := jobEdit
		if d.Todo == nashra.TodoDelete {
			kind = jobDelete
		}
		return &job{kind: kind, chatID: q.id, chatKind: q.kind, prio: p, rows: []nashra.Delivery{d}}
	case prioBroadcast:
		r := q.broadcasts[0]
		q.broadcasts = q.broadcasts[1:]
		// A broadcast to every reader takes as long as a push.
		return s.replyJob(q, r, p, s.e.cfg.StaleAfter.D(), now)
	case prioNone:
		return nil
	}
	silent := s.triage(q, now)
	if len(q.rows) == 0 {
		return nil
	}
	n := bundleSize(q.kind, q.rows, s.e.cfg.BundleMax)
	rows := slices.Clone(q.rows[:n])
	q.rows = q.rows[n:]
	j := &job{kind: jobPost, chatID: q.id, chatKind: q.kind, prio: p, rows: rows, silent: silent}
	for _, r := range rows {
		j.plain = j.plain || r.Plain
	}
	return j
}

// bundleSize is how many of a chat's waiting rows, in lane order, go as
// the next message. Breaking news goes alone, as a full post; so does
// everything to a channel, whose timeline is its readers' feed. A reader
// who takes the hourly bundle gets the hour's news as one list; others
// get full posts, a few seconds apart, until more than
// nashra.BundleOver wait: only such a flood becomes one list, and only
// for a reader who left bundling on.
func bundleSize(kind nashra.ChatKind, rows []nashra.Delivery, max int) int {
	if kind == nashra.ChatChannel || rows[0].Lane == nashra.LaneBreaking {
		return 1
	}
	// Rows go in lane order: past a breaking one, none is breaking.
	n, s := len(rows), rows[0].Settings
	switch {
	case s != nil && s.Mode == nashra.ModeHourly:
	case s != nil && s.Bundle && n > nashra.BundleOver:
	default:
		return 1
	}
	n = min(n, max)
	// A bundle goes to one forum topic: it stops at a row for another.
	for i := 1; i < n; i++ {
		if rows[i].ThreadID != rows[0].ThreadID {
			return i
		}
	}
	return n
}

// replyJob sends a reply or broadcast taken from the chat's queue, unless
// it waited longer than staleAfter: then it is dropped.
func (s *session) replyJob(q *chatQ, r nashra.QueuedReply, p int, staleAfter time.Duration, now time.Time) *job {
	if now.Sub(r.CreatedAt) > staleAfter {
		if r.Lane != nashra.ReplyLane {
			s.queued.Add(-1)
		}
		s.e.m.stale.Inc()
		s.out.Submit(outcome{ups: []store.OutboxUpdate{{Op: store.OpReplyStale, IDs: []int64{r.ID}}}})
		return nil
	}
	return &job{kind: jobReply, chatID: q.id, chatKind: q.kind, prio: p, reply: r}
}

// triage takes out of the chat's rows those not to be sent now: stale ones,
// those of a chat gone or deleted since the fan-out, those of a reader who
// now takes only the digest, and those the chat's quiet hours or hourly
// bundle hold back (channels have no such choices). It reports whether the
// rest go silently.
func (s *session) triage(q *chatQ, now time.Time) (silent bool) {
	loc, staleAfter := s.e.loc, s.e.cfg.StaleAfter.D()
	var stale, gone, digest []int64
	hold := map[time.Time][]int64{}
	keep := q.rows[:0]
	first := true
	for _, r := range q.rows {
		settings := r.Settings
		if r.Kind == nashra.ChatChannel {
			settings = nil
		}
		switch until, sil := when(settings, r.CreatedAt, now, loc, r.Lane == nashra.LaneBreaking); {
		case now.Sub(r.DueAt) > staleAfter:
			stale = append(stale, r.ID)
		case !r.ChatActive || (r.Kind != nashra.ChatChannel && r.Settings == nil):
			gone = append(gone, r.ID)
		case settings != nil && settings.Mode == nashra.ModeDigest:
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
	s.out.Submit(outcome{ups: ups})
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
		s.queued.Add(-int64(q.newsSize()))
		delete(s.chats, q.id)
		return
	case effRateLimited:
		// The worker paused everything already; the chat rests too.
		s.requeue(q, j)
		q.nextAt = outbox.Later(q.nextAt, j.end.Add(j.retryAfter))
	case effDone:
		if j.spaced() {
			q.nextAt = j.end.Add(s.interval(q.kind))
		}
	}
	s.place(q, now)
}

// requeue puts a job's work back at the front of its chat's queue.
func (s *session) requeue(q *chatQ, j *job) {
	switch {
	case j.kind == jobReply && j.reply.Lane == nashra.ReplyLane:
		q.replies = slices.Insert(q.replies, 0, j.reply)
	case j.kind == jobReply:
		q.broadcasts = slices.Insert(q.broadcasts, 0, j.reply)
	case j.kind == jobEdit, j.kind == jobDelete:
		q.work = slices.Insert(q.work, 0, j.rows...)
	default:
		q.rows = slices.Insert(q.rows, 0, j.rows...)
	}
	s.queued.Add(int64(j.news()))
}

// interval is the configured spacing between messages to one chat.
func (s *session) interval(kind nashra.ChatKind) time.Duration {
	if kind == nashra.ChatPrivate {
		return time.Duration(float64(time.Second) / s.e.limits.ChatPerSecond)
	}
	return time.Duration(float64(time.Minute) / s.e.limits.GroupPerMinute)
}

// chat returns the chat's queue, creating it. Replies do not say the chat's
// kind; Telegram's ids do: users are positive, groups and channels negative.
func (s *session) chat(id int64, kind nashra.ChatKind) *chatQ {
	q := s.chats[id]
	if q == nil {
		q = &chatQ{id: id, kind: nashra.ChatPrivate, idx: [3]int{-1, -1, -1}}
		if id < 0 {
			q.kind = nashra.ChatSupergroup
		}
		s.chats[id] = q
	}
	if kind != "" {
		q.kind = kind
	}
	return q
}

// place puts a chat in the heaps its state calls for.
func (s *session) place(q *chatQ, now time.Time) {
	for _, h := range []*chatHeap{&s.waiting, &s.answers, &s.news} {
		if i := q.idx[h.slot]; i >= 0 {
			heap.Remove(h, i)
		}
	}
	switch {
	case q.busy:
	case q.nextAt.After(now):
		heap.Push(&s.waiting, q)
	case q.size() == 0:
		delete(s.chats, q.id)
	default:
		if len(q.replies) > 0 {
			heap.Push(&s.answers, q)
		}
		if p, _ := q.newsPrio(); p != prioNone {
			heap.Push(&s.news, q)
		}
	}
}

// take adds claimed work to the chats' queues.
func (s *session) take(b claimBatch, now time.Time) {
	if s.stopping {
		return // still claimed: given back when the term ends
	}
	touched := map[*chatQ]bool{}
	var superseded []int64
	for _, r := range b.replies {
		q := s.chat(r.ChatID, "")
		if r.Lane == nashra.ReplyLane {
			superseded = append(superseded, q.answer(r)...)
		} else {
			q.broadcasts = append(q.broadcasts, r)
		}
		touched[q] = true
	}
	if len(superseded) > 0 {
		s.out.Submit(outcome{ups: []store.OutboxUpdate{{Op: store.OpReplyCancel, IDs: superseded, ErrorKind: "superseded",
			Error: "a newer answer to the chat took its place"}}})
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
		slices.SortFunc(q.rows, func(a, b nashra.Delivery) int {
			return cmp.Or(cmp.Compare(a.Lane, b.Lane), cmp.Compare(a.ArticleID, b.ArticleID), cmp.Compare(a.ID, b.ID))
		})
		s.place(q, now)
	}
}

// release gives rows back to the store, unsent.
func (s *session) release(rows []nashra.Delivery) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	s.queued.Add(-int64(len(rows)))
	s.out.Submit(outcome{ups: []store.OutboxUpdate{{Op: store.OpRelease, IDs: ids}}})
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
			q.rows = slices.DeleteFunc(q.rows, func(d nashra.Delivery) bool { return d.ArticleID == articleID })
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
		var rows []nashra.Delivery
		var broadcasts []int64
		for _, q := range s.chats {
			if len(q.rows)+len(q.broadcasts) == 0 {
				continue
			}
			rows = append(rows, q.rows...)
			for _, r := range q.broadcasts {
				broadcasts = append(broadcasts, r.ID)
			}
			q.rows, q.broadcasts = nil, nil
			s.place(q, now)
		}
		if len(rows) > 0 {
			s.release(rows)
		}
		if len(broadcasts) > 0 {
			s.queued.Add(-int64(len(broadcasts)))
			s.out.Submit(outcome{ups: []store.OutboxUpdate{{Op: store.OpReplyRelease, IDs: broadcasts}}})
		}
	})
}
