package keywords

import (
	"cmp"
	"math"
	"slices"

	"github.com/almaalouma/nashra/arabic"
)

// scratch is the working memory of one Match, kept in a pool so that
// matching article after article allocates little beyond its result.
type scratch struct {
	tokens []arabic.Token
	stems  []arabic.Stem
	bounds []int32    // the stems of token i are stems[bounds[i]:bounds[i+1]]
	tags   []tagField // the tag keys of categories and tags
	hits   []hit
	seen   map[uint32]int // index in hits by phrase id
	out    []outMatch     // the follows found, before they become Matches
	stamp  []uint32       // by owner id: followed or muted in this match
	gen    uint32
}

type tagField struct {
	key string
	pos int32
}

type outMatch struct {
	posting
	tag bool
}

// hit is a phrase found in the article, at token pos.
type hit struct {
	phrase uint32
	pos    int32
	words  int32
}

// Match returns the owners who follow a, with the reason for each, and the
// owners who mute it. It reads a's words once, then each matching
// phrase's owners once.
func (ix *Index) Match(a Article) Result {
	s, _ := ix.pool.Get().(*scratch)
	if s == nil {
		s = &scratch{seen: map[uint32]int{}}
	}
	defer ix.pool.Put(s)
	s.read(a)

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s.find(ix)
	return s.fanOut(ix)
}

// read splits a's fields into words and stems, in the order that ranks
// the reasons: title, categories, tags, summary.
func (s *scratch) read(a Article) {
	s.tokens, s.stems, s.bounds, s.tags = s.tokens[:0], s.stems[:0], s.bounds[:0], s.tags[:0]
	field := func(text string) {
		s.tokens = arabic.AppendTokens(s.tokens, arabic.MatchForm(text))
	}
	field(a.Title)
	for _, list := range [...][]string{a.Categories, a.Tags} {
		for _, c := range list {
			if k, err := tagKey(c); err == nil {
				s.tags = append(s.tags, tagField{key: k, pos: int32(len(s.tokens))})
			}
			field(c)
		}
	}
	field(a.Summary)
	for _, t := range s.tokens {
		s.bounds = append(s.bounds, int32(len(s.stems)))
		s.stems = arabic.AppendTextStems(s.stems, t.Word)
	}
	s.bounds = append(s.bounds, int32(len(s.stems)))
}

func (s *scratch) stemsOf(i int) []arabic.Stem { return s.stems[s.bounds[i]:s.bounds[i+1]] }

// find collects the phrases and tags of ix that occur in the article, each
// once, at its first place.
func (s *scratch) find(ix *Index) {
	s.hits = s.hits[:0]
	clear(s.seen)
	record := func(pid uint32, pos, words int) {
		if _, ok := s.seen[pid]; !ok {
			s.seen[pid] = len(s.hits)
			s.hits = append(s.hits, hit{phrase: pid, pos: int32(pos), words: int32(words)})
		}
	}
	for i := range s.tokens {
		for _, r := range s.stemsOf(i) {
			for _, e := range ix.first[r.Text] {
				if !(arabic.Stem{Text: r.Text, Class: e.class}).Matches(r) {
					continue
				}
				if p := &ix.phrases[e.phrase]; s.phraseAt(p.words, i) {
					record(e.phrase, i, len(p.words))
				}
			}
		}
	}
	for _, t := range s.tags {
		if pid, ok := ix.tags[t.key]; ok {
			record(pid, int(t.pos), 1)
		}
	}
	slices.SortStableFunc(s.hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(b.words, a.words))
	})
}

// phraseAt reports whether the words after the first of a phrase follow
// token i, joined to it.
func (s *scratch) phraseAt(words [][]arabic.Stem, i int) bool {
	if i+len(words) > len(s.tokens) {
		return false
	}
	for j := 1; j < len(words); j++ {
		if !s.tokens[i+j].Joined || !anyMatches(words[j], s.stemsOf(i+j)) {
			return false
		}
	}
	return true
}

func anyMatches(followed, text []arabic.Stem) bool {
	for _, f := range followed {
		for _, t := range text {
			if f.Matches(t) {
				return true
			}
		}
	}
	return false
}

// fanOut turns the hits into owners: first those who mute, then, in the
// order of the hits, those who follow and do not mute, each once.
func (s *scratch) fanOut(ix *Index) Result {
	if len(s.hits) == 0 {
		return Result{}
	}
	if len(s.stamp) < len(ix.owners) {
		s.stamp = make([]uint32, len(ix.owners)+len(ix.owners)/4)
	}
	if s.gen >= math.MaxUint32-2 {
		clear(s.stamp)
		s.gen = 0
	}
	s.gen += 2
	followed, muted := s.gen, s.gen+1

	var res Result
	for _, h := range s.hits {
		for _, m := range ix.phrases[h.phrase].mutes {
			if s.stamp[m.owner] != muted {
				s.stamp[m.owner] = muted
				res.Muted = append(res.Muted, ix.owners[m.owner].owner)
			}
		}
	}
	// Collect the follows as ids first, so that the result, full of
	// pointers, is allocated once at its size.
	s.out = s.out[:0]
	for _, h := range s.hits {
		p := &ix.phrases[h.phrase]
		for _, f := range p.follows {
			if st := s.stamp[f.owner]; st != followed && st != muted {
				s.stamp[f.owner] = followed
				s.out = append(s.out, outMatch{posting: f, tag: p.words == nil})
			}
		}
	}
	if len(s.out) > 0 {
		res.Follows = make([]Match, len(s.out))
	}
	for i, o := range s.out {
		kind := Follow
		if o.tag {
			kind = Tag
		}
		res.Follows[i] = Match{Owner: ix.owners[o.owner].owner, Kind: kind, Phrase: ix.texts[o.text].s}
	}
	return res
}
