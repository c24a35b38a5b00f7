// Package keywords matches articles against what readers follow: phrases
// that occur in an article's words after Arabic normalisation and light
// morphology (package arabic), mutes that drop an article, and feed tags
// compared whole. One Match is one pass over the article's words, whatever
// the number of readers: an inverted index from the stems of each phrase's
// first word to the phrase, then to the readers who follow it.
package keywords

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/almaalouma/nashra/arabic"
)

// Limits on what a reader may follow. The index does not enforce
// MaxPerOwner: the caller counts an owner's rules where it stores them.
const (
	MaxPerOwner   = 50  // follows, mutes and tags of one owner together
	MaxWords      = 6   // words in a phrase
	MaxPhraseLen  = 100 // characters of a phrase
	minWordLength = 2   // letters of the longest word of a phrase
)

// Errors Add and Key return for a phrase that cannot be followed.
var (
	ErrEmpty    = errors.New("keywords: no word to follow")
	ErrTooShort = errors.New("keywords: words too short to follow")
	ErrTooLong  = errors.New("keywords: phrase too long")
	ErrKind     = errors.New("keywords: unknown kind")
)

// Owner is who follows: a chat, and a forum topic in it (0 outside topics).
type Owner struct {
	Chat  int64
	Topic int64
}

// Kind is what a rule does.
type Kind uint8

// The kinds of rules.
const (
	Follow Kind = iota + 1 // deliver the articles in which the phrase occurs
	Mute                   // drop the articles in which the phrase occurs
	Tag                    // deliver the articles that carry the tag, compared whole
)

func (k Kind) String() string {
	switch k {
	case Follow:
		return "follow"
	case Mute:
		return "mute"
	case Tag:
		return "tag"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Rule is one follow, mute or tag of one owner.
type Rule struct {
	Owner  Owner
	Kind   Kind
	Phrase string // as the reader wrote it
}

// Article is what is matched: plain text, no HTML.
type Article struct {
	Title      string
	Summary    string
	Categories []string
	Tags       []string
}

// Match is an owner an article goes to, and why.
type Match struct {
	Owner Owner
	Kind  Kind // Follow or Tag
	// Phrase is the rule's phrase as the reader wrote it, for
	// "لأنك تتابع: …": of the owner's rules that matched, the one whose
	// words come first in the article (title, categories, tags, summary),
	// the longest of those that start at the same word.
	Phrase string
}

// Result is what one article matched.
type Result struct {
	Follows []Match // one per owner; the owners in Muted are left out
	Muted   []Owner // owners who mute a phrase of the article
}

// Key returns the form of a rule's phrase under which it is stored and
// found again: normalised, the article taken off each word, tags without
// '#' and with '_' read as a space. Two phrases with the same key are the
// same rule. It returns an error when the phrase cannot be followed.
func Key(k Kind, phrase string) (string, error) {
	switch k {
	case Follow, Mute:
		if _, err := parsePhrase(phrase); err != nil {
			return "", err
		}
		var words []string
		for _, t := range arabic.AppendTokens(nil, arabic.Normalize(phrase)) {
			words = append(words, arabic.StripArticle(t.Word))
		}
		return strings.Join(words, " "), nil
	case Tag:
		return tagKey(phrase)
	}
	return "", ErrKind
}

func parsePhrase(phrase string) ([][]arabic.Stem, error) {
	if utf8.RuneCountInString(phrase) > MaxPhraseLen {
		return nil, ErrTooLong
	}
	words := arabic.PhraseStems(phrase)
	switch {
	case len(words) == 0:
		return nil, ErrEmpty
	case len(words) > MaxWords:
		return nil, ErrTooLong
	}
	for _, w := range words {
		for _, s := range w {
			if utf8.RuneCountInString(s.Text) >= minWordLength {
				return words, nil
			}
		}
	}
	return nil, ErrTooShort
}

func tagKey(tag string) (string, error) {
	if utf8.RuneCountInString(tag) > MaxPhraseLen {
		return "", ErrTooLong
	}
	k := arabic.StripArticle(arabic.Normalize(strings.ReplaceAll(strings.TrimLeft(strings.TrimSpace(tag), "#"), "_", " ")))
	if k == "" {
		return "", ErrEmpty
	}
	return k, nil
}

// Index answers which owners follow and which mute an article. It is safe
// for concurrent use: matches run in parallel with each other, and rules
// are added and removed while they run.
type Index struct {
	mu sync.RWMutex

	phrases     []phrase           // by phrase id
	freePhrases []uint32           // ids of phrases no rule uses
	byStems     map[string]uint32  // phrase id by the stems of its words
	first       map[string][]entry // phrases by a stem of their first word
	tags        map[string]uint32  // phrase id by tag key

	owners     []ownerRules // by owner id
	ownerIDs   map[Owner]uint32
	freeOwners []uint32

	texts     []text // phrases as readers wrote them, by text id
	textIDs   map[textKey]uint32
	freeTexts []uint32

	rules int
	pool  sync.Pool // *scratch
}

// phrase is a phrase or a tag that at least one rule uses.
type phrase struct {
	key     string          // in byStems or tags
	words   [][]arabic.Stem // nil for a tag
	follows []posting       // Follow and Tag rules
	mutes   []posting
}

// entry says that phrase's first word may have a stem of class class.
type entry struct {
	phrase uint32
	class  arabic.Class
}

// posting is an owner's rule on a phrase, with the text the owner wrote.
type posting struct {
	owner, text uint32
}

type ownerRules struct {
	owner Owner
	rules []ownerRule
}

type ownerRule struct {
	kind         Kind
	phrase, text uint32
}

// text is a phrase as readers wrote it, for rules of Tag kind or of the
// other kinds; its Key and its phrase are worked out once.
type text struct {
	textKey
	key    string
	phrase uint32
	refs   int32
}

type textKey struct {
	s   string
	tag bool
}

// New returns an empty index.
func New() *Index {
	return &Index{
		byStems:  map[string]uint32{},
		first:    map[string][]entry{},
		tags:     map[string]uint32{},
		ownerIDs: map[Owner]uint32{},
		textIDs:  map[textKey]uint32{},
	}
}

// Build returns an index of the rules rows yields, as read at start from
// the store. It stops at the first error rows yields. A rule it cannot
// index, such as a phrase stored before these rules refused it, is left
// out and passed with the reason to skipped, if not nil: one bad row does
// not keep every reader from their follows.
func Build(rows iter.Seq2[Rule, error], skipped func(Rule, error)) (*Index, error) {
	ix := New()
	for r, err := range rows {
		if err != nil {
			return nil, err
		}
		if err := ix.add(r); err != nil && skipped != nil {
			skipped(r, err)
		}
	}
	return ix, nil
}

// Len returns the number of rules in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.rules
}

// Add indexes r. Adding a rule the owner already has, under the same Key,
// does nothing.
func (ix *Index) Add(r Rule) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.add(r)
}

