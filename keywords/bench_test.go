package keywords

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/almaalouma/nashra/arabic"
)

// The population the figures are measured on: 100,000 readers holding
// 300,000 rules in all, over a vocabulary of about 4,000 phrases whose
// popularity follows Zipf's law, the hand-labelled phrases first; a
// quarter of the vocabulary are two-word phrases. Articles are headlines
// of the accuracy set with four more as a summary and one or two
// categories.
const (
	benchReaders = 100_000
	benchRules   = 300_000
	benchVocab   = 4_000
	benchArticle = 1_000
)

type population struct {
	rules    []Rule
	phrases  []string // the vocabulary, most popular first
	articles []Article
}

var (
	popOnce sync.Once
	pop     population
	popIx   *Index
)

func benchPopulation(b *testing.B) (population, *Index) {
	popOnce.Do(func() {
		pop = makePopulation(b)
		var err error
		popIx, err = Build(slicesSeq2(pop.rules), nil)
		if err != nil {
			b.Fatal(err)
		}
	})
	return pop, popIx
}

var benchCategories = []string{"أخبار", "سياسة", "اقتصاد", "أمن", "رياضة", "محليات", "عربي ودولي", "الكهرباء", "النفط", "البصرة", "تقارير", "صحة"}

func makePopulation(b testing.TB) population {
	rng := rand.New(rand.NewPCG(14, 2025))
	follows := readFollows(b)
	headlines := readHeadlines(b, follows)

	// The vocabulary: the labelled phrases, the words and pairs of words
	// of the headlines, and made-up names for the long tail.
	seen := map[string]bool{}
	var vocab, words, pairs []string
	add := func(list *[]string, p string) {
		if k, err := Key(Follow, p); err == nil && !seen[k] {
			seen[k] = true
			*list = append(*list, p)
		}
	}
	for _, p := range follows {
		add(&vocab, p)
	}
	for _, h := range headlines {
		ws := strings.Fields(h.headline)
		for i, w := range ws {
			if len([]rune(w)) >= 4 {
				add(&words, w)
				if i+1 < len(ws) && len([]rune(ws[i+1])) >= 4 {
					add(&pairs, w+" "+ws[i+1])
				}
			}
		}
	}
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	pairs = pairs[:min(len(pairs), benchVocab/4)]
	letters := []rune("ابتثجحخدذرزسشصضطظعغفقكلمنهوي")
	for len(words)+len(pairs)+len(vocab) < benchVocab {
		n := 3 + rng.IntN(5)
		w := make([]rune, n)
		for i := range w {
			w[i] = letters[rng.IntN(len(letters))]
		}
		add(&words, string(w))
	}
	tail := append(words, pairs...)
	rng.Shuffle(len(tail), func(i, j int) { tail[i], tail[j] = tail[j], tail[i] })
	vocab = append(vocab, tail...)

	phraseRank := rand.NewZipf(rng, 1.07, 1, uint64(len(vocab)-1))
	tagRank := rand.NewZipf(rng, 1.2, 1, uint64(len(benchCategories)-1))
	rule := func(o Owner) Rule {
		switch x := rng.IntN(100); {
		case x < 3:
			return Rule{Owner: o, Kind: Tag, Phrase: benchCategories[tagRank.Uint64()]}
		case x < 13:
			return Rule{Owner: o, Kind: Mute, Phrase: vocab[phraseRank.Uint64()]}
		default:
			return Rule{Owner: o, Kind: Follow, Phrase: vocab[phraseRank.Uint64()]}
		}
	}
	rules := make([]Rule, 0, benchRules)
	count := make([]int, benchReaders)
	owner := func(i int) Owner {
		if i%10 == 0 { // a tenth are groups, some of them forums with topics
			return Owner{Chat: -1_000_000_000_000 - int64(i), Topic: int64(i % 3)}
		}
		return Owner{Chat: int64(100_000_000 + i)}
	}
	for i := range benchReaders {
		rules = append(rules, rule(owner(i)))
		count[i]++
	}
	for len(rules) < benchRules {
		if i := rng.IntN(benchReaders); count[i] < MaxPerOwner {
			rules = append(rules, rule(owner(i)))
			count[i]++
		}
	}

	articles := make([]Article, benchArticle)
	for i := range articles {
		var summary []string
		for range 4 {
			summary = append(summary, headlines[rng.IntN(len(headlines))].headline)
		}
		cats := []string{benchCategories[rng.IntN(len(benchCategories))]}
		if rng.IntN(2) == 0 {
			cats = append(cats, benchCategories[rng.IntN(len(benchCategories))])
		}
		articles[i] = Article{Title: headlines[i%len(headlines)].headline, Summary: strings.Join(summary, ". "), Categories: cats}
	}
	return population{rules: rules, phrases: vocab, articles: articles}
}

