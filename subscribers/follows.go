package subscribers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/keywords"
	"github.com/almaalouma/nashra/store"
)

// ErrTooManyFollows is returned by Follow when the chat holds
// keywords.MaxPerOwner follows, mutes and tags already.
var ErrTooManyFollows = errors.New("subscribers: too many follows")

// followChangesKept is how long the log of changes to follows is kept:
// every running instance reads it each second, and one that starts reads
// the follows themselves.
const followChangesKept = 24 * time.Hour

// index is the follows of every chat in memory, kept in step with the
// store: built from it at start, changed at once by this instance's
// follows, and by the others' through the store's log of changes.
type index struct {
	mu sync.Mutex // serialises reloads; the keywords index has its own lock
	ix *keywords.Index
	// topics lists the forum topics with rules of the chats that have
	// any, so that a chat's rules can be dropped whole; rules outside
	// topics are always looked for.
	topics map[int64][]int64
	// seen is the position of the last change read in the store's log.
	seen int64
}

func kindOf(k nashra.FollowKind) keywords.Kind {
	switch k {
	case nashra.FollowMute:
		return keywords.Mute
	case nashra.FollowTag:
		return keywords.Tag
	}
	return keywords.Follow
}

func ruleOf(f nashra.Follow) keywords.Rule {
	return keywords.Rule{Owner: keywords.Owner{Chat: f.ChatID, Topic: f.ThreadID}, Kind: kindOf(f.Kind), Phrase: f.Phrase}
}

// LoadFollows builds the follows' index from the store; call it once at
// start, before the fan-out matches articles. A follow the index refuses
// (stored under older rules) is logged and left out.
func (s *Service) LoadFollows(ctx context.Context) error {
	seen, err := s.st.LastFollowChange(ctx)
	if err != nil {
		return err
	}
	topics := map[int64][]int64{}
	rules := func(yield func(keywords.Rule, error) bool) {
		for f, err := range s.st.AllFollows(ctx) {
			if err == nil && f.ThreadID != 0 {
				topics[f.ChatID] = appendNew(topics[f.ChatID], f.ThreadID)
			}
			if !yield(ruleOf(f), err) {
				return
			}
		}
	}
	ix, err := keywords.Build(rules, func(r keywords.Rule, err error) {
		s.log.Warn("follow left out of the index", "chat_id", r.Owner.Chat, "kind", r.Kind, "err", err)
	})
	if err != nil {
		return fmt.Errorf("load follows: %w", err)
	}
	s.follows.mu.Lock()
	defer s.follows.mu.Unlock()
	s.follows.ix, s.follows.topics, s.follows.seen = ix, topics, seen
	s.log.Info("follows loaded", "rules", ix.Len())
	return nil
}

func appendNew(xs []int64, x int64) []int64 {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// SyncFollows brings the index in step with the changes other instances
// (and this one) logged since the last call.
func (s *Service) SyncFollows(ctx context.Context) error {
	const page = 1000
	for {
		s.follows.mu.Lock()
		seen := s.follows.seen
		s.follows.mu.Unlock()
		chats, last, err := s.st.FollowChanges(ctx, seen, page)
		if err != nil {
			return err
		}
		for _, c := range chats {
			if err := s.reloadChat(ctx, c); err != nil {
				return err
			}
		}
		s.follows.mu.Lock()
		s.follows.seen = last
		s.follows.mu.Unlock()
		if last == seen {
			return nil
		}
	}
}

// reloadChat replaces a chat's rules in the index by those in the store.
func (s *Service) reloadChat(ctx context.Context, chatID int64) error {
	fs, err := s.st.ChatFollows(ctx, chatID)
	if err != nil {
		return err
	}
	f := &s.follows
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ix == nil {
		return nil
	}
	f.ix.RemoveOwner(keywords.Owner{Chat: chatID})
	for _, t := range f.topics[chatID] {
		f.ix.RemoveOwner(keywords.Owner{Chat: chatID, Topic: t})
	}
	delete(f.topics, chatID)
	for _, fl := range fs {
		if fl.ThreadID != 0 {
			f.topics[chatID] = appendNew(f.topics[chatID], fl.ThreadID)
		}
		if err := f.ix.Add(ruleOf(fl)); err != nil {
			s.log.Warn("follow left out of the index", "chat_id", chatID, "kind", fl.Kind, "err", err)
		}
	}
	return nil
}

// RunFollowSync keeps the index in step with the store every interval
// until ctx ends, forgets changes every instance has read, and refreshes
// the follows' metrics each minute.
func (s *Service) RunFollowSync(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastForget, lastGauge time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.SyncFollows(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("cannot read the changes of follows", "err", err)
		}
		now := s.now()
		if now.Sub(lastForget) > time.Hour {
			lastForget = now
			if _, err := s.st.ForgetFollowChanges(ctx, now.Add(-followChangesKept)); err != nil && ctx.Err() == nil {
				s.log.Error("cannot forget old changes of follows", "err", err)
			}
		}
		if s.metrics != nil && now.Sub(lastGauge) > time.Minute {
			lastGauge = now
			if err := s.gaugeFollows(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("cannot count the follows", "err", err)
			}
		}
	}
}

