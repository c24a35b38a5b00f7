package keywords

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/almaalouma/nashra/arabic"
)

func chat(id int64) Owner { return Owner{Chat: id} }

func mustAdd(t testing.TB, ix *Index, rules ...Rule) {
	t.Helper()
	for _, r := range rules {
		if err := ix.Add(r); err != nil {
			t.Fatalf("Add(%+v): %v", r, err)
		}
	}
}

// reasons returns, by chat, the phrase the reader is told they follow.
func reasons(res Result) map[Owner]string {
	m := map[Owner]string{}
	for _, f := range res.Follows {
		if _, dup := m[f.Owner]; dup {
			panic(fmt.Sprintf("owner %v twice", f.Owner))
		}
		m[f.Owner] = f.Phrase
	}
	return m
}

func TestFollowMuteAndTag(t *testing.T) {
	ix := New()
	mustAdd(t, ix,
		Rule{Owner: chat(1), Kind: Follow, Phrase: "الكهرباء"},
		Rule{Owner: chat(2), Kind: Follow, Phrase: "كهرباء"},
		Rule{Owner: chat(2), Kind: Mute, Phrase: "الرياضة"},
		Rule{Owner: chat(3), Kind: Tag, Phrase: "#وزارة_الكهرباء"},
		Rule{Owner: chat(4), Kind: Mute, Phrase: "النفط"},
		Rule{Owner: Owner{Chat: 5, Topic: 7}, Kind: Follow, Phrase: "الرياضة"},
		Rule{Owner: Owner{Chat: 5, Topic: 8}, Kind: Follow, Phrase: "النفط"},
	)
	res := ix.Match(Article{
		Title:      "وزارة الشباب والرياضة تنير الملاعب بالكهرباء",
		Summary:    "خطة جديدة",
		Categories: []string{"وزارة الكهرباء"},
	})
	want := map[Owner]string{
		chat(1):             "الكهرباء",
		chat(3):             "#وزارة_الكهرباء",
		{Chat: 5, Topic: 7}: "الرياضة",
	}
	if got := reasons(res); !maps.Equal(got, want) {
		t.Errorf("follows = %v, want %v", got, want)
	}
	if !slices.Equal(res.Muted, []Owner{chat(2)}) {
		t.Errorf("muted = %v, want chat 2, who mutes sport and follows electricity", res.Muted)
	}
	for _, f := range res.Follows {
		if want := map[bool]Kind{true: Tag, false: Follow}[f.Owner == chat(3)]; f.Kind != want {
			t.Errorf("%v: kind %v, want %v", f.Owner, f.Kind, want)
		}
	}
	if res := ix.Match(Article{Title: "انفطار", Summary: "الرياض"}); len(res.Follows)+len(res.Muted) != 0 {
		t.Errorf("an article with none of the phrases matched %+v", res)
	}
}

// The reader is told the phrase that comes first in the article: title
// before categories before summary, and the longer of two phrases that
// start at the same word.
func TestReasonIsTheFirstPhraseOfTheArticle(t *testing.T) {
	ix := New()
	mustAdd(t, ix,
		Rule{Owner: chat(1), Kind: Follow, Phrase: "النفط"},
		Rule{Owner: chat(1), Kind: Follow, Phrase: "البصرة"},
		Rule{Owner: chat(2), Kind: Follow, Phrase: "الحشد"},
		Rule{Owner: chat(2), Kind: Follow, Phrase: "الحشد الشعبي"},
		Rule{Owner: chat(3), Kind: Follow, Phrase: "الموازنة"},
		Rule{Owner: chat(3), Kind: Tag, Phrase: "اقتصاد"},
	)
	cases := []struct {
		a    Article
		want map[Owner]string
	}{
		{Article{Title: "البصرة تصدر النفط"}, map[Owner]string{chat(1): "البصرة"}},
		{Article{Title: "النفط من البصرة"}, map[Owner]string{chat(1): "النفط"}},
		{Article{Title: "تصدير", Summary: "البصرة", Categories: []string{"النفط"}}, map[Owner]string{chat(1): "النفط"}},
		{Article{Title: "بيان الحشد الشعبي"}, map[Owner]string{chat(2): "الحشد الشعبي"}},
		{Article{Title: "فصائل الحشد"}, map[Owner]string{chat(2): "الحشد"}},
		{Article{Title: "عجز الموازنة", Categories: []string{"الاقتصاد"}}, map[Owner]string{chat(3): "الموازنة"}},
		{Article{Title: "الدينار", Summary: "الموازنة", Categories: []string{"الاقتصاد"}}, map[Owner]string{chat(3): "اقتصاد"}},
	}
	for _, c := range cases {
		if got := reasons(ix.Match(c.a)); !maps.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.a, got, c.want)
		}
	}
}