// BenchmarkMatch matches one article against the whole population: the
// one pass over its words and the owners of every phrase it matched.
func BenchmarkMatch(b *testing.B) {
	p, ix := benchPopulation(b)
	owners, i := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := ix.Match(p.articles[i%len(p.articles)])
		owners += len(res.Follows) + len(res.Muted)
		i++
	}
	b.ReportMetric(float64(owners)/float64(i), "owners/op")
}

// BenchmarkFind is the pass over an article's words alone: the same
// vocabulary, each phrase followed by one reader, so that the owners
// cost nothing.
func BenchmarkFind(b *testing.B) {
	p, _ := benchPopulation(b)
	ix := New()
	for i, ph := range p.phrases {
		mustAdd(b, ix, Rule{Owner: chat(int64(i)), Kind: Follow, Phrase: ph})
	}
	phrases, i := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		phrases += len(ix.Match(p.articles[i%len(p.articles)]).Follows)
		i++
	}
	b.ReportMetric(float64(phrases)/float64(i), "phrases/op")
}

// BenchmarkBuild builds the index of the population's rules from a
// stream, as at start, and reports the heap the index holds once built.
func BenchmarkBuild(b *testing.B) {
	p, _ := benchPopulation(b)
	var ix *Index
	for b.Loop() {
		ix = nil
		var err error
		if ix, err = Build(slicesSeq2(p.rules), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	with := heapInUse()
	ix.Len() // keep ix alive through the measure
	ix = nil
	without := heapInUse()
	b.ReportMetric(float64(with-without)/(1<<20), "MB-heap")
	b.ReportMetric(float64(len(p.rules)), "rules")
}

// BenchmarkMatch1000 matches 1,000 articles in a row and reports how much
// the heap grew over them, after a collection: nothing should stay.
func BenchmarkMatch1000(b *testing.B) {
	p, ix := benchPopulation(b)
	ix.Match(p.articles[0]) // the pool's first scratch is not growth
	before := heapInUse()
	for b.Loop() {
		for _, a := range p.articles {
			ix.Match(a)
		}
	}
	b.StopTimer()
	after := heapInUse()
	b.ReportMetric(float64(after-before)/(1<<10), "KB-heap-growth")
}

// BenchmarkFollowUnfollow adds and removes one rule of a reader in the
// full index: what a /follow or an /unfollow costs the index.
func BenchmarkFollowUnfollow(b *testing.B) {
	p, ix := benchPopulation(b)
	i := 0
	for b.Loop() {
		r := Rule{Owner: chat(int64(i % 1000)), Kind: Follow, Phrase: p.phrases[i%20]}
		if err := ix.Add(r); err != nil {
			b.Fatal(err)
		}
		if !ix.Remove(r) {
			b.Fatal("not removed")
		}
		i++
	}
}

// BenchmarkStems is the morphology alone: the stems of every word of an
// article.
func BenchmarkStems(b *testing.B) {
	p, _ := benchPopulation(b)
	var toks []arabic.Token
	var stems []arabic.Stem
	i := 0
	for b.Loop() {
		a := p.articles[i%len(p.articles)]
		toks = arabic.AppendTokens(toks[:0], arabic.MatchForm(a.Title+" "+a.Summary))
		stems = stems[:0]
		for _, t := range toks {
			stems = arabic.AppendTextStems(stems, t.Word)
		}
		i++
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