// followMetrics are the follows' Prometheus series, read from the store
// each minute so that a scrape never queries it.
type followMetrics struct {
	top   *prometheus.GaugeVec
	rules prometheus.Gauge
}

// RegisterMetrics registers the follows' series on reg:
// nashra_keyword_followers, chats following each of the 20 most followed
// keywords, and nashra_follow_rules, the rules in the in-memory index.
func (s *Service) RegisterMetrics(reg prometheus.Registerer) error {
	m := &followMetrics{
		top: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nashra_keyword_followers",
			Help: "Chats following each of the 20 most followed keywords."}, []string{"keyword"}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{Name: "nashra_follow_rules",
			Help: "Keywords, mutes and tags followed, as held in memory for the fan-out."}),
	}
	for _, c := range []prometheus.Collector{m.top, m.rules} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register follow metrics: %w", err)
		}
	}
	s.metrics = m
	return nil
}

func (s *Service) gaugeFollows(ctx context.Context) error {
	top, err := s.st.TopFollows(ctx, nashra.FollowKeyword, 20)
	if err != nil {
		return err
	}
	s.metrics.top.Reset()
	for _, c := range top {
		s.metrics.top.WithLabelValues(c.Phrase).Set(float64(c.Chats))
	}
	s.follows.mu.Lock()
	ix := s.follows.ix
	s.follows.mu.Unlock()
	if ix != nil {
		s.metrics.rules.Set(float64(ix.Len()))
	}
	return nil
}

// Follow makes a chat, or one of its forum topics (threadID), follow or
// mute a phrase, or follow a feed tag. It returns the follow and whether
// it is new: a phrase that is the same as one followed already, after
// normalisation, is not added twice. A phrase that cannot be followed is
// keywords.ErrEmpty, ErrTooShort or ErrTooLong; a chat at its limit gets
// ErrTooManyFollows; an unknown chat store.ErrNotFound.
func (s *Service) Follow(ctx context.Context, chatID, threadID int64, kind nashra.FollowKind, phrase string) (nashra.Follow, bool, error) {
	phrase = strings.Join(strings.Fields(phrase), " ")
	key, err := keywords.Key(kindOf(kind), phrase)
	if err != nil {
		return nashra.Follow{}, false, err
	}
	f := nashra.Follow{ChatID: chatID, ThreadID: threadID, Kind: kind, Key: key, Phrase: phrase}
	added, err := s.st.AddFollow(ctx, f, keywords.MaxPerOwner, s.now())
	if errors.Is(err, store.ErrFollowLimit) {
		return f, false, ErrTooManyFollows
	}
	if err != nil {
		return f, false, err
	}
	if added {
		s.indexAdd(f)
	}
	return f, added, nil
}

func (s *Service) indexAdd(f nashra.Follow) {
	s.follows.mu.Lock()
	defer s.follows.mu.Unlock()
	if s.follows.ix == nil {
		return
	}
	if f.ThreadID != 0 {
		s.follows.topics[f.ChatID] = appendNew(s.follows.topics[f.ChatID], f.ThreadID)
	}
	if err := s.follows.ix.Add(ruleOf(f)); err != nil {
		s.log.Warn("follow left out of the index", "chat_id", f.ChatID, "kind", f.Kind, "err", err)
	}
}

func (s *Service) indexRemove(f nashra.Follow) {
	s.follows.mu.Lock()
	defer s.follows.mu.Unlock()
	if s.follows.ix != nil {
		s.follows.ix.Remove(ruleOf(f))
	}
}

