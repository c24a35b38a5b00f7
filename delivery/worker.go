package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

type jobKind int

const (
	jobPost jobKind = iota
	jobReply
	jobEdit
	jobDelete
)

// effect is what a job's outcome means for its chat's queue.
type effect int

const (
	// effDone: the work left the queue (sent, retried later, dead…).
	effDone effect = iota
	// effRateLimited: a 429; the work goes back and the chat rests.
	effRateLimited
	// effGone: the chat is gone or moved; its queue is forgotten.
	effGone
)

// job is one call to Telegram: a post or bundle, a reply, an edit or a
// delete.
type job struct {
	kind     jobKind
	chatID   int64
	chatKind nashra.ChatKind
	prio     int
	rows     []nashra.Delivery // post: the bundle; edit and delete: one row
	reply    nashra.QueuedReply
	silent   bool
	plain    bool
	turn     *outbox.Turn // its requests' places in the bot-wide limit

	// Set by the worker.
	end        time.Time
	sent       Sent
	revision   int
	effect     effect
	retryAfter time.Duration
	// nothing: the reply's renderer had nothing to send any more.
	nothing bool
}

func (j *job) items() int {
	if j.kind == jobReply {
		return 1
	}
	return len(j.rows)
}

// news counts the job's items that session.queued counts: all but a reply.
func (j *job) news() int {
	if j.kind == jobReply && j.reply.Lane == nashra.ReplyLane {
		return 0
	}
	return j.items()
}

// spaced reports whether the job counts against its chat's rate: a
// callback answer is not a message in the chat.
func (j *job) spaced() bool {
	return j.kind != jobReply || j.reply.Method != "answerCallbackQuery"
}

func (j *job) ids() []int64 {
	if j.kind == jobReply {
		return []int64{j.reply.ID}
	}
	ids := make([]int64, len(j.rows))
	for i, r := range j.rows {
		ids[i] = r.ID
	}
	return ids
}

func (j *job) attempts() int {
	if j.kind == jobReply {
		return j.reply.Attempts
	}
	n := 0
	for _, r := range j.rows {
		n = max(n, r.Attempts)
	}
	return n
}

// Send makes the job's call and turns its outcome into what the writer
// stores; outbox.Work commits it before the worker takes the next job.
func (s *session) Send(_ context.Context, j *job) outcome {
	err := s.execute(j)
	ups, scopes := s.conclude(j, err)
	return outcome{ups: ups, scopes: scopes}
}

// execute makes the call. Its context survives shutdown: a send in flight
// is finished, bounded by SendTimeout, rather than abandoned half-way. It
// carries the job's turn, which the Sender takes before each request
// (Admit).
func (s *session) execute(j *job) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), s.e.cfg.SendTimeout.D())
	defer cancel()
	ctx = outbox.WithTurn(ctx, j.turn)
	called := false
	defer func() {
		j.turn.Settle(called)
		j.end = s.e.now()
	}()
	target := Target{ChatID: j.chatID, Kind: j.chatKind, Silent: j.silent}
	if len(j.rows) > 0 {
		// A bundle's rows share their forum topic (see build).
		target.ThreadID = j.rows[0].ThreadID
		if len(j.rows) == 1 {
			target.Reason = j.rows[0].Reason
		}
	}
	switch j.kind {
	case jobPost:
		ids := make([]int64, len(j.rows))
		var reasons []string
		for i, r := range j.rows {
			ids[i] = r.ArticleID
			if r.Reason != "" && len(j.rows) > 1 {
				if reasons == nil {
					reasons = make([]string, len(j.rows))
				}
				reasons[i] = r.Reason
			}
		}
		as, err := s.articles.get(ctx, s.e.now(), ids)
		if err != nil {
			return err
		}
		j.revision = as[0].Revision
		called = true
		j.sent, err = s.e.snd.Post(ctx, Post{Target: target, Articles: as, Reasons: reasons, Plain: j.plain})
		return err
	case jobReply:
		r := Reply{ChatID: j.chatID, Method: j.reply.Method, Params: maps.Clone(j.reply.Params)}
		if render := s.e.renderers[r.Method]; render != nil {
			var ok bool
			var err error
			if r, ok, err = render.Render(ctx, j.chatID, j.reply.Params); err != nil || !ok {
				j.nothing = err == nil
				return err
			}
		}
		if r.Params == nil {
			r.Params = map[string]string{}
		}
		if r.Method != "answerCallbackQuery" {
			r.Params["chat_id"] = strconv.FormatInt(j.chatID, 10)
		}
		var err error
		called = true
		j.sent, err = s.e.snd.Reply(ctx, Reply{ChatID: j.chatID, Method: r.Method, Params: r.Params})
		return err
	case jobEdit:
		// Fresh from the store: the correction must show the latest text.
		a, err := s.e.st.Article(ctx, j.rows[0].ArticleID)
		if err != nil {
			return err
		}
		j.revision = a.Revision
		called = true
		return s.e.snd.Edit(ctx, target, j.rows[0].MessageID, j.rows[0].Caption, a)
	default:
		called = true
		return s.e.snd.Delete(ctx, j.chatID, j.rows[0].MessageID)
	}
}

