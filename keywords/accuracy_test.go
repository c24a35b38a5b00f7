package keywords

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

type labelled struct {
	line     int
	headline string
	want     []string // phrases an editor expects to match
	inside   []string // phrases whose letters occur inside a word: must not match
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func readFollows(t testing.TB) []string {
	var follows []string
	for _, l := range readLines(t, "testdata/follows.txt") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			follows = append(follows, l)
		}
	}
	return follows
}

func readHeadlines(t testing.TB, follows []string) []labelled {
	var hs []labelled
	for n, l := range readLines(t, "testdata/headlines.txt") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		headline, labels, ok := strings.Cut(l, "=>")
		if !ok {
			t.Fatalf("headlines.txt:%d: no =>", n+1)
		}
		h := labelled{line: n + 1, headline: strings.TrimSpace(headline)}
		for _, p := range strings.Split(labels, "؛") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			list := &h.want
			if rest, ok := strings.CutPrefix(p, "!"); ok {
				p, list = rest, &h.inside
			}
			if !slices.Contains(follows, p) {
				t.Fatalf("headlines.txt:%d: %q is not in follows.txt", n+1, p)
			}
			*list = append(*list, p)
		}
		hs = append(hs, h)
	}
	return hs
}

// TestAccuracyOnHandLabelledHeadlines matches the hand-labelled headlines
// against one reader per phrase of follows.txt: no phrase may match inside
// another word, at least 95% of the expected matches must be found, and at
// least 95% of the matches must be expected.
func TestAccuracyOnHandLabelledHeadlines(t *testing.T) {
	follows := readFollows(t)
	headlines := readHeadlines(t, follows)
	if len(headlines) < 200 || len(follows) < 30 {
		t.Fatalf("%d headlines, %d phrases: the set is too small", len(headlines), len(follows))
	}
	ix := New()
	for i, p := range follows {
		if err := ix.Add(Rule{Owner: Owner{Chat: int64(i + 1)}, Kind: Follow, Phrase: p}); err != nil {
			t.Fatalf("follow %q: %v", p, err)
		}
	}
	var tp, fp, fn, expected int
	for _, h := range headlines {
		var got []string
		for _, m := range ix.Match(Article{Title: h.headline}).Follows {
			got = append(got, follows[m.Owner.Chat-1])
			if m.Phrase != follows[m.Owner.Chat-1] {
				t.Errorf("line %d: reader of %q told %q", h.line, follows[m.Owner.Chat-1], m.Phrase)
			}
		}
		expected += len(h.want)
		for _, p := range h.want {
			if slices.Contains(got, p) {
				tp++
			} else {
				fn++
				t.Logf("missed   %-18s line %3d: %s", p, h.line, h.headline)
			}
		}
		for _, p := range got {
			switch {
			case slices.Contains(h.inside, p):
				t.Errorf("line %d: %q matched inside a word: %s", h.line, p, h.headline)
				fp++
			case !slices.Contains(h.want, p):
				fp++
				t.Logf("spurious %-18s line %3d: %s", p, h.line, h.headline)
			}
		}
	}
	recall := float64(tp) / float64(expected)
	precision := float64(tp) / float64(tp+fp)
	t.Logf("%d headlines, %d phrases: %d expected matches, %d found, %d missed, %d spurious: recall %.1f%%, precision %.1f%%",
		len(headlines), len(follows), expected, tp, fn, fp, 100*recall, 100*precision)
	if recall < 0.95 {
		t.Errorf("recall %.1f%%, want at least 95%%", 100*recall)
	}
	// Not a target of its own, but a rule that conflates words would show
	// here first.
	if precision < 0.95 {
		t.Errorf("precision %.1f%%, want at least 95%%", 100*precision)
	}
}
