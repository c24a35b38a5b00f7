package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/outbox"
)

// Sender sends posts and replies to Telegram for the delivery engine. It is
// the only part of nashra that calls Telegram's send methods.
type Sender struct {
	api    *API
	render *Renderer
	images *imageFetcher
	files  *fileCache
	log    *slog.Logger
}

var _ delivery.Sender = (*Sender)(nil)

// SenderOption changes how a Sender is built.
type SenderOption func(*Sender)

// WithImageClient sets the client that downloads images Telegram could not
// fetch itself (NewImageClient otherwise).
func WithImageClient(c *http.Client) SenderOption {
	return func(s *Sender) { s.images.client = c }
}

// WithSenderLogger sets the logger (slog.Default otherwise).
func WithSenderLogger(l *slog.Logger) SenderOption { return func(s *Sender) { s.log = l } }

// NewSender returns a Sender posting articles rendered by r.
func NewSender(api *API, r *Renderer, opts ...SenderOption) *Sender {
	s := &Sender{
		api: api, render: r, log: slog.Default(),
		images: &imageFetcher{client: NewImageClient(), limit: maxImageBytes},
		files:  newFileCache(256),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Post sends one article as a full post (a photo with a caption when it
// has a usable image, else a text whose preview shows the article or its
// video), or several as one message listing them.
func (s *Sender) Post(ctx context.Context, p delivery.Post) (delivery.Sent, error) {
	if len(p.Articles) == 0 {
		return delivery.Sent{}, &delivery.SendError{Kind: delivery.Rejected, Reason: "post without articles"}
	}
	medium, chat := Audience(p.Target)
	if len(p.Articles) > 1 {
		params := s.base(p.Target)
		setBody(params, "text", s.render.Bundle(p.Articles, p.Reasons, medium, chat), p.Plain)
		params["link_preview_options"] = NoPreview
		m, err := s.send(ctx, "sendMessage", params)
		return delivery.Sent{MessageID: m.MessageID}, err
	}
	a := p.Articles[0]
	if a.ImageURL != "" && VideoLink(a.Content) == "" && IsWebURL(a.ImageURL) {
		sent, err := s.postImage(ctx, p, a, medium, chat)
		if !errors.Is(err, errImageUnusable) {
			return sent, err
		}
		// A post is never lost for its picture.
		s.log.Warn("telegram: image unusable, posting text", "article_id", a.ID, "chat_id", p.Target.ChatID, "image_url", a.ImageURL)
	}
	params := s.base(p.Target)
	setBody(params, "text", s.render.PostFor(a, medium, MaxText, Why(p.Target)), p.Plain)
	params["link_preview_options"] = previewOf(a)
	SetMarkup(params, s.postKeyboard(a, medium, chat))
	m, err := s.send(ctx, "sendMessage", params)
	return delivery.Sent{MessageID: m.MessageID}, err
}

// Audience says how a message to t is shown: in a channel, or in a group
// or a private chat — and for a private chat, to whom, whose links are
// then their own.
func Audience(t delivery.Target) (medium nashra.Medium, chat int64) {
	switch t.Kind {
	case nashra.ChatChannel:
		return nashra.MediumChannel, 0
	case nashra.ChatPrivate:
		return nashra.MediumTelegram, t.ChatID
	}
	return nashra.MediumTelegram, 0
}

// Why is the reason a post to t says it came for: none in a channel,
// whose readers did not choose what it follows, its administrators did.
func Why(t delivery.Target) string {
	if t.Kind == nashra.ChatChannel {
		return ""
	}
	return t.Reason
}

// setBody sets a post's text or caption: HTML, or when plain (Telegram
// refused the HTML once) the text it shows, without parse_mode.
func setBody(params tgbotapi.Params, key, html string, plain bool) {
	if plain {
		delete(params, "parse_mode")
		params[key] = Visible(html)
		return
	}
	params[key] = html
}

// previewOf shows the article itself under a text post — its canonical
// link, not the tracked one the button carries — or its video's player.
func previewOf(a nashra.Article) string {
	u := a.Link
	if v := VideoLink(a.Content); v != "" {
		u = v
	}
	if !IsWebURL(u) {
		return NoPreview
	}
	b, _ := json.Marshal(struct {
		URL string `json:"url"`
	}{u})
	return string(b)
}

// base returns the parameters every post has.
func (s *Sender) base(t delivery.Target) tgbotapi.Params {
	p := tgbotapi.Params{"chat_id": strconv.FormatInt(t.ChatID, 10), "parse_mode": tgbotapi.ModeHTML}
	if t.ThreadID != 0 {
		p["message_thread_id"] = strconv.FormatInt(t.ThreadID, 10)
	}
	if t.Silent {
		p["disable_notification"] = "true"
	}
	return p
}

// Reply sends a reply the bot queued.
func (s *Sender) Reply(ctx context.Context, r delivery.Reply) (delivery.Sent, error) {
	resp, err := s.call(ctx, r.Method, r.Params)
	if err != nil {
		if notModified(err) {
			return delivery.Sent{}, nil // the same keyboard tapped twice
		}
		return delivery.Sent{}, Classify(err)
	}
	var m struct {
		MessageID int `json:"message_id"`
	}
	if len(resp.Result) > 0 && resp.Result[0] == '{' {
		if err := json.Unmarshal(resp.Result, &m); err != nil {
			return delivery.Sent{}, &delivery.SendError{Kind: delivery.Transient, Reason: "undecodable answer", Err: err}
		}
	}
	return delivery.Sent{MessageID: m.MessageID}, nil
}

// Edit replaces a sent post's text or caption with the article's current
// title and summary.
func (s *Sender) Edit(ctx context.Context, t delivery.Target, messageID int, caption bool, a nashra.Article) error {
	medium, chat := Audience(t)
	p := tgbotapi.Params{
		"chat_id":    strconv.FormatInt(t.ChatID, 10),
		"message_id": strconv.Itoa(messageID),
		"parse_mode": tgbotapi.ModeHTML,
	}
	SetMarkup(p, s.postKeyboard(a, medium, chat))
	method := "editMessageText"
	if caption {
		method = "editMessageCaption"
		p["caption"] = s.render.PostFor(a, medium, MaxCaption, t.Reason)
	} else {
		p["text"] = s.render.PostFor(a, medium, MaxText, t.Reason)
		p["link_preview_options"] = previewOf(a)
	}
	if _, err := s.call(ctx, method, p); err != nil && !notModified(err) {
		return Classify(err)
	}
	return nil
}

// Delete removes a message sent earlier; one already gone is no error.
func (s *Sender) Delete(ctx context.Context, chatID int64, messageID int) error {
	_, err := s.call(ctx, "deleteMessage", tgbotapi.Params{
		"chat_id": strconv.FormatInt(chatID, 10), "message_id": strconv.Itoa(messageID)})
	if err != nil && !strings.Contains(strings.ToLower(err.Error()), "message to delete not found") {
		return Classify(err)
	}
	return nil
}

// send calls a send method and decodes the message it returns.
func (s *Sender) send(ctx context.Context, method string, params tgbotapi.Params) (tgbotapi.Message, error) {
	resp, err := s.call(ctx, method, params)
	return decodeSent(resp, err)
}

// call makes one request to Telegram once the dispatcher's bot-wide limit
// lets it; see admit.
func (s *Sender) call(ctx context.Context, method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	ctx, sent, err := s.admit(ctx)
	if err != nil {
		return nil, err
	}
	defer sent()
	return s.api.Call(ctx, method, params)
}

// admit waits for the dispatcher's bot-wide limit to let a request go, and
// returns the context to make it with: the request is counted when it has
// been written out, after any new connection's handshake and an upload's
// body, as Telegram counts it when it arrives. Every request counts, tries
// that fail included. The library's first getMe goes before, uncounted.
func (s *Sender) admit(ctx context.Context) (context.Context, func(), error) {
	if _, err := s.api.connect(ctx); err != nil {
		return nil, nil, err
	}
	sent, err := outbox.Admit(ctx)
	if err != nil {
		return nil, nil, err
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { sent() },
	}), sent, nil
}

func decodeSent(resp *tgbotapi.APIResponse, err error) (tgbotapi.Message, error) {
	if err != nil {
		return tgbotapi.Message{}, Classify(err)
	}
	var m tgbotapi.Message
	if err := json.Unmarshal(resp.Result, &m); err != nil {
		return m, &delivery.SendError{Kind: delivery.Transient, Reason: "undecodable answer", Err: err}
	}
	return m, nil
}

func notModified(err error) bool {
	return strings.Contains(err.Error(), "message is not modified")
}

// Classify turns what Telegram (or the way to it) answered into the kind of
// failure the dispatcher acts on.
func Classify(err error) *delivery.SendError {
	var se *delivery.SendError
	if errors.As(err, &se) {
		return se
	}
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		e := &delivery.SendError{Reason: te.Message, Err: err}
		code := te.Code
		if code == 0 {
			// Uploads come back without the code: Telegram's description
			// starts with its status text.
			code = codeOf(te.Message)
		}
		desc := strings.ToLower(te.Message)
		switch {
		case code == http.StatusTooManyRequests || te.RetryAfter > 0:
			e.Kind = delivery.RateLimited
			e.RetryAfter = max(time.Duration(te.RetryAfter)*time.Second, time.Second)
		case te.MigrateToChatID != 0:
			e.Kind, e.MigrateTo = delivery.Migrated, te.MigrateToChatID
		case strings.Contains(desc, "can't parse entities"):
			e.Kind = delivery.BadMarkup
		case strings.Contains(desc, "message thread not found"), strings.Contains(desc, "topic_closed"),
			strings.Contains(desc, "topic_deleted"):
			e.Kind = delivery.TopicGone
		case code == http.StatusForbidden, code == http.StatusBadRequest && chatGone(desc):
			e.Kind = delivery.ChatGone
		case code == http.StatusBadRequest:
			e.Kind = delivery.Rejected
		default:
			// 5xx, and 401/404 (a wrong token or endpoint: the operator's
			// mistake, not the message's) are worth retrying.
			e.Kind = delivery.Transient
		}
		return e
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return &delivery.SendError{Kind: delivery.Transient, Reason: fmt.Sprintf("HTTP %d, not JSON", he.StatusCode), Err: err}
	}
	return &delivery.SendError{Kind: delivery.Transient, Reason: err.Error(), Err: err}
}

// chatGone recognises the 400 answers that mean the bot can no longer
// write to the chat at all.
func chatGone(desc string) bool {
	for _, s := range []string{"chat not found", "peer_id_invalid", "channel_private", "group chat was deactivated",
		"need administrator rights in the channel chat", "not enough rights to send", "have no rights to send",
		"chat_write_forbidden", "user not found"} {
		if strings.Contains(desc, s) {
			return true
		}
	}
	return false
}

func codeOf(desc string) int {
	switch {
	case strings.HasPrefix(desc, "Bad Request"):
		return http.StatusBadRequest
	case strings.HasPrefix(desc, "Forbidden"):
		return http.StatusForbidden
	case strings.HasPrefix(desc, "Too Many Requests"):
		return http.StatusTooManyRequests
	case strings.HasPrefix(desc, "Unauthorized"):
		return http.StatusUnauthorized
	case strings.HasPrefix(desc, "Not Found"):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}