func (ix *Index) add(r Rule) error {
	tk := textKey{s: r.Phrase, tag: r.Kind == Tag}
	tid, known := ix.textIDs[tk]
	var key string
	if known {
		key = ix.texts[tid].key
	} else {
		var err error
		if key, err = Key(r.Kind, r.Phrase); err != nil {
			return err
		}
	}
	if oid, ok := ix.ownerIDs[r.Owner]; ok && ix.find(oid, r.Kind, key) >= 0 {
		return nil
	}
	if known {
		ix.texts[tid].refs++
	} else {
		var pid uint32
		if r.Kind == Tag {
			pid = ix.tagPhrase(key)
		} else {
			words, err := parsePhrase(r.Phrase)
			if err != nil {
				return err
			}
			pid = ix.keywordPhrase(words)
		}
		tid = ix.newText(tk, key, pid)
	}
	pid := ix.texts[tid].phrase
	oid := ix.ownerID(r.Owner)
	ix.owners[oid].rules = append(ix.owners[oid].rules, ownerRule{kind: r.Kind, phrase: pid, text: tid})
	p := &ix.phrases[pid]
	if r.Kind == Mute {
		p.mutes = append(p.mutes, posting{owner: oid, text: tid})
	} else {
		p.follows = append(p.follows, posting{owner: oid, text: tid})
	}
	ix.rules++
	return nil
}

// find returns the index of owner oid's rule of kind k whose phrase has
// the given key, or -1.
func (ix *Index) find(oid uint32, k Kind, key string) int {
	for i, or := range ix.owners[oid].rules {
		if or.kind == k && ix.texts[or.text].key == key {
			return i
		}
	}
	return -1
}

// Remove takes r out of the index: the owner's rule of that kind whose
// phrase has the same Key. It reports whether there was one.
func (ix *Index) Remove(r Rule) bool {
	key, err := Key(r.Kind, r.Phrase)
	if err != nil {
		return false
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	oid, ok := ix.ownerIDs[r.Owner]
	if !ok {
		return false
	}
	i := ix.find(oid, r.Kind, key)
	if i < 0 {
		return false
	}
	ix.removeRule(oid, i)
	return true
}

// RemoveOwner takes every rule of o out of the index, as when a chat
// blocks the bot or a topic is deleted, and returns how many there were.
func (ix *Index) RemoveOwner(o Owner) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	oid, ok := ix.ownerIDs[o]
	if !ok {
		return 0
	}
	n := len(ix.owners[oid].rules)
	for i := n - 1; i >= 0; i-- {
		ix.removeRule(oid, i)
	}
	return n
}

