package telegramtest_test

import (
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/telegram/telegramtest"
)

func TestParseHTML(t *testing.T) {
	tests := []struct {
		in, plain, err string
	}{
		{in: "plain", plain: "plain"},
		{in: "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>", plain: "bsieunskd"},
		{in: `<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>`, plain: "xy"},
		{in: `<a href="https://almaalouma.net/?a=1&amp;b=2">link</a>`, plain: "link"},
		{in: `<pre><code class="language-go">x := 1</code></pre><code>c</code>`, plain: "x := 1c"},
		{in: `<blockquote>q</blockquote><blockquote expandable>e</blockquote>`, plain: "qe"},
		{in: `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`, plain: "👍"},
		{in: "<b><i>nested</i></b>", plain: "nested"},
		{in: "<B>upper</B>", plain: "upper"},
		{in: "<b>x</>", plain: "x"},
		{in: "&lt;&gt;&amp;&quot;", plain: `<>&"`},
		{in: "&#1605;&#x644;&#128512;", plain: "مل😀"},
		{in: "AT&T & co", plain: "AT&T & co"},
		{in: "<div>x</div>", err: `Unsupported start tag "div" at byte offset 0`},
		{in: "a <br> b", err: `Unsupported start tag "br" at byte offset 2`},
		{in: "1 < 2", err: `Unsupported start tag "" at byte offset 2`},
		{in: "x <", err: "Unclosed start tag at byte offset 2"},
		{in: "<b>open", err: `Can't find end tag corresponding to start tag "b"`},
		{in: "<b><i>x</b></i>", err: `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{in: "x</b>", err: "Unexpected end tag at byte offset 1"},
		{in: "&nbsp;", err: `Unknown entity "nbsp" at byte offset 0`},
		{in: "a&copy;", err: `Unknown entity "copy" at byte offset 1`},
		{in: `<span class="bold">x</span>`, err: `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{in: `<a href>x</a>`, err: `Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0`},
		{in: `<tg-emoji>x</tg-emoji>`, err: "Invalid custom emoji identifier specified"},
	}
	for _, tt := range tests {
		plain, err := telegramtest.ParseHTML(tt.in)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("ParseHTML(%q) error = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || plain != tt.plain):
			t.Errorf("ParseHTML(%q) = %q, %v, want %q", tt.in, plain, err, tt.plain)
		}
	}
}

func TestUTF16Len(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "مرحبا": 5, "😀": 2, "a😀ب": 4} {
		if got := telegramtest.UTF16Len(s); got != want {
			t.Errorf("UTF16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestLengths checks the limits are counted in UTF-16 code units of the
// text after parsing: tags and references do not count, emoji count twice.
func TestLengths(t *testing.T) {
	srv, bot := newBot(t, telegramtest.WithLimits(telegramtest.Limits{}))
	u := srv.AddUser(tgbotapi.User{})

	// 2046 emoji (4092 units) + "مرحب" (4) = 4096, wrapped in tags and with
	// an &amp; standing for one unit in place of the last letter.
	body := strings.Repeat("😀", 2046) + "مرح"
	ok := htmlMessage(u.ID, "<b>"+body+"</b>&amp;")
	if m, err := bot.Send(ok); err != nil || telegramtest.UTF16Len(m.Text) != 4096 {
		t.Fatalf("4096 units: %v (len %d)", err, telegramtest.UTF16Len(m.Text))
	}
	_, err := bot.Send(htmlMessage(u.ID, "<b>"+body+"</b>&amp;!"))
	if e := apiError(t, err); e.Code != 400 || e.Message != "Bad Request: message is too long" {
		t.Errorf("4097 units: %+v", e)
	}
	// Surrounding white space is stripped before counting, as Telegram does.
	if _, err := bot.Send(htmlMessage(u.ID, "\n"+body+"&amp;\n\n")); err != nil {
		t.Errorf("4096 units with trailing newlines: %v", err)
	}

	photo := tgbotapi.NewPhoto(u.ID, tgbotapi.FileURL("https://almaalouma.net/a.jpg"))
	photo.ParseMode = tgbotapi.ModeHTML
	photo.Caption = "<i>" + strings.Repeat("ع", 1023) + "</i>&quot;"
	if _, err := bot.Send(photo); err != nil {
		t.Errorf("caption 1024: %v", err)
	}
	photo.Caption += "x"
	_, err = bot.Send(photo)
	if e := apiError(t, err); e.Code != 400 || e.Message != "Bad Request: message caption is too long" {
		t.Errorf("caption 1025: %+v", e)
	}
}

func TestEntitiesReturned(t *testing.T) {
	srv, bot := newBot(t)
	u := srv.AddUser(tgbotapi.User{})
	m, err := bot.Send(htmlMessage(u.ID, `😀 <b>bold <i>both</i></b> <pre><code class="language-go">go</code></pre>`))
	if err != nil {
		t.Fatal(err)
	}
	want := []tgbotapi.MessageEntity{
		{Type: "bold", Offset: 3, Length: 9},
		{Type: "italic", Offset: 8, Length: 4},
		{Type: "pre", Offset: 13, Length: 2, Language: "go"},
	}
	if len(m.Entities) != len(want) {
		t.Fatalf("entities = %+v", m.Entities)
	}
	for i := range want {
		if m.Entities[i] != want[i] {
			t.Errorf("entity %d = %+v, want %+v", i, m.Entities[i], want[i])
		}
	}
}