// conclude turns a job's outcome into the updates of its rows, and does
// what the answer says about the chat.
func (s *session) conclude(j *job, err error) ([]store.OutboxUpdate, []store.Scope) {
	log := s.e.log.With("chat_id", j.chatID)
	if j.kind == jobPost || j.kind == jobEdit || j.kind == jobDelete {
		log = log.With("article_id", j.rows[0].ArticleID)
	}
	if j.nothing {
		return []store.OutboxUpdate{{Op: store.OpReplyCancel, IDs: j.ids(), ErrorKind: "nothing_to_send",
			Error: "nothing left to send to the chat"}}, nil
	}
	if err == nil {
		return s.succeeded(j)
	}
	if errors.Is(err, outbox.ErrPaused) {
		// Not sent: the chat waits with everything else.
		j.effect, j.retryAfter = effRateLimited, max(s.e.lim.PausedUntil().Sub(j.end), time.Second)
		return nil, nil
	}
	var se *SendError
	if !errors.As(err, &se) {
		// The article could not be read, or the sender broke its contract:
		// worth another try.
		se = &SendError{Kind: Transient, Reason: err.Error(), Err: err}
	}
	s.e.countError(se.Kind)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 30*time.Second)
	defer cancel()
	switch se.Kind {
	case RateLimited:
		j.effect, j.retryAfter = effRateLimited, max(se.RetryAfter, time.Second)
		s.e.m.rateLimited.Inc()
		s.e.rateLimited.Add(1)
		return nil, s.rateLimited(log, j)
	case ChatGone:
		j.effect = effGone
		s.chatGone(ctx, log, j, se.Reason)
		return s.dropWork(j, se), nil
	case Migrated:
		j.effect = effGone
		s.migrated(ctx, log, j.chatID, se.MigrateTo)
		return s.dropWork(j, se), nil
	case BadMarkup:
		log.Error("bug: telegram refused the HTML", "method", s.method(j), "plain", j.plain, "reason", se.Reason)
		if j.kind == jobPost && !j.plain {
			return []store.OutboxUpdate{{Op: store.OpPlain, IDs: j.ids(), ErrorKind: se.Kind.String(), Error: se.Reason}}, nil
		}
		return s.giveUp(ctx, log, j, se), nil
	case TopicGone:
		// A post that reached a deleted or closed topic goes once more, to
		// the group's general topic; a refusal there (its general topic
		// closed) gives it up.
		if j.kind == jobPost && j.rows[0].ThreadID != 0 {
			thread := j.rows[0].ThreadID
			log.Warn("the forum topic is closed or gone: the post goes to the general topic", "thread_id", thread, "reason", se.Reason)
			if s.e.topicGone != nil {
				s.e.topicGone(ctx, j.chatID, thread, se.Reason)
			}
			return []store.OutboxUpdate{{Op: store.OpGeneral, IDs: j.ids(), ErrorKind: se.Kind.String(), Error: se.Reason}}, nil
		}
		return s.giveUp(ctx, log, j, se), nil
	case Rejected:
		log.Warn("telegram refused the message", "method", s.method(j), "reason", se.Reason)
		return s.giveUp(ctx, log, j, se), nil
	}
	attempt := j.attempts() + 1
	at, ok := s.e.retry.Next(attempt, j.end)
	if !ok || s.tooLate(j) {
		return s.giveUp(ctx, log, j, se), nil
	}
	log.Info("send failed; will retry", "method", s.method(j), "attempt", attempt, "retry_at", at, "reason", se.Reason)
	u := store.OutboxUpdate{Op: store.OpRetry, IDs: j.ids(), At: at, ErrorKind: se.Kind.String(), Error: se.Reason}
	switch j.kind {
	case jobReply:
		u.Op = store.OpReplyRetry
	case jobEdit, jobDelete:
		u.Op, u.Todo = store.OpTodoRetry, j.rows[0].Todo
	}
	return []store.OutboxUpdate{u}, nil
}