func TestPhraseMatchesWordsInOrderWithinOneSentence(t *testing.T) {
	ix := New()
	mustAdd(t, ix, Rule{Owner: chat(1), Kind: Follow, Phrase: "الحشد الشعبي"})
	yes := []Article{
		{Title: "قرار بشأن الحشد الشعبي"},
		{Title: "بيان «الحشد» الشعبي"},
		{Summary: "هيئة الحشد – الشعبي"},
		{Categories: []string{"الحشد الشعبي"}},
	}
	no := []Article{
		{Title: "الشعبي الحشد"},
		{Title: "الحشد، الشعبي"},
		{Title: "فصائل الحشد", Summary: "الشعبي"},
		{Title: "الحشد"},
		{Title: "الحشد الوطني الشعبي"},
	}
	for _, a := range yes {
		if len(ix.Match(a).Follows) != 1 {
			t.Errorf("%+v does not match", a)
		}
	}
	for _, a := range no {
		if len(ix.Match(a).Follows) != 0 {
			t.Errorf("%+v matches", a)
		}
	}
}

func TestAddAndRemove(t *testing.T) {
	ix := New()
	mustAdd(t, ix,
		Rule{Owner: chat(1), Kind: Follow, Phrase: "الكهرباء"},
		Rule{Owner: chat(1), Kind: Follow, Phrase: "كهرباء"}, // the same rule, spelt otherwise
		Rule{Owner: chat(1), Kind: Mute, Phrase: "الكهرباء"}, // another kind
		Rule{Owner: chat(2), Kind: Follow, Phrase: "الكهرباء"},
		Rule{Owner: chat(2), Kind: Tag, Phrase: "الكهرباء"},
	)
	if ix.Len() != 4 {
		t.Fatalf("Len = %d, want 4", ix.Len())
	}
	a := Article{Title: "أزمة الكهرباء", Categories: []string{"كهرباء"}}
	if res := ix.Match(a); len(res.Follows) != 1 || res.Follows[0].Owner != chat(2) || !slices.Equal(res.Muted, []Owner{chat(1)}) {
		t.Fatalf("before removal: %+v", res)
	}
	if !ix.Remove(Rule{Owner: chat(1), Kind: Mute, Phrase: "كهرباء"}) {
		t.Fatal("mute not removed")
	}
	if ix.Remove(Rule{Owner: chat(1), Kind: Mute, Phrase: "الكهرباء"}) {
		t.Fatal("mute removed twice")
	}
	if got := reasons(ix.Match(a)); !maps.Equal(got, map[Owner]string{chat(1): "الكهرباء", chat(2): "الكهرباء"}) {
		t.Fatalf("after unmuting: %v", got)
	}
	if !ix.Remove(Rule{Owner: chat(2), Kind: Follow, Phrase: "الكهرباء"}) {
		t.Fatal("follow not removed")
	}
	if res := ix.Match(a); len(res.Follows) != 2 || res.Follows[1].Kind != Tag {
		t.Fatalf("chat 2 should still get it by its tag: %+v", res)
	}
	if n := ix.RemoveOwner(chat(2)); n != 1 {
		t.Fatalf("RemoveOwner = %d, want 1", n)
	}
	if ix.Remove(Rule{Owner: chat(3), Kind: Follow, Phrase: "الكهرباء"}) || ix.RemoveOwner(chat(3)) != 0 {
		t.Fatal("removed a rule nobody has")
	}
	if !ix.Remove(Rule{Owner: chat(1), Kind: Follow, Phrase: "الكهرباء"}) {
		t.Fatal("last rule not removed")
	}
	if res := ix.Match(a); ix.Len() != 0 || len(res.Follows)+len(res.Muted) != 0 {
		t.Fatalf("empty index matched %+v", res)
	}
	// Nothing of the removed rules stays behind.
	if len(ix.first)+len(ix.byStems)+len(ix.tags)+len(ix.ownerIDs)+len(ix.textIDs) != 0 {
		t.Fatalf("leftovers: %d first-word stems, %d phrases, %d tags, %d owners, %d texts",
			len(ix.first), len(ix.byStems), len(ix.tags), len(ix.ownerIDs), len(ix.textIDs))
	}
	// Freed ids are reused and work.
	mustAdd(t, ix, Rule{Owner: chat(9), Kind: Follow, Phrase: "النفط"})
	if got := reasons(ix.Match(Article{Title: "النفطية"})); got[chat(9)] != "النفط" || len(ix.phrases) > 3 {
		t.Fatalf("after reuse: %v, %d phrase slots", got, len(ix.phrases))
	}
}

