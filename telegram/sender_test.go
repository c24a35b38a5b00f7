package telegram_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// senderEnv is a Sender talking to the fake Telegram, with a site serving
// images.
type senderEnv struct {
	tg     *telegramtest.Server
	sender *telegram.Sender
	site   *imageSite
}

func newSenderEnv(t *testing.T) *senderEnv {
	t.Helper()
	tg := telegramtest.NewServer(telegramtest.WithLimits(telegramtest.Limits{}))
	t.Cleanup(tg.Close)
	site := newImageSite(t)
	api := telegram.NewAPI(tg.Token(), tg.Endpoint(), nil)
	r := telegram.NewRenderer("المعلومة", baghdad, catalog(), nil)
	return &senderEnv{tg: tg, site: site, sender: telegram.NewSender(api, r, telegram.WithSenderLogger(quietLog()), telegram.WithImageClient(site.srv.Client()))}
}

// imageSite serves images at paths, and records the paths asked for.
type imageSite struct {
	srv    *httptest.Server
	mu     sync.Mutex
	images map[string][]byte
	asked  []string
}

func newImageSite(t *testing.T) *imageSite {
	s := &imageSite{images: map[string][]byte{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.asked = append(s.asked, r.URL.Path)
		data, ok := s.images[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *imageSite) add(path string, w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images[path] = buf.Bytes()
	return buf.Bytes()
}

func (s *imageSite) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.asked...)
}

func privateTarget(id int64) delivery.Target {
	return delivery.Target{ChatID: id, Kind: nashra.ChatPrivate}
}

func TestSendErrorKinds(t *testing.T) {
	e := newSenderEnv(t)
	ctx := context.Background()
	owner := e.tg.AddUser(tgbotapi.User{ID: 3001}).ID
	fresh := func() int64 { return e.tg.AddUser(tgbotapi.User{}).ID }
	post := func(chat int64) error {
		_, err := e.sender.Post(ctx, delivery.Post{Target: privateTarget(chat), Articles: []nashra.Article{siteArticle()}})
		return err
	}
	reply := func(chat int64, text string) error {
		_, err := e.sender.Reply(ctx, delivery.Reply{ChatID: chat, Method: "sendMessage",
			Params: map[string]string{"chat_id": strconv.FormatInt(chat, 10), "text": text, "parse_mode": "HTML"}})
		return err
	}
	cases := []struct {
		name  string
		do    func() error
		kind  delivery.ErrorKind
		check func(*delivery.SendError) bool
	}{
		{"blocked", func() error { u := fresh(); e.tg.BlockBot(u); return post(u) }, delivery.ChatGone, nil},
		{"deactivated", func() error { u := fresh(); e.tg.DeactivateUser(u); return post(u) }, delivery.ChatGone, nil},
		{"kicked", func() error {
			g := e.tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "g"}).ID
			e.tg.KickBot(g, owner)
			return post(g)
		}, delivery.ChatGone, nil},
		{"chat not found", func() error { return post(-100999999) }, delivery.ChatGone, nil},
		{"channel without the right to post", func() error {
			c := e.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "c"}).ID
			e.tg.SetBotMember(c, tgbotapi.ChatMember{Status: "administrator"})
			return post(c)
		}, delivery.ChatGone, nil},
		{"migrated", func() error {
			g := e.tg.AddChat(tgbotapi.Chat{Type: "group", Title: "g"}).ID
			e.tg.MigrateGroup(g, owner)
			return post(g)
		}, delivery.Migrated, func(se *delivery.SendError) bool { return se.MigrateTo < -1000000000000 }},
		{"flood wait", func() error { e.tg.FailNext("sendMessage", 1, telegramtest.FloodWait(7)); return post(owner) },
			delivery.RateLimited, func(se *delivery.SendError) bool { return se.RetryAfter == 7*time.Second }},
		{"bad markup", func() error { return reply(owner, "<b>unclosed") }, delivery.BadMarkup, nil},
		{"server error", func() error { e.tg.FailNext("sendMessage", 1, telegramtest.ServerError()); return post(owner) },
			delivery.Transient, nil},
		{"proxy page", func() error { e.tg.FailNext("sendMessage", 1, telegramtest.BadGateway()); return post(owner) },
			delivery.Transient, func(se *delivery.SendError) bool { return strings.Contains(se.Reason, "502") }},
		{"timeout", func() error {
			e.tg.FailNext("sendMessage", 1, telegramtest.Hang())
			ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			_, err := e.sender.Post(ctx, delivery.Post{Target: privateTarget(owner), Articles: []nashra.Article{siteArticle()}})
			return err
		}, delivery.Transient, nil},
		{"other bad request", func() error { return reply(owner, "") }, delivery.Rejected, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.do()
			var se *delivery.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T) is not a *delivery.SendError", err, err)
			}
			if se.Kind != c.kind || (c.check != nil && !c.check(se)) {
				t.Fatalf("got %s (%+v), want %s", se.Kind, se, c.kind)
			}
			if strings.Contains(se.Error(), e.tg.Token()) || strings.Contains(se.Reason, e.tg.Token()) {
				t.Fatalf("the token leaks in %q", se.Error())
			}
		})
	}
}

