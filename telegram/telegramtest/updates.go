package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// CallbackQueryTTL is how long a callback query can be answered after it
// was pushed (fake time).
const CallbackQueryTTL = 15 * time.Second

// updateQueue holds the updates not yet confirmed, as Telegram keeps them
// for the bot.
type updateQueue struct {
	pending []pendingUpdate
	lastID  int
	allowed map[string]bool // nil: Telegram's default set
	changed chan struct{}   // closed and replaced when an update is queued
	poller  *poller         // the getUpdates request in flight, if any
}

type pendingUpdate struct {
	id   int
	body json.RawMessage // the whole Update object
}

// poller is a getUpdates request; conflict is closed when a newer request
// terminates it.
type poller struct{ conflict chan struct{} }

func newUpdateQueue() updateQueue {
	return updateQueue{lastID: 500000000, changed: make(chan struct{})}
}

// allows reports whether updates of a kind are created, per
// allowed_updates; by default all are but chat_member and reactions.
func (q *updateQueue) allows(kind string) bool {
	if q.allowed == nil {
		return kind != "chat_member" && kind != "message_reaction" && kind != "message_reaction_count"
	}
	return q.allowed[kind]
}

// setAllowed applies a request's allowed_updates. As in Telegram, an empty
// list restores the default set, and a parameter that is absent or not a
// JSON array (the client library sends "null" for no list) keeps the
// previous setting.
func (q *updateQueue) setAllowed(req *request) {
	var kinds []string
	v := strings.TrimSpace(req.str("allowed_updates"))
	if !strings.HasPrefix(v, "[") || json.Unmarshal([]byte(v), &kinds) != nil {
		return
	}
	if len(kinds) == 0 {
		q.allowed = nil
		return
	}
	q.allowed = map[string]bool{}
	for _, k := range kinds {
		q.allowed[k] = true
	}
}

// confirm applies getUpdates' offset: updates below it are forgotten for
// good; a negative offset keeps only the last -offset updates.
func (q *updateQueue) confirm(offset int64) {
	switch {
	case offset > 0:
		i := 0
		for i < len(q.pending) && int64(q.pending[i].id) < offset {
			i++
		}
		q.pending = q.pending[i:]
	case offset < 0 && int64(len(q.pending)) > -offset:
		q.pending = q.pending[int64(len(q.pending))+offset:]
	}
}

// push queues an update (unless allowed_updates excludes its kind) and
// returns it as the client library decodes it. s.mu must be held.
func (s *Server) push(kind string, object any) tgbotapi.Update {
	q := &s.updates
	body, err := json.Marshal(object)
	if err != nil {
		panic("telegramtest: " + err.Error())
	}
	id := 0
	if q.allows(kind) {
		q.lastID++
		id = q.lastID
	}
	raw := json.RawMessage(fmt.Sprintf(`{"update_id":%d,%s:%s}`, id, strconv.Quote(kind), body))
	if id != 0 {
		q.pending = append(q.pending, pendingUpdate{id: id, body: raw})
		close(q.changed)
		q.changed = make(chan struct{})
	}
	var u tgbotapi.Update
	if err := json.Unmarshal(raw, &u); err != nil {
		panic("telegramtest: " + err.Error())
	}
	return u
}