func TestKeyAndInvalidPhrases(t *testing.T) {
	keys := []struct {
		kind   Kind
		phrase string
		key    string
	}{
		{Follow, "  الكهرباء ", "كهرباء"},
		{Follow, "الحشد الشعبي", "حشد شعبي"},
		{Follow, "الحشد، الشعبي", "حشد شعبي"},
		{Mute, "الرياضة", "رياضه"},
		{Tag, "#الحشد_الشعبي", "حشد الشعبي"},
		{Tag, "الحشد الشعبي", "حشد الشعبي"},
		{Follow, "ChatGPT", "chatgpt"},
	}
	for _, c := range keys {
		if got, err := Key(c.kind, c.phrase); err != nil || got != c.key {
			t.Errorf("Key(%v, %q) = %q, %v; want %q", c.kind, c.phrase, got, err, c.key)
		}
	}
	bad := []struct {
		kind   Kind
		phrase string
		err    error
	}{
		{Follow, "", ErrEmpty},
		{Follow, " ،!؟ ", ErrEmpty},
		{Tag, "#", ErrEmpty},
		{Follow, "و", ErrTooShort},
		{Mute, "a b c", ErrTooShort},
		{Follow, "واحد اثنان ثلاثة أربعة خمسة ستة سبعة", ErrTooLong},
		{Follow, strings.Repeat("ا", MaxPhraseLen+1), ErrTooLong},
		{Tag, strings.Repeat("ا", MaxPhraseLen+1), ErrTooLong},
		{Kind(9), "الكهرباء", ErrKind},
	}
	ix := New()
	for _, c := range bad {
		if _, err := Key(c.kind, c.phrase); !errors.Is(err, c.err) {
			t.Errorf("Key(%v, %q): %v, want %v", c.kind, c.phrase, err, c.err)
		}
		if err := ix.Add(Rule{Owner: chat(1), Kind: c.kind, Phrase: c.phrase}); !errors.Is(err, c.err) {
			t.Errorf("Add(%v, %q): %v, want %v", c.kind, c.phrase, err, c.err)
		}
	}
	if ix.Len() != 0 {
		t.Errorf("invalid rules were indexed: %d", ix.Len())
	}
}

func TestBuild(t *testing.T) {
	rules := []Rule{
		{Owner: chat(1), Kind: Follow, Phrase: "النفط"},
		{Owner: chat(2), Kind: Tag, Phrase: "رياضة"},
	}
	ix, err := Build(slicesSeq2(rules), nil)
	if err != nil || ix.Len() != 2 {
		t.Fatalf("Build: %v, %d rules", err, ix.Len())
	}
	broken := errors.New("connection reset")
	rows := func(yield func(Rule, error) bool) {
		if yield(rules[0], nil) {
			yield(Rule{}, broken)
		}
	}
	if _, err := Build(rows, nil); !errors.Is(err, broken) {
		t.Errorf("Build of a failing stream: %v", err)
	}
	var skipped []error
	ix, err = Build(slicesSeq2(append([]Rule{{Owner: chat(3), Kind: Follow, Phrase: "؟"}}, rules...)), func(r Rule, err error) {
		skipped = append(skipped, err)
	})
	if err != nil || ix.Len() != 2 || len(skipped) != 1 || !errors.Is(skipped[0], ErrEmpty) {
		t.Errorf("Build past a rule it cannot index: %v, %d rules, skipped %v", err, ix.Len(), skipped)
	}
}

