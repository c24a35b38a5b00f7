// Package telegramtest is a strict fake of the Telegram Bot API, in the
// spirit of net/http/httptest: a real HTTP server on the loopback interface
// that speaks the Bot API's wire protocol, so code under test talks to it
// through the real client library (tgbotapi) exactly as it would talk to
// api.telegram.org.
//
// It is strict on purpose: it enforces Telegram's rules (the HTML subset of
// parse_mode, lengths in UTF-16 code units, flood limits with retry_after,
// the errors of blocked users, kicked bots and migrated groups) and answers
// with Telegram's status codes and bodies, so a test that passes against it
// does not fail against Telegram for those reasons.
//
// A test creates a Server, registers the users and chats it needs, points the
// code under test at Endpoint with Token, then reads what was sent (Sent),
// pushes updates (PushMessage, PushCallbackQuery, …), injects faults
// (FailNext) and reads the flood statistics (Stats). All methods are safe for
// concurrent use.
//
// Supported methods: getMe, getUpdates, setWebhook, deleteWebhook,
// getWebhookInfo, sendMessage, sendPhoto, sendDocument, copyMessage,
// sendChatAction, editMessageText, editMessageCaption,
// editMessageReplyMarkup, deleteMessage, answerCallbackQuery, setMyCommands,
// getMyCommands, deleteMyCommands, getChat, getChatMember and
// getChatAdministrators. Any other method answers 404 Not Found, as Telegram
// does for unknown methods.
//
// parse_mode=HTML is the only parse mode: Markdown and MarkdownV2 are
// rejected with "Bad Request: unsupported parse_mode" naming the fake.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// DefaultToken is the bot token a Server accepts unless WithToken says
// otherwise. Like a real token it starts with the bot's user id.
const DefaultToken = "7000000001:AAHtelegramtestFakeToken0123456789ab"

// Server is a fake Telegram Bot API server. Create it with NewServer and
// stop it with Close.
type Server struct {
	http      *httptest.Server
	token     string
	nowFn     func() time.Time
	done      chan struct{} // closed by Close: ends long polls and hung requests
	closeOnce sync.Once
	deliverMu sync.Mutex // one webhook delivery at a time, in order

	mu         sync.Mutex
	skew       time.Duration // added to nowFn by Advance
	bot        wireUser
	limits     Limits
	paid       bool
	flood      floodState
	stats      Stats
	latencyMin time.Duration
	latencyMax time.Duration
	faults     []*faultRule
	users      map[int64]*user
	chats      map[int64]*chat
	usernames  map[string]int64 // lower-case public username → chat id
	lastID     int64            // ids handed out to users and chats registered without one
	files      map[string]*fileInfo
	urlFiles   map[string]*fileInfo
	badURLs    map[string]string
	fileSeq    int
	updates    updateQueue
	webhook    webhookState
	callbacks  map[string]*callbackState
	answers    []CallbackAnswer
	commands   map[string][]tgbotapi.BotCommand
	profile    map[string]string // setMyDescription and setMyShortDescription, by kind and language
	records    []*Record
}

// Option configures a Server at construction.
type Option func(*Server)

// WithToken sets the only token the server accepts. When it starts with a
// number followed by ':' (as real tokens do) that number becomes the bot's id.
func WithToken(token string) Option {
	return func(s *Server) {
		s.token = token
		if id, err := strconv.ParseInt(strings.Split(token, ":")[0], 10, 64); err == nil {
			s.bot.ID = id
		}
	}
}

// WithBot sets the bot's identity returned by getMe (IsBot is forced true).
// A zero ID keeps the id taken from the token.
func WithBot(u tgbotapi.User) Option {
	return func(s *Server) {
		id := s.bot.ID
		s.bot = userToWire(u)
		s.bot.IsBot = true
		if s.bot.ID == 0 {
			s.bot.ID = id
		}
	}
}

// WithLimits replaces DefaultLimits.
func WithLimits(l Limits) Option {
	return func(s *Server) { s.limits = l }
}

// WithLatency delays every API call by a random time in [min, max], as a
// distant server would: the call arrives (and counts against the flood
// limits) that long after the fake received it; see SetLatency.
func WithLatency(min, max time.Duration) Option {
	return func(s *Server) { s.latencyMin, s.latencyMax = min, max }
}

// WithClock replaces time.Now as the source of the fake's time (message
// dates, message age, flood windows, callback query expiry). Advance still
// moves it forward.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.nowFn = now }
}