func getUpdates(s *Server, req *request) (any, *apiError) {
	limit := req.int("limit")
	if limit < 1 || limit > 100 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook.url != "" {
		return nil, &apiError{code: http.StatusConflict,
			description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	q := &s.updates
	// A new request terminates the one in flight, as Telegram does when two
	// instances of a bot poll at once.
	if q.poller != nil {
		close(q.poller.conflict)
	}
	me := &poller{conflict: make(chan struct{})}
	q.poller = me
	defer func() {
		if q.poller == me {
			q.poller = nil
		}
	}()
	q.setAllowed(req)
	q.confirm(req.int("offset"))

	timeout := time.NewTimer(time.Duration(max(req.int("timeout"), 0)) * time.Second)
	defer timeout.Stop()
	for {
		if len(q.pending) > 0 || req.int("timeout") <= 0 {
			n := min(int64(len(q.pending)), limit)
			out := make([]json.RawMessage, n)
			for i := range out {
				out[i] = q.pending[i].body
			}
			return out, nil
		}
		changed := q.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timeout.C:
			s.mu.Lock()
			return []json.RawMessage{}, nil
		case <-me.conflict:
			s.mu.Lock()
			return nil, &apiError{code: http.StatusConflict,
				description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		case <-req.ctx.Done():
			s.mu.Lock()
			return []json.RawMessage{}, nil
		case <-s.done:
			s.mu.Lock()
			return []json.RawMessage{}, nil
		}
		s.mu.Lock()
	}
}

// webhookState is the webhook set with setWebhook.
type webhookState struct {
	url              string
	secret           string
	maxConnections   int
	lastErrorDate    int64
	lastErrorMessage string
}

var secretTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func setWebhook(s *Server, req *request) (any, *apiError) {
	raw := req.str("url")
	secret := req.str("secret_token")
	if raw != "" {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, badRequest("bad webhook: invalid webhook URL specified")
		}
		// Telegram requires HTTPS; plain HTTP is let through for loopback
		// test servers only.
		if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
			return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
		}
		if secret != "" && !secretTokenRE.MatchString(secret) {
			return nil, badRequest("bad webhook: secret token contains unallowed characters")
		}
	}
	maxConn := req.int("max_connections")
	if maxConn == 0 {
		maxConn = 40
	}
	if maxConn < 1 || maxConn > 100 {
		return nil, badRequest("bad webhook: max_connections must be between 1 and 100")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if req.flag("drop_pending_updates") {
		s.updates.pending = nil
	}
	s.updates.setAllowed(req)
	if raw == "" {
		s.webhook = webhookState{}
		return true, nil
	}
	s.webhook = webhookState{url: raw, secret: secret, maxConnections: int(maxConn)}
	return true, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func deleteWebhook(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.flag("drop_pending_updates") {
		s.updates.pending = nil
	}
	s.webhook = webhookState{}
	return true, nil
}

func getWebhookInfo(s *Server, _ *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := map[string]any{
		"url":                    s.webhook.url,
		"has_custom_certificate": false,
		"pending_update_count":   len(s.updates.pending),
	}
	if s.webhook.url != "" {
		info["max_connections"] = s.webhook.maxConnections
		if s.updates.allowed != nil {
			kinds := []string{}
			for k := range s.updates.allowed {
				kinds = append(kinds, k)
			}
			info["allowed_updates"] = kinds
		}
	}
	if s.webhook.lastErrorDate != 0 {
		info["last_error_date"] = s.webhook.lastErrorDate
		info["last_error_message"] = s.webhook.lastErrorMessage
	}
	return info, nil
}

// WebhookSecret returns the secret_token of the webhook set, if any.
func (s *Server) WebhookSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook.secret
}

// DeliverWebhook posts the pending updates, oldest first, to the webhook
// set with setWebhook, as Telegram would: one JSON Update per POST, with
// header X-Telegram-Bot-Api-Secret-Token when a secret was set. A 2xx
// answer confirms the update; anything else stops the delivery, is
// recorded as getWebhookInfo's last error, and is returned. It returns the
// number of updates delivered. The fake never delivers on its own, so tests
// choose when updates arrive.
func (s *Server) DeliverWebhook(ctx context.Context) (int, error) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	client := &http.Client{Timeout: 10 * time.Second}
	for n := 0; ; n++ {
		s.mu.Lock()
		hook := s.webhook
		if hook.url == "" {
			s.mu.Unlock()
			return n, errors.New("telegramtest: no webhook is set")
		}
		if len(s.updates.pending) == 0 {
			s.mu.Unlock()
			return n, nil
		}
		next := s.updates.pending[0]
		s.mu.Unlock()

		err := postUpdate(ctx, client, hook, next.body)

		s.mu.Lock()
		if err != nil {
			s.webhook.lastErrorDate = s.now().Unix()
			s.webhook.lastErrorMessage = err.Error()
			s.mu.Unlock()
			return n, fmt.Errorf("telegramtest: webhook: %w", err)
		}
		s.updates.confirm(int64(next.id) + 1)
		s.mu.Unlock()
	}
}

func postUpdate(ctx context.Context, client *http.Client, hook webhookState, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.secret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("Wrong response from the webhook: %s", resp.Status)
	}
	return nil
}

// Incoming is a message sent to a chat by someone else than the bot, for
// PushMessage.
type Incoming struct {
	// ChatID is the chat; 0 means the private chat of From.
	ChatID int64
	// From is the sender, a registered user. It is ignored in channels
	// (the post comes from the channel) and when Anonymous is set.
	From int64
	// Anonymous sends as an anonymous group administrator: from is
	// GroupAnonymousBot and sender_chat the group.
	Anonymous bool
	Text      string
	// Entities, when nil, are the bot_command entities Telegram would
	// mark in Text ("/start", "/subscribe@nashra_bot" …).
	Entities []tgbotapi.MessageEntity
	// ReplyToMessageID makes the message a reply to one in the same chat.
	ReplyToMessageID int
	// Thread sends the message in that forum topic of the chat, which must
	// be open (see AddTopic).
	Thread int64
}

