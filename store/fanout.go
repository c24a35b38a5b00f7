package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/almaalouma/nashra"
)

// FanOut is an article handed to the delivery engine.
type FanOut struct {
	ArticleID int64
	// Breaking puts every row in LaneBreaking.
	Breaking bool
	// State of the rows created: DeliveryPending, or DeliveryStale for an
	// article too old to be news, whose rows are kept and counted but never
	// sent.
	State nashra.DeliveryState
	Now   time.Time
	// Follows are the chats that follow one of the article's keywords or
	// tags; those that get it for its sections anyway keep their section
	// row.
	Follows []nashra.FollowDelivery
	// Muted are the chats, in a forum topic or not, that mute a phrase of
	// the article: their section rows are dropped.
	Muted []nashra.Topic
}

// FanOutResult says what handing an article on did.
type FanOutResult struct {
	// Handed is false when the article was not new: someone handed it on
	// already, and nothing was done.
	Handed   bool
	Channels int
	// Chats counts the rows of chats that follow the article's sections,
	// less those Muted dropped; Followed those of chats that follow it by
	// keyword or tag only.
	Chats    int
	Followed int
	Muted    int
	// Deferred counts the chats that follow the article by keyword or tag
	// beyond the first fanOutInline: stored as lists in the same
	// transaction, their rows are written by ExpandFanOut. A chat among
	// them that gets the article for a section already, or left since,
	// gets no second row.
	Deferred int
	// Unresolved lists channels of the article's sections whose numeric id
	// is not known yet; they got no row.
	Unresolved []string
}

