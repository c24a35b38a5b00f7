package feeds

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// bylinePattern matches the writer's line the site puts at the top of an
// article: "كتب / كاظم الطائي ||", "بقلم: …", "كتبت - …". Group 1 is the
// separator after the verb, 2 the name, 3 what ends the name.
var bylinePattern = regexp.MustCompile(`^(?:كتب|كتبت|بقلم)(\s*[:/|\-–—]+\s*|\s+)([^|:/\n]{2,60}?)\s*(\|\|?|[:–—]|$)`)

// maxBylineWords is the longest name a byline may give: past it, the
// "name" is the first sentence of the article.
const maxBylineWords = 6

// byline returns the writer named by the first line of an article body,
// or "". A bare "كتب فلان" counts only when "||" or ":" closes the name,
// since "كتب الرئيس رسالة…" is a sentence, not a byline.
func byline(line string) string {
	m := bylinePattern.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil || (strings.TrimSpace(m[1]) == "" && m[3] == "") {
		return ""
	}
	name := strings.TrimSpace(m[2])
	if len(strings.Fields(name)) > maxBylineWords || utf8.RuneCountInString(name) < 2 {
		return ""
	}
	return name
}

// stripByline removes a leading byline naming name from a summary, so that
// the writer is not repeated before the text.
func stripByline(s, name string) string {
	if name == "" {
		return s
	}
	rest := strings.TrimLeft(s, " ")
	for _, verb := range []string{"كتبت", "كتب", "بقلم"} {
		if r, ok := strings.CutPrefix(rest, verb); ok {
			rest = r
			break
		}
	}
	if len(rest) == len(strings.TrimLeft(s, " ")) {
		return s
	}
	rest = strings.TrimLeft(rest, " :/|-–—")
	r, ok := strings.CutPrefix(rest, name)
	if !ok {
		return s
	}
	return strings.TrimLeft(r, " :|-–—")
}