// PushMessage queues the update a new message makes: "message" in private
// chats and groups, "channel_post" in channels. It returns the update.
func (s *Server) PushMessage(in Incoming) tgbotapi.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	chatID := in.ChatID
	if chatID == 0 {
		chatID = in.From
	}
	c := s.mustChat("PushMessage", chatID)
	msg := wireMessage{Text: in.Text}
	kind := "message"
	sender := c.info
	switch {
	case c.info.Type == "channel":
		kind = "channel_post"
		msg.SenderChat = &sender
	case in.Anonymous:
		from := groupAnonymousBot
		msg.From, msg.SenderChat = &from, &sender
	default:
		from := s.mustUser("PushMessage", in.From).info
		msg.From = &from
	}
	if in.Entities == nil {
		msg.Entities = commandEntities(in.Text)
	}
	for _, e := range in.Entities {
		msg.Entities = append(msg.Entities, entity{Type: e.Type, Offset: e.Offset, Length: e.Length, URL: e.URL, Language: e.Language})
	}
	if in.Thread != 0 {
		if e := c.postable(in.Thread); e != nil {
			panic(fmt.Sprintf("telegramtest: PushMessage: %s (chat %d, thread %d)", e.description, chatID, in.Thread))
		}
		msg.MessageThreadID, msg.IsTopicMessage = in.Thread, true
	}
	if in.ReplyToMessageID != 0 {
		m := c.messages[in.ReplyToMessageID]
		if m == nil || m.deleted {
			panic(fmt.Sprintf("telegramtest: PushMessage: no message %d in chat %d to reply to", in.ReplyToMessageID, chatID))
		}
		reply := m.msg
		msg.ReplyToMessage = &reply
	}
	return s.push(kind, s.store(c, msg, nil).msg)
}

// commandEntities marks the bot commands in text as Telegram does: a '/'
// at the start or after white space, followed by letters, digits or '_',
// optionally addressed "@botname".
func commandEntities(text string) []entity {
	var ents []entity
	runes := []rune(text)
	offset := 0 // UTF-16
	for i := 0; i < len(runes); i++ {
		if runes[i] == '/' && (i == 0 || unicode.IsSpace(runes[i-1])) {
			j := i + 1
			for j < len(runes) && isCommandRune(runes[j]) {
				j++
			}
			if j > i+1 && j-i-1 <= 64 {
				if j < len(runes) && runes[j] == '@' {
					k := j + 1
					for k < len(runes) && isCommandRune(runes[k]) {
						k++
					}
					if k-j-1 >= 3 {
						j = k
					}
				}
				ents = append(ents, entity{Type: "bot_command", Offset: offset, Length: UTF16Len(string(runes[i:j]))})
				offset += UTF16Len(string(runes[i:j]))
				i = j - 1
				continue
			}
		}
		offset += utf16RuneLen(runes[i])
	}
	return ents
}

func isCommandRune(r rune) bool {
	return r < 0x80 && (isAlnum(byte(r)) || r == '_')
}

// Callback is a press on an inline keyboard button, for PushCallbackQuery.
type Callback struct {
	// ChatID is the chat of the message with the keyboard; 0 means the
	// private chat of From.
	ChatID int64
	// MessageID is the message carrying the keyboard.
	MessageID int
	// From is the user who pressed the button.
	From int64
	// Data is the button's callback_data.
	Data string
}

type callbackState struct {
	created  time.Time
	answered bool
}

// CallbackAnswer is an answerCallbackQuery call the fake accepted.
type CallbackAnswer struct {
	QueryID   string
	Text      string
	ShowAlert bool
	URL       string
	CacheTime int
	Time      time.Time
}

// PushCallbackQuery queues a callback_query update for a button press and
// returns it; the query id is in Update.CallbackQuery.ID. The query must be
// answered within CallbackQueryTTL, at most once.
func (s *Server) PushCallbackQuery(cb Callback) tgbotapi.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	chatID := cb.ChatID
	if chatID == 0 {
		chatID = cb.From
	}
	c := s.mustChat("PushCallbackQuery", chatID)
	m := c.messages[cb.MessageID]
	if m == nil || m.deleted {
		panic(fmt.Sprintf("telegramtest: PushCallbackQuery: no message %d in chat %d", cb.MessageID, chatID))
	}
	msg := m.msg
	id := strconv.FormatInt(s.bot.ID<<20+int64(len(s.callbacks)+1), 10)
	s.callbacks[id] = &callbackState{created: s.now()}
	return s.push("callback_query", wireCallbackQuery{
		ID:           id,
		From:         s.mustUser("PushCallbackQuery", cb.From).info,
		Message:      &msg,
		ChatInstance: strconv.FormatInt(s.bot.ID^chatID, 10), // stable per chat, as in Telegram
		Data:         cb.Data,
	})
}

// PushRaw queues an update of any kind the helpers do not build, with
// object marshalled as its payload (e.g. "edited_message", a struct or a
// json.RawMessage), and returns it.
func (s *Server) PushRaw(kind string, object any) tgbotapi.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.push(kind, object)
}

// Pending returns the number of updates not yet confirmed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates.pending)
}

func answerCallbackQuery(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.str("callback_query_id")
	q := s.callbacks[id]
	if q == nil || q.answered || s.now().Sub(q.created) > CallbackQueryTTL {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	if UTF16Len(req.str("text")) > 200 {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	q.answered = true
	s.answers = append(s.answers, CallbackAnswer{
		QueryID:   id,
		Text:      req.str("text"),
		ShowAlert: req.flag("show_alert"),
		URL:       req.str("url"),
		CacheTime: int(req.int("cache_time")),
		Time:      s.now(),
	})
	return true, nil
}

// CallbackAnswers returns the callback queries answered, in order.
func (s *Server) CallbackAnswers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackAnswer(nil), s.answers...)
}
