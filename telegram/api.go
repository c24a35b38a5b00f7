package telegram

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Timeouts of calls to the Bot API. Every request is also bounded by the
// caller's context: the library itself carries none.
const (
	callTimeout   = 20 * time.Second
	uploadTimeout = 90 * time.Second
	pollTimeout   = 50 * time.Second // getUpdates long-poll, in seconds on the wire
)

// API is nashra's handle on the Bot API: the client library driven with a
// context on every call, through an http.Client with timeouts, with errors
// that never carry the token.
type API struct {
	token    string
	endpoint string
	http     *http.Client

	mu  sync.Mutex // serialises connecting
	lib atomic.Pointer[tgbotapi.BotAPI]
}

// NewAPI prepares a Bot API client. It does not call Telegram: the
// library's constructor calls getMe, which happens on first use, so that a
// Telegram outage at boot delays the bot instead of stopping nashra.
// endpoint is the library's format ("https://api.telegram.org/bot%s/%s");
// client may be nil for a default with timeouts.
func NewAPI(token, endpoint string, client *http.Client) *API {
	if client == nil {
		client = NewHTTPClient()
	}
	return &API{token: token, endpoint: endpoint, http: client}
}

// NewHTTPClient returns the client nashra gives the Bot API library: bounded
// dial, TLS and overall times (long above the long-poll wait).
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout: pollTimeout + 60*time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}

// Me returns the bot's own user, connecting (getMe) when not done yet.
func (a *API) Me(ctx context.Context) (tgbotapi.User, error) {
	lib, err := a.connect(ctx)
	if err != nil {
		return tgbotapi.User{}, err
	}
	return lib.Self, nil
}

func (a *API) connect(ctx context.Context) (*tgbotapi.BotAPI, error) {
	if lib := a.lib.Load(); lib != nil {
		return lib, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if lib := a.lib.Load(); lib != nil {
		return lib, nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	lib, err := tgbotapi.NewBotAPIWithClient(a.token, a.endpoint, a.doer(ctx))
	if err != nil {
		return nil, fmt.Errorf("telegram getMe: %w", err)
	}
	a.lib.Store(lib)
	return lib, nil
}

// with returns a copy of the library whose requests carry ctx. The copy is
// cheap and shares nothing mutable that nashra uses.
func (a *API) with(ctx context.Context) (*tgbotapi.BotAPI, error) {
	lib, err := a.connect(ctx)
	if err != nil {
		return nil, err
	}
	c := *lib
	c.Client = a.doer(ctx)
	return &c, nil
}

// Call sends a Bot API method with raw parameters, bounded by ctx and the
// default call timeout.
func (a *API) Call(ctx context.Context, method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	lib, err := a.with(ctx)
	if err != nil {
		return nil, err
	}
	return lib.MakeRequest(method, params)
}

// Upload sends a method with files as multipart/form-data.
func (a *API) Upload(ctx context.Context, method string, params tgbotapi.Params, files []tgbotapi.RequestFile) (*tgbotapi.APIResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	lib, err := a.with(ctx)
	if err != nil {
		return nil, err
	}
	return lib.UploadFiles(method, params, files)
}

// callInto calls method and decodes its result into out.
func (a *API) callInto(ctx context.Context, method string, params tgbotapi.Params, out any) error {
	resp, err := a.Call(ctx, method, params)
	if err != nil {
		return fmt.Errorf("telegram %s: %w", method, err)
	}
	if err := json.Unmarshal(resp.Result, out); err != nil {
		return fmt.Errorf("telegram %s: decode result: %w", method, err)
	}
	return nil
}

// Updates long-polls for updates after offset. It decodes them itself:
// the library's GetUpdates would drop their forum topics.
func (a *API) Updates(ctx context.Context, offset int, allowed []string) ([]Update, error) {
	ctx, cancel := context.WithTimeout(ctx, pollTimeout+15*time.Second)
	defer cancel()
	params := tgbotapi.Params{"timeout": strconv.Itoa(int(pollTimeout / time.Second))}
	params.AddNonZero("offset", offset)
	if err := params.AddInterface("allowed_updates", allowed); err != nil {
		return nil, err
	}
	var out []Update
	if err := a.callInto(ctx, "getUpdates", params, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ChatMember returns a member's status in a chat (a user, or the bot).
func (a *API) ChatMember(ctx context.Context, chat string, userID int64) (tgbotapi.ChatMember, error) {
	var m tgbotapi.ChatMember
	err := a.callInto(ctx, "getChatMember", tgbotapi.Params{"chat_id": chat, "user_id": fmt.Sprint(userID)}, &m)
	return m, err
}

// MemberCount returns how many members a chat has: a channel's
// subscribers.
func (a *API) MemberCount(ctx context.Context, chat string) (int, error) {
	var n int
	err := a.callInto(ctx, "getChatMemberCount", tgbotapi.Params{"chat_id": chat}, &n)
	return n, err
}

// Chat resolves a chat, such as a channel's @username, to its id.
func (a *API) Chat(ctx context.Context, chat string) (tgbotapi.Chat, error) {
	var c tgbotapi.Chat
	err := a.callInto(ctx, "getChat", tgbotapi.Params{"chat_id": chat}, &c)
	return c, err
}

// doer is the library's HTTPClient: it puts ctx on each request, refuses
// answers that are not JSON (an HTML error page from a proxy) with their
// status, and strips the token from transport errors.
func (a *API) doer(ctx context.Context) tgbotapi.HTTPClient {
	return ctxDoer{ctx: ctx, client: a.http, token: a.token}
}

type ctxDoer struct {
	ctx    context.Context
	client *http.Client
	token  string
}

func (d ctxDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req.WithContext(d.ctx))
	if err != nil {
		return nil, redactErr(err, d.token)
	}
	// The Bot API always answers a JSON object; anything else came from
	// something in between and says only its status.
	br := bufio.NewReader(resp.Body)
	head, _ := br.Peek(64)
	if trimmed := bytes.TrimLeft(head, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		io.Copy(io.Discard, io.LimitReader(br, 4<<10))
		resp.Body.Close()
		return nil, &HTTPError{StatusCode: resp.StatusCode}
	}
	resp.Body = readCloser{br, resp.Body}
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// HTTPError is an answer from the way to Telegram that was not the Bot
// API's JSON, such as a proxy's 502 page.
type HTTPError struct {
	StatusCode int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("telegram: HTTP %d with a body that is not JSON", e.StatusCode)
}

// redactErr removes the token from an error of the HTTP client, whose
// *url.Error names the request URL, itself holding the token. The wrapped
// cause is kept so that timeouts and cancellations stay recognisable.
func redactErr(err error, token string) error {
	if token == "" {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: strings.ReplaceAll(ue.URL, token, "<token>"), Err: redactErr(ue.Err, token)}
	}
	if strings.Contains(err.Error(), token) {
		return errors.New(strings.ReplaceAll(err.Error(), token, "<token>"))
	}
	return err
}