// NewServer starts a fake Bot API server on 127.0.0.1 with DefaultToken, a
// bot named @nashra_test_bot and DefaultLimits.
func NewServer(opts ...Option) *Server {
	s := &Server{
		token:     DefaultToken,
		nowFn:     time.Now,
		done:      make(chan struct{}),
		bot:       wireUser{ID: 7000000001, IsBot: true, FirstName: "Nashra Test", Username: "nashra_test_bot"},
		limits:    DefaultLimits(),
		users:     map[int64]*user{},
		chats:     map[int64]*chat{},
		usernames: map[string]int64{},
		files:     map[string]*fileInfo{},
		urlFiles:  map[string]*fileInfo{},
		badURLs:   map[string]string{},
		callbacks: map[string]*callbackState{},
		commands:  map[string][]tgbotapi.BotCommand{},
		profile:   map[string]string{},
		stats:     Stats{Calls: map[string]int{}, ChatViolations: map[int64]int{}},
		flood:     floodState{chats: map[int64]*chatFlood{}},
		updates:   newUpdateQueue(),
	}
	for _, opt := range opts {
		opt(s)
	}
	s.http = httptest.NewServer(s)
	return s
}

// Endpoint returns the API endpoint in the client library's format, for
// tgbotapi.NewBotAPIWithAPIEndpoint or NASHRA_TELEGRAM_API.
func (s *Server) Endpoint() string { return s.http.URL + "/bot%s/%s" }

// URL returns the server's base URL, http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.http.URL }

// Token returns the bot token the server accepts.
func (s *Server) Token() string { return s.token }

// Bot returns the bot's own user, as getMe answers it.
func (s *Server) Bot() tgbotapi.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bot.api()
}

// BotAPI returns a client of the real library bound to this server, made
// with client (nil means a client with a 10 s timeout). The library calls
// getMe at once.
func (s *Server) BotAPI(client tgbotapi.HTTPClient) (*tgbotapi.BotAPI, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return tgbotapi.NewBotAPIWithClient(s.token, s.Endpoint(), client)
}

// Close ends pending long polls and hung requests, then shuts the server
// down.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.http.Close()
	})
}

// Now returns the fake's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// Advance moves the fake's clock forward by d: messages age (deleteMessage
// refuses those older than 48 h), flood windows and retry_after penalties
// pass, callback queries expire. Real time keeps flowing too.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew += d
}

// now must be called with s.mu held.
func (s *Server) now() time.Time { return s.nowFn().Add(s.skew) }

// handler serves one API method. It runs without s.mu held.
type handler func(s *Server, req *request) (any, *apiError)

// ServeHTTP serves the Bot API under /bot<token>/<method>. Method names are
// case-insensitive, as in Telegram.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, name, found := strings.Cut(rest, "/")
	if !ok || !found {
		writeError(w, errNotFound)
		return
	}
	if token != s.token {
		writeError(w, &apiError{code: http.StatusUnauthorized, description: "Unauthorized"})
		return
	}
	m, known := methods[strings.ToLower(name)]
	s.mu.Lock()
	if known {
		s.stats.Calls[m.name]++
	} else {
		s.stats.Calls[name]++
	}
	s.mu.Unlock()
	if !known {
		writeError(w, errNotFound)
		return
	}
	req, aerr := parseRequest(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	// The request arrives, and counts against the flood limits, after the
	// latency drawn for it, whenever the fake gets round to handling it.
	latency := s.latency()
	req.arrived = s.Now().Add(latency)
	if !s.sleep(req, latency) {
		return
	}
	if f := s.takeFault(m.name, req); f != nil {
		s.serveFault(w, req, m.fn, f)
		return
	}
	result, aerr := m.fn(s, req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, response{Ok: true, Result: result})
}

// response is the Bot API's envelope.
type response struct {
	Ok          bool                `json:"ok"`
	Result      any                 `json:"result,omitempty"`
	ErrorCode   int                 `json:"error_code,omitempty"`
	Description string              `json:"description,omitempty"`
	Parameters  *responseParameters `json:"parameters,omitempty"`
}

type responseParameters struct {
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
	RetryAfter      int   `json:"retry_after,omitempty"`
}

// apiError is an error answer: the HTTP status equals error_code, as in
// Telegram.
type apiError struct {
	code        int
	description string
	retryAfter  int
	migrateTo   int64
}

var errNotFound = &apiError{code: http.StatusNotFound, description: "Not Found"}

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, description: "Bad Request: " + fmt.Sprintf(format, args...)}
}

func forbidden(msg string) *apiError {
	return &apiError{code: http.StatusForbidden, description: "Forbidden: " + msg}
}

func (e *apiError) response() response {
	resp := response{ErrorCode: e.code, Description: e.description}
	if e.retryAfter != 0 || e.migrateTo != 0 {
		resp.Parameters = &responseParameters{RetryAfter: e.retryAfter, MigrateToChatID: e.migrateTo}
	}
	return resp
}

func writeError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.code, e.response()) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // Telegram writes '<' and '&' as they are
	_ = enc.Encode(v)
}