// rateLimited pauses everything at once for a 429's retry_after, and the
// chat with it. Telegram does not say which limit a 429 is for; the
// dispatcher never sends into a chat faster than the chat's own limit, so
// only the bot-wide one can have been reached. Sends already in flight
// when the first 429 came back may reach Telegram inside its retry_after;
// their 429s are counted as violations and lengthen the pause.
func (s *session) rateLimited(log *slog.Logger, j *job) []store.Scope {
	fresh, until := s.e.lim.RateLimited(j.end, j.retryAfter)
	if fresh {
		s.e.m.globalPause.Inc()
		s.e.globalPause.Add(1)
		log.Warn("telegram answered 429: all sending paused", "retry_after", j.retryAfter, "until", until)
	} else {
		s.e.m.violations.Inc()
		s.e.violations.Add(1)
		log.Warn("a send in flight reached telegram inside its retry_after", "retry_after", j.retryAfter, "until", until)
	}
	return []store.Scope{{ChatID: j.chatID, PausedUntil: j.end.Add(j.retryAfter)}, {ChatID: 0, PausedUntil: until}}
}

func (s *session) succeeded(j *job) ([]store.OutboxUpdate, []store.Scope) {
	s.e.m.sent.WithLabelValues(laneNames[j.prio]).Inc()
	s.e.sent.Add(1)
	var u store.OutboxUpdate
	switch j.kind {
	case jobPost:
		u = store.OutboxUpdate{Op: store.OpSent, IDs: j.ids(), MessageID: j.sent.MessageID, Caption: j.sent.Caption,
			Revision: j.revision, At: j.end}
		for _, r := range j.rows {
			if r.Reason != "" {
				s.e.m.followed.Inc()
			}
		}
	case jobReply:
		u = store.OutboxUpdate{Op: store.OpReplySent, IDs: j.ids(), MessageID: j.sent.MessageID, At: j.end}
	case jobEdit:
		u = store.OutboxUpdate{Op: store.OpEdited, IDs: j.ids(), Todo: nashra.TodoEdit, Revision: j.revision}
	default:
		u = store.OutboxUpdate{Op: store.OpDeleted, IDs: j.ids(), Todo: nashra.TodoDelete}
	}
	var scopes []store.Scope
	// A group's spacing is minutes: it must survive a failover.
	if j.chatKind != nashra.ChatPrivate && j.spaced() {
		scopes = []store.Scope{{ChatID: j.chatID, NextAt: j.end.Add(s.interval(j.chatKind))}}
	}
	return []store.OutboxUpdate{u}, scopes
}