// Transport errors name the request URL, which holds the token: none
// reaches an error message.
func TestTokenRedacted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	const token = "123456:SECRET-token-value"
	api := telegram.NewAPI(token, url+"/bot%s/%s", nil)
	_, err := api.Me(context.Background())
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("token in error: %v", err)
	}
	r := telegram.NewRenderer("المعلومة", baghdad, catalog(), nil)
	_, err = telegram.NewSender(api, r).Post(context.Background(), delivery.Post{Target: privateTarget(1), Articles: []nashra.Article{siteArticle()}})
	var se *delivery.SendError
	if !errors.As(err, &se) || se.Kind != delivery.Transient || strings.Contains(se.Error()+se.Reason, "SECRET") {
		t.Fatalf("post through a closed server: %v", err)
	}
}

func TestPostTextWithArticlePreview(t *testing.T) {
	e := newSenderEnv(t)
	u := e.tg.AddUser(tgbotapi.User{}).ID
	a := siteArticle()
	sent, err := e.sender.Post(context.Background(), delivery.Post{Target: delivery.Target{ChatID: u, Kind: nashra.ChatPrivate, Silent: true}, Articles: []nashra.Article{a}})
	if err != nil || sent.Caption || sent.MessageID == 0 {
		t.Fatalf("Post = %+v, %v", sent, err)
	}
	rec := e.tg.Sent(u)[0]
	if rec.Method != "sendMessage" || !rec.DisableNotification {
		t.Errorf("sent %s, silent %v", rec.Method, rec.DisableNotification)
	}
	var opts struct{ URL string }
	json.Unmarshal(rec.LinkPreviewOptions, &opts)
	if opts.URL != a.Link {
		t.Errorf("preview of %q, want the article %q", opts.URL, a.Link)
	}
	if b := rec.Keyboard.InlineKeyboard[0][0]; b.Text != "اقرأ المزيد" || b.URL == nil || *b.URL != a.Link {
		t.Errorf("button = %+v", b)
	}
}

// A private chat's posts — one article or a bundle — carry links of its
// own, so that its reader's clicks count once; a group's and a channel's
// are anonymous.
func TestPrivateChatsGetTheirOwnLinks(t *testing.T) {
	tg := telegramtest.NewServer(telegramtest.WithLimits(telegramtest.Limits{}))
	t.Cleanup(tg.Close)
	signer, _ := links.NewSigner([]byte("secret"))
	links := links.NewBuilder("https://nashra.example", signer, true)
	sender := telegram.NewSender(telegram.NewAPI(tg.Token(), tg.Endpoint(), nil), telegram.NewRenderer("المعلومة", baghdad, catalog(), links.Post),
		telegram.WithSenderLogger(quietLog()))
	a, b := siteArticle(), siteArticle()
	b.ID, b.Title = 8, "خبر آخر"
	reader := tg.AddUser(tgbotapi.User{}).ID
	group := tg.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "g"}).ID
	channel := tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "c"}).ID
	token := regexp.MustCompile(`/r/([A-Za-z0-9_-]+)`)
	for _, tc := range []struct {
		target delivery.Target
		medium nashra.Medium
		chat   int64
	}{
		{delivery.Target{ChatID: reader, Kind: nashra.ChatPrivate}, nashra.MediumTelegram, reader},
		{delivery.Target{ChatID: group, Kind: nashra.ChatSupergroup}, nashra.MediumTelegram, 0},
		{delivery.Target{ChatID: channel, Kind: nashra.ChatChannel}, nashra.MediumChannel, 0},
	} {
		for _, arts := range [][]nashra.Article{{a}, {a, b}} {
			if _, err := sender.Post(context.Background(), delivery.Post{Target: tc.target, Articles: arts}); err != nil {
				t.Fatal(err)
			}
		}
		sent := tg.Sent(tc.target.ChatID)
		if len(sent) != 2 {
			t.Fatalf("chat %d got %d messages", tc.target.ChatID, len(sent))
		}
		for _, m := range sent {
			found := token.FindAllStringSubmatch(m.Params["text"]+m.Params["reply_markup"], -1)
			if len(found) == 0 {
				t.Fatalf("no tracked link to chat %d: %+v", tc.target.ChatID, m.Params)
			}
			for _, f := range found {
				l, err := signer.Verify(f[1])
				if err != nil || l.Medium != tc.medium || l.ChatID != tc.chat {
					t.Errorf("a link to chat %d: %+v %v, want medium %s, chat %d", tc.target.ChatID, l, err, tc.medium, tc.chat)
				}
			}
		}
	}
}