// removeRule drops the i-th rule of owner oid, and the owner, phrase and
// text when nothing uses them any more.
func (ix *Index) removeRule(oid uint32, i int) {
	o := &ix.owners[oid]
	or := o.rules[i]
	o.rules = slices.Delete(o.rules, i, i+1)
	p := &ix.phrases[or.phrase]
	if or.kind == Mute {
		p.mutes = dropPosting(p.mutes, oid, or.text)
	} else {
		p.follows = dropPosting(p.follows, oid, or.text)
	}
	ix.dropText(or.text)
	ix.rules--
	ix.release(or.phrase, oid)
}

// dropPosting removes one posting of owner oid with text tid; the order of
// postings does not matter.
func dropPosting(ps []posting, oid, tid uint32) []posting {
	for j, p := range ps {
		if p.owner == oid && p.text == tid {
			last := len(ps) - 1
			ps[j] = ps[last]
			return ps[:last]
		}
	}
	return ps
}

// release frees phrase pid and owner oid if no rule uses them.
func (ix *Index) release(pid, oid uint32) {
	if o := &ix.owners[oid]; len(o.rules) == 0 {
		delete(ix.ownerIDs, o.owner)
		*o = ownerRules{}
		ix.freeOwners = append(ix.freeOwners, oid)
	}
	p := &ix.phrases[pid]
	if len(p.follows) > 0 || len(p.mutes) > 0 {
		return
	}
	if p.words == nil {
		delete(ix.tags, p.key)
	} else {
		delete(ix.byStems, p.key)
		for _, s := range p.words[0] {
			es := slices.DeleteFunc(ix.first[s.Text], func(e entry) bool { return e.phrase == pid })
			if len(es) == 0 {
				delete(ix.first, s.Text)
			} else {
				ix.first[s.Text] = es
			}
		}
	}
	*p = phrase{}
	ix.freePhrases = append(ix.freePhrases, pid)
}

func (ix *Index) keywordPhrase(words [][]arabic.Stem) uint32 {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		for j, s := range w {
			if j > 0 {
				b.WriteByte('|')
			}
			b.WriteString(s.Text)
			b.WriteByte('0' + byte(s.Class))
		}
	}
	key := b.String()
	if pid, ok := ix.byStems[key]; ok {
		return pid
	}
	pid := ix.newPhrase(phrase{key: key, words: words})
	ix.byStems[key] = pid
	for _, s := range words[0] {
		ix.first[s.Text] = append(ix.first[s.Text], entry{phrase: pid, class: s.Class})
	}
	return pid
}

func (ix *Index) tagPhrase(key string) uint32 {
	if pid, ok := ix.tags[key]; ok {
		return pid
	}
	pid := ix.newPhrase(phrase{key: key})
	ix.tags[key] = pid
	return pid
}

func (ix *Index) newPhrase(p phrase) uint32 {
	if n := len(ix.freePhrases); n > 0 {
		pid := ix.freePhrases[n-1]
		ix.freePhrases = ix.freePhrases[:n-1]
		ix.phrases[pid] = p
		return pid
	}
	ix.phrases = append(ix.phrases, p)
	return uint32(len(ix.phrases) - 1)
}

func (ix *Index) ownerID(o Owner) uint32 {
	if oid, ok := ix.ownerIDs[o]; ok {
		return oid
	}
	var oid uint32
	if n := len(ix.freeOwners); n > 0 {
		oid = ix.freeOwners[n-1]
		ix.freeOwners = ix.freeOwners[:n-1]
		ix.owners[oid] = ownerRules{owner: o}
	} else {
		ix.owners = append(ix.owners, ownerRules{owner: o})
		oid = uint32(len(ix.owners) - 1)
	}
	ix.ownerIDs[o] = oid
	return oid
}

func (ix *Index) newText(k textKey, key string, pid uint32) uint32 {
	k.s = strings.Clone(k.s) // do not keep the caller's buffer alive
	t := text{textKey: k, key: key, phrase: pid, refs: 1}
	var tid uint32
	if n := len(ix.freeTexts); n > 0 {
		tid = ix.freeTexts[n-1]
		ix.freeTexts = ix.freeTexts[:n-1]
		ix.texts[tid] = t
	} else {
		ix.texts = append(ix.texts, t)
		tid = uint32(len(ix.texts) - 1)
	}
	ix.textIDs[k] = tid
	return tid
}

func (ix *Index) dropText(tid uint32) {
	t := &ix.texts[tid]
	if t.refs--; t.refs > 0 {
		return
	}
	delete(ix.textIDs, t.textKey)
	*t = text{}
	ix.freeTexts = append(ix.freeTexts, tid)
}
