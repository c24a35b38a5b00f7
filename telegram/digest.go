package telegram

import (
	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
)

// more links the Telegram digest to its archive page, where what did not
// fit in the message is.
const more = "النشرة كاملة على الموقع"

// Digest is the daily digest as one Telegram message.
type Digest struct {
	Subject string
	// Lead is the lead story under LeadLabel; nil when there is none.
	Lead      *nashra.Article
	LeadLabel string
	Sections  []DigestSection
	// ArchiveURL is the digest's page on the site.
	ArchiveURL string
}

// DigestSection is a part of the Telegram digest: a heading and the
// articles listed under it.
type DigestSection struct {
	Heading  string
	Articles []nashra.Article
}

// DigestMessage renders d as one message: the subject, the lead story,
// then each section's titles as links, within MaxText; what does not fit
// is left to the archive page, linked at the end. href gives the link of
// each article shown, in the order shown: the digest is rendered once for
// many chats, and href may return a placeholder each chat's own link
// replaces later — Telegram counts only the visible text, so the links'
// lengths do not count.
func DigestMessage(d Digest, href func(nashra.Article) string) string {
	var b []byte
	visible := Len(more) + 2
	fits := func(text string) bool {
		n := Len(text)
		if visible+n > MaxText {
			return false
		}
		visible += n
		return true
	}
	link := func(a nashra.Article, title string) string {
		return `<a href="` + Escape(href(a)) + `">` + Escape(title) + `</a>`
	}
	head := "📰 " + d.Subject
	if fits(head + "\n") {
		b = append(b, "<b>"+Escape(head)+"</b>\n"...)
	}
	if d.Lead != nil {
		label, title := d.LeadLabel+": ", arabic.CleanLine(d.Lead.Title)
		if fits("\n" + label + title + "\n") {
			b = append(b, "\n"+Escape(label)+link(*d.Lead, title)+"\n"...)
		}
	}
sections:
	for _, s := range d.Sections {
		if !fits("\n" + s.Heading + "\n") {
			break
		}
		b = append(b, "\n<b>"+Escape(s.Heading)+"</b>\n"...)
		for _, a := range s.Articles {
			title := arabic.CleanLine(a.Title)
			if !fits("• " + title + "\n") {
				break sections
			}
			b = append(b, "• "+link(a, title)+"\n"...)
		}
	}
	b = append(b, "\n<a href=\""+Escape(d.ArchiveURL)+"\">"+more+"</a>"...)
	return string(b)
}