func TestPostVideoPreviewsThePlayer(t *testing.T) {
	e := newSenderEnv(t)
	u := e.tg.AddUser(tgbotapi.User{}).ID
	a := siteArticle()
	a.ImageURL = e.site.srv.URL + "/thumb.png"
	a.Content = `<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>`
	if _, err := e.sender.Post(context.Background(), delivery.Post{Target: privateTarget(u), Articles: []nashra.Article{a}}); err != nil {
		t.Fatal(err)
	}
	rec := e.tg.Sent(u)[0]
	if rec.Method != "sendMessage" || !strings.Contains(string(rec.LinkPreviewOptions), "youtube.com/watch?v=dQw4w9WgXcQ") {
		t.Errorf("video post: %s with preview %s", rec.Method, rec.LinkPreviewOptions)
	}
}

func TestPhotoFileIDReused(t *testing.T) {
	e := newSenderEnv(t)
	e.site.add("/wp-content/uploads/lead.png", 800, 450)
	a := siteArticle()
	a.ImageURL = e.site.srv.URL + "/wp-content/uploads/lead.png"
	var chats []int64
	for range 3 {
		chats = append(chats, e.tg.AddUser(tgbotapi.User{}).ID)
	}
	for _, c := range chats {
		sent, err := e.sender.Post(context.Background(), delivery.Post{Target: privateTarget(c), Articles: []nashra.Article{a}})
		if err != nil || !sent.Caption {
			t.Fatalf("post to %d: %+v %v", c, sent, err)
		}
	}
	first := e.tg.Sent(chats[0])[0]
	if first.Method != "sendPhoto" || first.Params["photo"] != a.ImageURL {
		t.Fatalf("first post: %s with photo %q", first.Method, first.Params["photo"])
	}
	for _, c := range chats[1:] {
		rec := e.tg.Sent(c)[0]
		if rec.Params["photo"] != first.FileID {
			t.Errorf("chat %d got photo %q, want the first send's file_id %q", c, rec.Params["photo"], first.FileID)
		}
	}
	mustContain(t, first.Plain, "التقارب الروسي", "#مقالات")
}

func TestPhotoFallsBackToUploadThenText(t *testing.T) {
	e := newSenderEnv(t)
	ctx := context.Background()
	// A non-ASCII file name, which Telegram's fetcher refuses.
	data := e.site.add("/wp-content/uploads/صورة-الخبر.png", 640, 480)
	a := siteArticle()
	a.ImageURL = e.site.srv.URL + "/wp-content/uploads/صورة-الخبر.png"
	encoded := e.site.srv.URL + "/wp-content/uploads/%D8%B5%D9%88%D8%B1%D8%A9-%D8%A7%D9%84%D8%AE%D8%A8%D8%B1.png"
	e.tg.FailURL(encoded, "wrong file identifier/HTTP URL specified")
	u := e.tg.AddUser(tgbotapi.User{}).ID
	sent, err := e.sender.Post(ctx, delivery.Post{Target: privateTarget(u), Articles: []nashra.Article{a}})
	if err != nil || !sent.Caption {
		t.Fatalf("Post = %+v, %v", sent, err)
	}
	rec := e.tg.Sent(u)[0]
	f, ok := e.tg.File(rec.FileID)
	sum := sha256.Sum256(data)
	if rec.Method != "sendPhoto" || !ok || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("sent %s, file %+v: want the uploaded image", rec.Method, f)
	}
	if got := e.site.requests(); got[len(got)-1] != "/wp-content/uploads/صورة-الخبر.png" {
		t.Errorf("image site asked for %v", got)
	}

	// Neither Telegram nor nashra can fetch it: the post goes as text.
	b := siteArticle()
	b.ID = 8
	b.ImageURL = e.site.srv.URL + "/gone.png"
	e.tg.FailURL(b.ImageURL, "")
	sent, err = e.sender.Post(ctx, delivery.Post{Target: privateTarget(u), Articles: []nashra.Article{b}})
	if err != nil || sent.Caption {
		t.Fatalf("Post without a usable image = %+v, %v", sent, err)
	}
	if rec := e.tg.Sent(u)[1]; rec.Method != "sendMessage" || !strings.Contains(rec.Plain, "التقارب الروسي") {
		t.Errorf("fallback sent %s %q", rec.Method, rec.Plain)
	}
	// The rest of the fan-out does not try the image again.
	before := len(e.site.requests())
	v := e.tg.AddUser(tgbotapi.User{}).ID
	if _, err := e.sender.Post(ctx, delivery.Post{Target: privateTarget(v), Articles: []nashra.Article{b}}); err != nil {
		t.Fatal(err)
	}
	if after := len(e.site.requests()); after != before || e.tg.Sent(v)[0].Method != "sendMessage" {
		t.Errorf("image fetched again (%d → %d) or not sent as text", before, after)
	}
}