// Unfollow removes the chat's follow (or mute, or tag) of phrase in topic
// threadID and returns it, as the reader wrote it; store.ErrNotFound when
// there was none.
func (s *Service) Unfollow(ctx context.Context, chatID, threadID int64, kind nashra.FollowKind, phrase string) (nashra.Follow, error) {
	key, err := keywords.Key(kindOf(kind), strings.Join(strings.Fields(phrase), " "))
	if err != nil {
		return nashra.Follow{}, fmt.Errorf("unfollow: %w", store.ErrNotFound)
	}
	f, err := s.st.RemoveFollow(ctx, chatID, threadID, kind, key, s.now())
	if err != nil {
		return f, err
	}
	s.indexRemove(f)
	return f, nil
}

// UnfollowID removes the chat's follow id, as a remove button asks, and
// returns it; store.ErrNotFound when the chat has no such follow.
func (s *Service) UnfollowID(ctx context.Context, chatID, id int64) (nashra.Follow, error) {
	f, err := s.st.RemoveFollowByID(ctx, chatID, id, s.now())
	if err != nil {
		return f, err
	}
	s.indexRemove(f)
	return f, nil
}

// Follows returns a chat's follows, mutes and tags in all its topics,
// oldest first.
func (s *Service) Follows(ctx context.Context, chatID int64) ([]nashra.Follow, error) {
	return s.st.ChatFollows(ctx, chatID)
}

// TopicToGeneral moves what a forum topic follows, sections included, and
// its waiting posts to the group's general topic, as when Telegram says
// the topic is gone, and returns how many follows and sections it had.
func (s *Service) TopicToGeneral(ctx context.Context, chatID, threadID int64) (int, error) {
	n, err := s.st.MoveTopicToGeneral(ctx, chatID, threadID, s.now())
	if err != nil || n == 0 {
		return n, err
	}
	if err := s.reloadChat(ctx, chatID); err != nil {
		return n, fmt.Errorf("reload follows of chat %d: %w", chatID, err)
	}
	return n, nil
}

// SubscribeIn adds sections to what a chat follows in one of its forum
// topics, and returns those it did not follow there yet.
func (s *Service) SubscribeIn(ctx context.Context, chatID, threadID int64, slugs []string) ([]string, error) {
	return s.st.SubscribeIn(ctx, chatID, threadID, slugs, s.now())
}

// Followers returns the chats an article goes to because of the keywords
// and tags they follow, each with the reason, and the chats and topics
// that mute a phrase of it. Before LoadFollows there are none.
func (s *Service) Followers(a nashra.Article) ([]nashra.FollowDelivery, []nashra.Topic) {
	s.follows.mu.Lock()
	ix := s.follows.ix
	s.follows.mu.Unlock()
	if ix == nil {
		return nil, nil
	}
	res := ix.Match(keywords.Article{Title: a.Title, Summary: a.Summary, Categories: a.Categories})
	var follows []nashra.FollowDelivery
	if len(res.Follows) > 0 {
		follows = make([]nashra.FollowDelivery, len(res.Follows))
	}
	for i, m := range res.Follows {
		reason := m.Phrase
		if m.Kind == keywords.Tag {
			reason = "#" + m.Phrase
		}
		follows[i] = nashra.FollowDelivery{ChatID: m.Owner.Chat, ThreadID: m.Owner.Topic, Reason: reason}
	}
	var muted []nashra.Topic
	for _, o := range res.Muted {
		muted = append(muted, nashra.Topic{ChatID: o.Chat, ThreadID: o.Topic})
	}
	return follows, muted
}

// Matching returns the articles of as that a phrase followed (or a tag,
// for kind nashra.FollowTag) matches, in their order: what "آخر ما نُشر"
// shows a chat that just followed it.
func Matching(kind nashra.FollowKind, phrase string, as []nashra.Article) []nashra.Article {
	ix := keywords.New()
	if err := ix.Add(keywords.Rule{Owner: keywords.Owner{Chat: 1}, Kind: kindOf(kind), Phrase: phrase}); err != nil {
		return nil
	}
	var out []nashra.Article
	for _, a := range as {
		if len(ix.Match(keywords.Article{Title: a.Title, Summary: a.Summary, Categories: a.Categories}).Follows) > 0 {
			out = append(out, a)
		}
	}
	return out
}