// giveUp marks the job's rows dead (or its edit or delete dropped), keeping
// the error for admins.
func (s *session) giveUp(ctx context.Context, log *slog.Logger, j *job, se *SendError) []store.OutboxUpdate {
	op := store.OpDead
	switch j.kind {
	case jobReply:
		op = store.OpReplyDead
	case jobEdit, jobDelete:
		s.workGivenUp(ctx, log, j, se)
		return []store.OutboxUpdate{{Op: store.OpTodoDrop, IDs: j.ids(), Todo: j.rows[0].Todo, ErrorKind: se.Kind.String(), Error: se.Reason}}
	}
	s.e.m.dead.Add(float64(j.items()))
	log.Error("delivery given up", "method", s.method(j), "kind", se.Kind.String(), "reason", se.Reason, "rows", j.items())
	if _, err := s.e.st.RaiseAlert(ctx, nashra.Alert{Kind: "deliveries_dead", Subject: dispatcherName,
		Message: txtDeadRows, CreatedAt: s.e.now()}); err != nil {
		log.Error("cannot raise the alert about dead deliveries", "err", err)
	}
	return []store.OutboxUpdate{{Op: op, IDs: j.ids(), ErrorKind: se.Kind.String(), Error: se.Reason}}
}

// tooLate reports whether an edit or a delete that failed is past its
// window: a correction's (delivery.correction_window after the send),
// or Telegram's for deleting a message. Trying again after it would only
// hammer Telegram.
func (s *session) tooLate(j *job) bool {
	now, sent := s.e.now(), j.rows[0].SentAt
	switch j.kind {
	case jobEdit:
		return now.After(sent.Add(s.e.cfg.CorrectionWindow.D()))
	case jobDelete:
		return now.After(sent.Add(deleteWindow))
	}
	return false
}

// workGivenUp tells the editors that a correction or a retraction could
// not reach a message, once per article and kind of work while they have
// not read it.
func (s *session) workGivenUp(ctx context.Context, log *slog.Logger, j *job, se *SendError) {
	d := j.rows[0]
	log.Error("correction given up", "todo", d.Todo, "attempts", d.Attempts+1, "kind", se.Kind.String(), "reason", se.Reason)
	title := strconv.FormatInt(d.ArticleID, 10)
	if a, err := s.e.st.Article(ctx, d.ArticleID); err == nil {
		title = "«" + arabic.Cut(strings.Join(strings.Fields(a.Title), " "), 120, utf8.RuneCountInString) + "»"
	}
	msg := fmt.Sprintf(txtEditGivenUp, title, errorNames[se.Kind])
	if d.Todo == nashra.TodoDelete {
		msg = fmt.Sprintf(txtDeleteGivenUp, title, errorNames[se.Kind])
	}
	if _, err := s.e.st.RaiseAlert(ctx, nashra.Alert{Kind: "work_given_up_" + d.Todo, Subject: strconv.FormatInt(d.ArticleID, 10),
		Message: msg, CreatedAt: s.e.now()}); err != nil {
		log.Error("cannot raise the alert about a correction given up", "err", err)
	}
}

// dropWork ends an edit or delete whose chat went away; rows and replies
// were cancelled or moved with the chat.
func (s *session) dropWork(j *job, se *SendError) []store.OutboxUpdate {
	if j.kind == jobEdit || j.kind == jobDelete {
		return []store.OutboxUpdate{{Op: store.OpTodoDrop, IDs: j.ids(), Todo: j.rows[0].Todo, ErrorKind: se.Kind.String(), Error: se.Reason}}
	}
	return nil
}