func slicesSeq2(rules []Rule) iter.Seq2[Rule, error] {
	return func(yield func(Rule, error) bool) {
		for _, r := range rules {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// Readers follow and unfollow while articles are matched: a reader whose
// rules do not change keeps getting the article, and no match sees half a
// change (run with -race).
func TestConcurrentMatchAndUpdate(t *testing.T) {
	ix := New()
	mustAdd(t, ix, Rule{Owner: chat(1), Kind: Follow, Phrase: "الكهرباء"})
	a := Article{Title: "أزمة الكهرباء في البصرة", Summary: "النفط والغاز"}
	phrases := []string{"البصرة", "النفط", "الغاز", "الكهرباء", "الحشد الشعبي"}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 300 {
				o := chat(int64(100 + w*1000 + i%50))
				r := Rule{Owner: o, Kind: []Kind{Follow, Mute, Tag}[i%3], Phrase: phrases[i%len(phrases)]}
				if err := ix.Add(r); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					ix.Remove(r)
				}
				if i%7 == 0 {
					ix.RemoveOwner(o)
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 300 {
				res := ix.Match(a)
				if reasons(res)[chat(1)] != "الكهرباء" {
					t.Error("the steady reader lost the article")
					return
				}
				for _, m := range res.Muted {
					if _, ok := reasons(res)[m]; ok {
						t.Errorf("%v both muted and followed", m)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// FuzzMatch checks the index against a plain scan of the article's words:
// a phrase matches when, at some word, each of its words has a stem that
// the article's word at that place has, with nothing but spaces, dashes or
// quotes between them; and no input makes Match fail.
func FuzzMatch(f *testing.F) {
	f.Add("الحشد الشعبي", "بيان الحشد الشعبي، والحشد الشعبي", "الحشد")
	f.Add("الكهرباء", "وبالكهرباء كهربائية انفطار", "كهرباء")
	f.Add("ChatGPT-5", "chatgpt 5 MyChatGPT", "#chatgpt_5")
	f.Add("و", "", "")
	f.Add("\xff", "\u200f\u064b", "_")
	f.Fuzz(func(t *testing.T, phrase, text, tag string) {
		ix := New()
		want, err := parsePhrase(phrase)
		valid := err == nil
		if err := ix.Add(Rule{Owner: chat(1), Kind: Follow, Phrase: phrase}); (err == nil) != valid {
			t.Fatalf("Add: %v, parse: %v", err, valid)
		}
		_ = ix.Add(Rule{Owner: chat(2), Kind: Mute, Phrase: phrase})
		_ = ix.Add(Rule{Owner: chat(3), Kind: Tag, Phrase: tag})
		res := ix.Match(Article{Title: text, Categories: []string{tag}})
		got := reasons(res)
		if _, followed := got[chat(1)]; followed != (valid && scan(want, text, tag)) {
			t.Fatalf("phrase %q in %q (category %q): matched %v, scan says otherwise", phrase, text, tag, followed)
		}
		if _, muted := got[chat(2)]; muted {
			t.Fatal("a muting reader was given the article")
		}
		if m := slices.Contains(res.Muted, chat(2)); m != (valid && scan(want, text, tag)) {
			t.Fatalf("muted %v", m)
		}
		if _, tagged := got[chat(3)]; tagged {
			if k, err := tagKey(tag); err != nil || k == "" {
				t.Fatalf("tag %q matched without a key", tag)
			}
		}
		if !ix.Remove(Rule{Owner: chat(1), Kind: Follow, Phrase: phrase}) && valid {
			t.Fatal("not removed")
		}
	})
}

// scan looks for words in text and in the category tag, word by word.
func scan(words [][]arabic.Stem, text, tag string) bool {
	for _, field := range []string{text, tag} {
		toks := arabic.AppendTokens(nil, arabic.MatchForm(field))
	next:
		for i := range toks {
			for j, w := range words {
				if i+j >= len(toks) || j > 0 && !toks[i+j].Joined || !anyMatches(w, arabic.AppendTextStems(nil, toks[i+j].Word)) {
					continue next
				}
			}
			return true
		}
	}
	return false
}