func TestLongInfographicSentAsDocument(t *testing.T) {
	e := newSenderEnv(t)
	e.site.add("/infographic.png", 400, 9000) // ratio 22.5: beyond sendPhoto
	a := siteArticle()
	a.Sections = []string{"infographics"}
	a.ImageURL = e.site.srv.URL + "/infographic.png"
	u := e.tg.AddUser(tgbotapi.User{}).ID
	sent, err := e.sender.Post(context.Background(), delivery.Post{Target: privateTarget(u), Articles: []nashra.Article{a}})
	if err != nil || !sent.Caption {
		t.Fatalf("Post = %+v, %v", sent, err)
	}
	rec := e.tg.Sent(u)[0]
	f, _ := e.tg.File(rec.FileID)
	if rec.Method != "sendDocument" || f.Kind != "document" || f.Size == 0 {
		t.Fatalf("sent %s, file %+v: want an uploaded document", rec.Method, f)
	}
	mustContain(t, rec.Plain, "#إنفوجرافيك")
}

func TestBundleEditDelete(t *testing.T) {
	e := newSenderEnv(t)
	ctx := context.Background()
	ch := e.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "قناة"}).ID
	target := delivery.Target{ChatID: ch, Kind: nashra.ChatChannel}
	a, b := siteArticle(), siteArticle()
	b.Title = "عنوان ثان"
	sent, err := e.sender.Post(ctx, delivery.Post{Target: target, Articles: []nashra.Article{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	rec := e.tg.Sent(ch)[0]
	mustContain(t, rec.Plain, "مقالان", "1. التقارب", "2. عنوان ثان")

	one, err := e.sender.Post(ctx, delivery.Post{Target: target, Articles: []nashra.Article{a}})
	if err != nil {
		t.Fatal(err)
	}
	a.Title = "عنوان مصحح"
	if err := e.sender.Edit(ctx, target, one.MessageID, one.Caption, a); err != nil {
		t.Fatal(err)
	}
	// Editing to the same text is no error.
	if err := e.sender.Edit(ctx, target, one.MessageID, one.Caption, a); err != nil {
		t.Fatalf("second identical edit: %v", err)
	}
	if cur := e.tg.Sent(ch)[1].Current(); !strings.Contains(cur.Plain, "عنوان مصحح") {
		t.Errorf("after the edit: %q", cur.Plain)
	}
	for range 2 {
		if err := e.sender.Delete(ctx, ch, sent.MessageID); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	if !e.tg.Sent(ch)[0].Deleted {
		t.Error("bundle not deleted")
	}
}

func TestUploadFloodWaitIsRateLimited(t *testing.T) {
	e := newSenderEnv(t)
	e.site.add("/tall.png", 300, 9000)
	a := siteArticle()
	a.ImageURL = e.site.srv.URL + "/tall.png"
	u := e.tg.AddUser(tgbotapi.User{}).ID
	e.tg.FailNext("sendDocument", 1, telegramtest.FloodWait(3))
	_, err := e.sender.Post(context.Background(), delivery.Post{Target: privateTarget(u), Articles: []nashra.Article{a}})
	var se *delivery.SendError
	if !errors.As(err, &se) || se.Kind != delivery.RateLimited || se.RetryAfter != 3*time.Second {
		t.Fatalf("429 on an upload: %v", err)
	}
}

// After Telegram refused a post's HTML, the engine asks for it plain: the
// same words, no markup, no parse_mode.
func TestPlainPost(t *testing.T) {
	e := newSenderEnv(t)
	u := e.tg.AddUser(tgbotapi.User{}).ID
	a := siteArticle()
	a.Title = `عنوان فيه <وسم> & "اقتباس"`
	if _, err := e.sender.Post(context.Background(), delivery.Post{Target: privateTarget(u), Articles: []nashra.Article{a}, Plain: true}); err != nil {
		t.Fatal(err)
	}
	rec := e.tg.Sent(u)[0]
	if rec.ParseMode != "" || strings.Contains(rec.Text, "<b>") || strings.Contains(rec.Text, "&amp;") {
		t.Fatalf("plain post sent with markup: parse_mode %q, text %q", rec.ParseMode, rec.Text)
	}
	mustContain(t, rec.Plain, `عنوان فيه <وسم> & "اقتباس"`, "#مقالات")
}
