// Package templates holds nashra's embedded templates: the email digest's
// HTML and plain-text bodies, the mails of the double opt-in, and the web
// pages readers open. HTML bodies use html/template, subjects and plain
// text text/template. Every HTML layout carries dir="rtl" lang="ar".
package templates

import (
	"embed"
	htmltemplate "html/template"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
)

//go:embed email web dashboard
var files embed.FS

// funcs are the helpers every HTML template may call.
var funcs = htmltemplate.FuncMap{
	// ltr isolates Latin text, numbers and URLs in right-to-left prose.
	"ltr": func(s string) htmltemplate.HTML {
		return htmltemplate.HTML(`<span dir="ltr">` + htmltemplate.HTMLEscapeString(s) + `</span>`)
	},
}

var (
	emailHTML = sync.OnceValue(func() *htmltemplate.Template {
		return htmltemplate.Must(htmltemplate.New("email").Funcs(funcs).ParseFS(files, "email/*.html"))
	})
	emailText = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("email").ParseFS(files, "email/*.txt"))
	})
	webPages = sync.OnceValue(func() map[string]*htmltemplate.Template {
		layout := htmltemplate.Must(htmltemplate.New("layout").Funcs(funcs).ParseFS(files, "web/layout.html"))
		pages, err := fs.Glob(files, "web/*.html")
		if err != nil {
			panic(err)
		}
		out := map[string]*htmltemplate.Template{}
		for _, p := range pages {
			name := strings.TrimPrefix(p, "web/")
			if name == "layout.html" {
				continue
			}
			out[name] = htmltemplate.Must(htmltemplate.Must(layout.Clone()).ParseFS(files, p))
		}
		return out
	})
)

var dashboardPages = sync.OnceValue(func() map[string]*htmltemplate.Template {
	layout := htmltemplate.Must(htmltemplate.New("layout").Funcs(funcs).Funcs(dashboardFuncs).ParseFS(files, "dashboard/layout.html", "dashboard/parts/*.html"))
	pages, err := fs.Glob(files, "dashboard/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*htmltemplate.Template{}
	for _, p := range pages {
		name := strings.TrimPrefix(p, "dashboard/")
		if name == "layout.html" {
			continue
		}
		out[name] = htmltemplate.Must(htmltemplate.Must(layout.Clone()).ParseFS(files, p))
	}
	return out
})

// dashboardFuncs are the helpers of the dashboard's pages.
var dashboardFuncs = htmltemplate.FuncMap{"num": Number}

// Number writes an integer with Western digits grouped by thousands, as
// the site writes figures.
func Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// DashboardPage returns the editors' dashboard page name ("overview.html",
// …) inside the dashboard's layout; execute it by the name "layout". It
// returns nil for an unknown page.
func DashboardPage(name string) *htmltemplate.Template { return dashboardPages()[name] }

// DashboardFile returns a static file of the dashboard ("live.js").
func DashboardFile(name string) ([]byte, error) { return files.ReadFile("dashboard/static/" + name) }

// EmailHTML returns the HTML mail bodies, each executed by its file name:
// "digest.html", "confirm.html", "notice.html".
func EmailHTML() *htmltemplate.Template { return emailHTML() }

// EmailText returns the plain-text mail bodies, each executed by its file
// name: "digest.txt", "confirm.txt", "notice.txt".
func EmailText() *texttemplate.Template { return emailText() }

// WebPage returns the page name ("signup.html", "confirm.html", …) inside
// the site's layout; execute it by the name "layout". It returns nil for
// an unknown page.
func WebPage(name string) *htmltemplate.Template { return webPages()[name] }