// chatGone marks a chat Telegram refused as inactive and cancels what was
// waiting for it; a channel is also marked as not writable and the admins
// are told.
func (s *session) chatGone(ctx context.Context, log *slog.Logger, j *job, reason string) {
	now := s.e.now()
	if j.chatKind == nashra.ChatChannel {
		if err := s.e.st.SetChannelState(ctx, "", j.chatID, false, now); err != nil {
			log.Error("cannot mark the channel unwritable", "err", err)
		}
		if _, err := s.e.st.RaiseAlert(ctx, nashra.Alert{Kind: "channel_unwritable", Subject: strconv.FormatInt(j.chatID, 10),
			Message: fmt.Sprintf(txtChannelFailed, j.chatID, errorNames[ChatGone]), CreatedAt: now}); err != nil {
			log.Error("cannot raise the alert about a channel", "err", err)
		}
	}
	if err := s.e.st.SetChatActive(ctx, j.chatID, false, reason, now); err != nil && !errors.Is(err, store.ErrNotFound) {
		log.Error("cannot mark the chat inactive", "err", err)
	}
	n, err := s.e.st.CancelChatDeliveries(ctx, j.chatID, ChatGone.String(), reason)
	if err != nil {
		log.Error("cannot cancel the deliveries of a gone chat", "err", err)
	}
	log.Info("chat gone: marked inactive, deliveries cancelled", "reason", reason, "cancelled", n)
}

// migrated moves a group that became a supergroup, with its waiting rows,
// which are claimed again under the new id.
func (s *session) migrated(ctx context.Context, log *slog.Logger, from, to int64) {
	if to == 0 {
		log.Error("telegram said the group migrated without saying where")
		return
	}
	if err := s.e.st.MoveChat(ctx, from, to, s.e.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		log.Error("cannot move the migrated chat", "new_chat_id", to, "err", err)
	}
	n, err := s.e.st.MoveChatDeliveries(ctx, from, to)
	if err != nil {
		log.Error("cannot move the deliveries of a migrated chat", "new_chat_id", to, "err", err)
	}
	log.Info("group migrated: deliveries moved", "new_chat_id", to, "moved", n)
	wake(s.needRows)
}

func (s *session) method(j *job) string {
	switch j.kind {
	case jobReply:
		return j.reply.Method
	case jobEdit:
		return "edit"
	case jobDelete:
		return "deleteMessage"
	}
	return "post"
}

// outcome is what the writer stores of a job, or of rows not sent: the
// rows' updates and the limiter's state of the chat and of the bot.
type outcome struct {
	ups    []store.OutboxUpdate
	scopes []store.Scope
}

// storeOutcomes writes a batch of outcomes in one transaction.
func (e *Engine) storeOutcomes(ctx context.Context, batch []outcome) error {
	var ups []store.OutboxUpdate
	var scopes []store.Scope
	for _, o := range batch {
		ups = append(ups, o.ups...)
		scopes = append(scopes, o.scopes...)
	}
	if len(ups) == 0 && len(scopes) == 0 {
		return nil
	}
	return e.st.UpdateOutbox(ctx, e.lease.Holder(), ups, scopes)
}

// articleCache keeps articles for a few seconds: a fan-out sends the same
// one to thousands of chats.
type articleCache struct {
	st  Store
	ttl time.Duration
	mu  sync.Mutex
	m   map[int64]cachedArticle
}

type cachedArticle struct {
	a  nashra.Article
	at time.Time
}

func (c *articleCache) get(ctx context.Context, now time.Time, ids []int64) ([]nashra.Article, error) {
	out := make([]nashra.Article, len(ids))
	for i, id := range ids {
		c.mu.Lock()
		e, ok := c.m[id]
		c.mu.Unlock()
		if !ok || now.Sub(e.at) > c.ttl {
			a, err := c.st.Article(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("article %d: %w", id, err)
			}
			e = cachedArticle{a: a, at: now}
			c.mu.Lock()
			if len(c.m) > 256 {
				maps.DeleteFunc(c.m, func(_ int64, v cachedArticle) bool { return now.Sub(v.at) > c.ttl })
			}
			c.m[id] = e
			c.mu.Unlock()
		}
		out[i] = e.a
	}
	return out, nil
}