// HandOn moves a new article to "handed" and creates its outbox rows in the
// same transaction, so that a crash loses neither: one row per channel
// mapped to one of its sections, then one per active chat subscribed to one
// of them, except readers who take the daily digest only. Each is one
// set-based INSERT … SELECT; an article that is no longer new is left alone,
// and a row that exists already is kept as it is. The chats that follow it
// by keyword or tag come last: the first fanOutInline get their rows here,
// the rest are stored as lists for ExpandFanOut.
func (db *DB) HandOn(ctx context.Context, f FanOut) (FanOutResult, error) {
	var res FanOutResult
	now := f.Now.UnixMilli()
	breaking := 0
	if f.Breaking {
		breaking = 1
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res = FanOutResult{}
		r, err := tx.ExecContext(ctx, `UPDATE articles SET state = 'handed' WHERE id = ? AND state = 'new'`, f.ArticleID)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return err
		}
		res.Handed = true
		// Channels first: in the breaking lane, ids break ties.
		r, err = tx.ExecContext(ctx, `INSERT INTO deliveries (article_id, chat_id, kind, lane, state, created_at, due_at, not_before)
			SELECT ?, ch.chat_id, 'channel', CASE WHEN ? = 1 THEN 1 ELSE 2 END, ?, ?, ?, ?
			FROM (SELECT DISTINCT COALESCE(l.chat_id, CASE WHEN l.channel LIKE '-100%' THEN CAST(l.channel AS BIGINT) END) AS chat_id
				FROM section_channels l JOIN article_sections a ON a.section_slug = l.section_slug
				WHERE a.article_id = ? AND l.removed = 0 AND COALESCE(l.can_post, 1) = 1) ch
			WHERE ch.chat_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM chats c WHERE c.id = ch.chat_id AND c.active = 0)
			ON CONFLICT (article_id, chat_id) DO NOTHING`,
			f.ArticleID, breaking, f.State, now, now, now, f.ArticleID)
		if err != nil {
			return fmt.Errorf("channels: %w", err)
		}
		n, _ := r.RowsAffected()
		res.Channels = int(n)
		r, err = tx.ExecContext(ctx, `INSERT INTO deliveries (article_id, chat_id, kind, lane, state, created_at, due_at, not_before)
			SELECT ?, c.id, c.kind, CASE WHEN ? = 1 THEN 1 WHEN c.kind = 'channel' THEN 2 WHEN c.kind = 'private' THEN 4 ELSE 3 END,
				?, ?, ?, ?
			FROM chats c
			WHERE c.active = 1 AND c.mode <> 'digest' AND c.id IN (SELECT s.chat_id FROM subscriptions s
				JOIN article_sections a ON a.section_slug = s.section_slug WHERE a.article_id = ?)
			ON CONFLICT (article_id, chat_id) DO NOTHING`,
			f.ArticleID, breaking, f.State, now, now, now, f.ArticleID)
		if err != nil {
			return fmt.Errorf("subscribers: %w", err)
		}
		n, _ = r.RowsAffected()
		res.Chats = int(n)
		if n > 0 {
			if err := topicRows(ctx, tx, f.ArticleID); err != nil {
				return fmt.Errorf("topics: %w", err)
			}
			if res.Muted, err = dropMuted(ctx, tx, f.ArticleID, f.Muted); err != nil {
				return fmt.Errorf("mutes: %w", err)
			}
			res.Chats -= res.Muted
		}
		if res.Followed, res.Deferred, err = db.handOnFollows(ctx, tx, f, breaking); err != nil {
			return fmt.Errorf("follows: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT l.channel FROM section_channels l
			JOIN article_sections a ON a.section_slug = l.section_slug
			WHERE a.article_id = ? AND l.removed = 0 AND l.chat_id IS NULL AND l.channel NOT LIKE '-100%'
			ORDER BY l.channel`, f.ArticleID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ch string
			if err := rows.Scan(&ch); err != nil {
				return err
			}
			res.Unresolved = append(res.Unresolved, ch)
		}
		return rows.Err()
	})
	if err != nil {
		return FanOutResult{}, fmt.Errorf("hand on article %d: %w", f.ArticleID, err)
	}
	db.analyzeAfter(ctx, "deliveries", res.Channels+res.Chats+res.Followed)
	return res, nil
}

// topicRows sends the section rows of chats that follow a section of the
// article inside a forum topic to that topic. Few chats have topics: this
// leaves the fan-out's one statement as fast as without them.
func topicRows(ctx context.Context, tx *sql.Tx, articleID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE deliveries SET thread_id = (SELECT MIN(s.thread_id) FROM subscriptions s
			JOIN article_sections a ON a.section_slug = s.section_slug
			WHERE a.article_id = deliveries.article_id AND s.chat_id = deliveries.chat_id)
		WHERE article_id = ? AND chat_id IN (SELECT s.chat_id FROM subscriptions s
			JOIN article_sections a ON a.section_slug = s.section_slug WHERE a.article_id = ? AND s.thread_id <> 0)`,
		articleID, articleID)
	return err
}

// mutesChunk is how many chats one statement dropping the muters' rows
// names, as parameters: under both databases' limits (32,766 on SQLite,
// 65,535 on PostgreSQL).
const mutesChunk = 10_000

// dropMuted deletes the section rows of the chats and topics that mute the
// article, and returns how many.
func dropMuted(ctx context.Context, tx *sql.Tx, articleID int64, muted []nashra.Topic) (int, error) {
	byThread := map[int64][]int64{}
	for _, m := range muted {
		byThread[m.ThreadID] = append(byThread[m.ThreadID], m.ChatID)
	}
	var dropped int
	for thread, chats := range byThread {
		for c := range slices.Chunk(chats, mutesChunk) {
			args := append([]any{articleID, thread}, anys(c)...)
			r, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE article_id = ? AND thread_id = ? AND reason = ''
				AND chat_id IN (`+placeholders(len(c))+`)`, args...)
			if err != nil {
				return dropped, err
			}
			n, _ := r.RowsAffected()
			dropped += int(n)
		}
	}
	return dropped, nil
}

// fanOutInline is how many chats that follow an article by keyword or tag
// get their rows in the hand-on transaction; the others are stored as lists
// of fanOutList chats, each expanded into rows in a transaction of its own
// (ExpandFanOut). Most articles match fewer readers and are handed on whole
// at once. One that matches tens of thousands is handed on in a few tens of
// milliseconds all the same, and its rows, some 6 µs each, are written a
// list at a time: the store's one writer is never held for more than a
// list (some 30 ms), and replies, clicks and claims get in between.
const (
	fanOutInline = 500
	fanOutList   = 2_000
)

// followList is chats that follow an article, encoded as a JSON array of
// [chat id, thread id, reason], the one parameter of insertFollowed: a
// VALUES list of thousands of rows costs SQLite more to parse than to
// insert.
type followList struct {
	articleID int64
	breaking  int
	state     nashra.DeliveryState
	now       int64
	json      string
}

// handOnFollows writes the rows of the first fanOutInline chats that
// follow the article by keyword or tag, stores the rest as lists, and
// returns how many rows it created and how many chats it deferred.
func (db *DB) handOnFollows(ctx context.Context, tx *sql.Tx, f FanOut, breaking int) (added, deferred int, err error) {
	if len(f.Follows) == 0 {
		return 0, 0, nil
	}
	// In the order of the chats' ids, the lookups and the index entries
	// written walk their B-trees in order: a list of 2,000 chats in no
	// order takes three times as long to expand.
	follows := slices.Clone(f.Follows)
	slices.SortFunc(follows, func(a, b nashra.FollowDelivery) int { return cmp.Compare(a.ChatID, b.ChatID) })
	l := followList{articleID: f.ArticleID, breaking: breaking, state: f.State, now: f.Now.UnixMilli()}
	quoted := map[string][]byte{}
	inline := follows[:min(len(follows), fanOutInline)]
	if l.json, err = encodeFollows(inline, quoted); err != nil {
		return 0, 0, err
	}
	if added, err = db.insertFollowed(ctx, tx, l); err != nil {
		return 0, 0, err
	}
	// The lists go in one statement: one round trip to PostgreSQL, not one
	// per list.
	var values []string
	var args []any
	for c := range slices.Chunk(follows[len(inline):], fanOutList) {
		values = append(values, "(?, ?, ?, ?, ?, ?)")
		args = append(args, l.articleID, breaking, l.state, l.now, len(c), packFollows(c))
		deferred += len(c)
	}
	if len(values) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO fanout_lists (article_id, breaking, state, created_at, chats, list)
			VALUES `+strings.Join(values, ", "), args...); err != nil {
			return added, 0, fmt.Errorf("store the lists: %w", err)
		}
	}
	return added, deferred, nil
}

// encodeFollows writes fs as a JSON array of [chat id, thread id, reason].
// Written by hand, it takes a fraction of what encoding/json takes for
// tens of thousands of chats: the few reasons are quoted once each, kept
// in quoted.
func encodeFollows(fs []nashra.FollowDelivery, quoted map[string][]byte) (string, error) {
	b := make([]byte, 0, len(fs)*32)
	b = append(b, '[')
	for i, fd := range fs {
		q, ok := quoted[fd.Reason]
		if !ok {
			var err error
			if q, err = json.Marshal(fd.Reason); err != nil {
				return "", err
			}
			quoted[fd.Reason] = q
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, fd.ChatID, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, fd.ThreadID, 10)
		b = append(b, ',')
		b = append(b, q...)
		b = append(b, ']')
	}
	return string(append(b, ']')), nil
}

// packFollows writes fs, sorted by chat, compactly for fanout_lists: the
// reasons once each, then per chat the difference of its id from the one
// before, its topic and the number of its reason, as varints. Some 4 bytes
// a chat where JSON takes 30: writing JSON lists took PostgreSQL longer
// than the whole hand-on may.
func packFollows(fs []nashra.FollowDelivery) []byte {
	reasons := map[string]uint64{}
	var names []string
	for _, fd := range fs {
		if _, ok := reasons[fd.Reason]; !ok {
			reasons[fd.Reason] = uint64(len(names))
			names = append(names, fd.Reason)
		}
	}
	b := binary.AppendUvarint(make([]byte, 0, 16*len(names)+4*len(fs)), uint64(len(names)))
	for _, r := range names {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	var last int64
	for _, fd := range fs {
		b = binary.AppendVarint(b, fd.ChatID-last)
		b = binary.AppendVarint(b, fd.ThreadID)
		b = binary.AppendUvarint(b, reasons[fd.Reason])
		last = fd.ChatID
	}
	return b
}

// unpackFollows reads what packFollows wrote.
func unpackFollows(b []byte) ([]nashra.FollowDelivery, error) {
	bad := errors.New("a malformed list")
	uvarint := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	varint := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	count := uvarint()
	if count > uint64(len(b)) { // each takes a byte at least
		return nil, bad
	}
	names := make([]string, count)
	for i := range names {
		n := uvarint()
		if n > uint64(len(b)) {
			return nil, bad
		}
		names[i], b = string(b[:n]), b[n:]
	}
	var fs []nashra.FollowDelivery
	var last int64
	for len(b) > 0 {
		fd := nashra.FollowDelivery{ChatID: last + varint(), ThreadID: varint()}
		r := uvarint()
		if b == nil || r >= uint64(len(names)) {
			return nil, bad
		}
		fd.Reason, last = names[r], fd.ChatID
		fs = append(fs, fd)
	}
	return fs, nil
}

// insertFollowed creates the rows of the chats of l, active and not reading
// the digest only, and returns how many it created: a chat that has a row
// already keeps it.
func (db *DB) insertFollowed(ctx context.Context, tx *sql.Tx, l followList) (int, error) {
	from := `json_each(?) j CROSS JOIN chats c WHERE c.id = json_extract(j.value, '$[0]')`
	thread, reason := `json_extract(j.value, '$[1]')`, `json_extract(j.value, '$[2]')`
	if db.dialect == postgresDialect {
		from = `jsonb_array_elements(CAST(? AS jsonb)) j CROSS JOIN chats c WHERE c.id = CAST(j.value->>0 AS BIGINT)`
		thread, reason = `CAST(j.value->>1 AS BIGINT)`, `j.value->>2`
	}
	// CROSS JOIN keeps SQLite from walking every chat for each element:
	// the chats are looked up by id, one per element.
	r, err := tx.ExecContext(ctx, `INSERT INTO deliveries (article_id, chat_id, kind, lane, state, created_at, due_at, not_before,
			thread_id, reason)
		SELECT ?, c.id, c.kind, CASE WHEN ? = 1 THEN 1 WHEN c.kind = 'channel' THEN 2 WHEN c.kind = 'private' THEN 4 ELSE 3 END,
			?, ?, ?, ?, `+thread+`, `+reason+`
		FROM `+from+` AND c.active = 1 AND c.mode <> 'digest'
		ON CONFLICT (article_id, chat_id) DO NOTHING`, l.articleID, l.breaking, l.state, l.now, l.now, l.now, l.json)
	if err != nil {
		return 0, err
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// Expanded says what one ExpandFanOut wrote.
type Expanded struct {
	ArticleID int64
	State     nashra.DeliveryState
	// Rows counts the rows created: fewer than the list's chats when some
	// got the article for a section, or left, since it was handed on.
	Rows int
}

// ExpandFanOut writes the rows of one list a hand-on stored, breaking news
// first, then in the order they were stored, and deletes the list, in one
// transaction; ok is false when no list was left. A list that cannot be
// read is deleted, and the error says so. A list expanded twice
// (two instances that both believe they lead) creates no row twice.
func (db *DB) ExpandFanOut(ctx context.Context) (e Expanded, ok bool, err error) {
	if none, err := db.none(ctx, `SELECT 1 FROM fanout_lists LIMIT 1`); none || err != nil {
		return Expanded{}, false, err
	}
	var malformed error
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		e, ok, malformed = Expanded{}, false, nil
		var id int64
		var packed []byte
		l := followList{}
		err := tx.QueryRowContext(ctx, `SELECT id, article_id, breaking, state, created_at, list FROM fanout_lists
			ORDER BY breaking DESC, id LIMIT 1`).Scan(&id, &l.articleID, &l.breaking, &l.state, &l.now, &packed)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		fs, err := unpackFollows(packed)
		if err != nil {
			// Kept, it would stop every list behind it.
			malformed = fmt.Errorf("list %d of article %d dropped: %w", id, l.articleID, err)
			_, err = tx.ExecContext(ctx, `DELETE FROM fanout_lists WHERE id = ?`, id)
			return err
		}
		if l.json, err = encodeFollows(fs, map[string][]byte{}); err != nil {
			return err
		}
		n, err := db.insertFollowed(ctx, tx, l)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM fanout_lists WHERE id = ?`, id); err != nil {
			return err
		}
		e, ok = Expanded{ArticleID: l.articleID, State: l.state, Rows: n}, true
		return nil
	})
	if err == nil {
		err = malformed
	}
	if err != nil {
		return Expanded{}, false, fmt.Errorf("expand a fan-out: %w", err)
	}
	return e, ok, nil
}

// dropFanOutLists deletes what is left of an article's stored lists and
// returns how many chats they named.
func dropFanOutLists(ctx context.Context, tx *sql.Tx, articleID int64) (int, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(chats), 0) FROM fanout_lists WHERE article_id = ?`,
		articleID).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM fanout_lists WHERE article_id = ?`, articleID)
	return n, err
}
