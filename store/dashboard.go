package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

// Why a sign-in link was refused; ErrNotFound when it was never given.
var (
	ErrLinkUsed    = errors.New("sign-in link already used")
	ErrLinkExpired = errors.New("sign-in link expired")
)

// CreateSignInLink keeps the hash of a one-time sign-in link for admin,
// valid until expires, and forgets the links and sessions that ended
// before now.
func (db *DB) CreateSignInLink(ctx context.Context, hash string, admin int64, now, expires time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_links WHERE expires_at < ?`, now.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_sessions WHERE expires_at < ?`, now.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO dashboard_links (token_hash, admin_id, created_at, expires_at)
			VALUES (?, ?, ?, ?)`, hash, admin, now.UnixMilli(), expires.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("create sign-in link: %w", err)
	}
	return nil
}

// UseSignInLink marks the link with this hash used and returns its admin.
// Of requests racing with one link, one alone succeeds; the others, and
// any later one, get ErrLinkUsed. A link past its end gets ErrLinkExpired,
// one never given ErrNotFound.
func (db *DB) UseSignInLink(ctx context.Context, hash string, now time.Time) (int64, error) {
	var admin int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE dashboard_links SET used_at = ?
			WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING admin_id`,
			now.UnixMilli(), hash, now.UnixMilli()).Scan(&admin)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var used sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT used_at FROM dashboard_links WHERE token_hash = ?`, hash).Scan(&used)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case used.Valid:
			return ErrLinkUsed
		}
		return ErrLinkExpired
	})
	if err != nil {
		return 0, fmt.Errorf("use sign-in link: %w", err)
	}
	return admin, nil
}

// CreateSession keeps the hash of a signed-in browser's token for admin,
// valid until expires.
func (db *DB) CreateSession(ctx context.Context, hash string, admin int64, now, expires time.Time) error {
	if _, err := db.write.ExecContext(ctx, `INSERT INTO dashboard_sessions (token_hash, admin_id, created_at, expires_at)
		VALUES (?, ?, ?, ?)`, hash, admin, now.UnixMilli(), expires.UnixMilli()); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns the admin of the live session with this hash:
// ErrNotFound when there is none, or it ended or was revoked.
func (db *DB) Session(ctx context.Context, hash string, now time.Time) (int64, error) {
	var admin int64
	err := db.read.QueryRowContext(ctx, `SELECT admin_id FROM dashboard_sessions
		WHERE token_hash = ? AND expires_at > ? AND revoked_at IS NULL`, hash, now.UnixMilli()).Scan(&admin)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("read session: %w", err)
	}
	return admin, nil
}

// EndSession revokes the session with this hash (signing out one browser).
func (db *DB) EndSession(ctx context.Context, hash string, now time.Time) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE dashboard_sessions SET revoked_at = ?
		WHERE token_hash = ? AND revoked_at IS NULL`, now.UnixMilli(), hash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// RevokeSessions ends every live session of admin, and the sign-in links
// not used yet, and returns how many sessions it ended.
func (db *DB) RevokeSessions(ctx context.Context, admin int64, now time.Time) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE dashboard_sessions SET revoked_at = ?
			WHERE admin_id = ? AND revoked_at IS NULL AND expires_at > ?`, now.UnixMilli(), admin, now.UnixMilli())
		if err != nil {
			return err
		}
		if n, err = r.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE dashboard_links SET expires_at = ? WHERE admin_id = ? AND used_at IS NULL AND expires_at > ?`,
			now.UnixMilli(), admin, now.UnixMilli())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of %d: %w", admin, err)
	}
	return int(n), nil
}

// AudienceHour is one hour of readers coming and going in one scope: a
// medium (private, group, channel, email) or "section:<slug>".
type AudienceHour struct {
	Hour                   int64 // hours since the Unix epoch
	Scope                  string
	Joins, Leaves, Bounces int
}

// AudienceHours returns the hours from since on, in time order.
func (db *DB) AudienceHours(ctx context.Context, since time.Time) ([]AudienceHour, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT hour, scope, joins, leaves, bounces FROM audience_hours
		WHERE hour >= ? ORDER BY hour, scope`, since.UnixMilli()/hourMillis)
	if err != nil {
		return nil, fmt.Errorf("audience hours: %w", err)
	}
	defer rows.Close()
	var out []AudienceHour
	for rows.Next() {
		var h AudienceHour
		if err := rows.Scan(&h.Hour, &h.Scope, &h.Joins, &h.Leaves, &h.Bounces); err != nil {
			return nil, fmt.Errorf("audience hours: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audience hours: %w", err)
	}
	return out, nil
}

// hourMillis is one hour in Unix milliseconds: the counters' unit.
const hourMillis = 60 * 60 * 1000

// HourStart returns the start of an hour of the counters.
func HourStart(hour int64) time.Time { return time.UnixMilli(hour * hourMillis).UTC() }

// DeliveryHours returns, per hour from since on, how many deliveries
// reached each final state (sent, dead, stale, cancelled, retracted).
func (db *DB) DeliveryHours(ctx context.Context, since time.Time) (map[int64]map[nashra.DeliveryState]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT hour, state, n FROM delivery_hours WHERE hour >= ?`, since.UnixMilli()/hourMillis)
	if err != nil {
		return nil, fmt.Errorf("delivery hours: %w", err)
	}
	defer rows.Close()
	out := map[int64]map[nashra.DeliveryState]int{}
	for rows.Next() {
		var hour int64
		var state nashra.DeliveryState
		var n int
		if err := rows.Scan(&hour, &state, &n); err != nil {
			return nil, fmt.Errorf("delivery hours: %w", err)
		}
		if out[hour] == nil {
			out[hour] = map[nashra.DeliveryState]int{}
		}
		out[hour][state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivery hours: %w", err)
	}
	return out, nil
}

// CountArticlesSince counts the articles first seen at or after since.
func (db *DB) CountArticlesSince(ctx context.Context, since time.Time) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM articles WHERE first_seen_at >= ?`, since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count articles: %w", err)
	}
	return n, nil
}

// DeliveriesSentSince counts the messages sent at or after since.
func (db *DB) DeliveriesSentSince(ctx context.Context, since time.Time) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE sent_at >= ?`, since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count sent deliveries: %w", err)
	}
	return n, nil
}

// ArticlesBySection counts the stored articles of each section.
func (db *DB) ArticlesBySection(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT section_slug, COUNT(*) FROM article_sections GROUP BY section_slug`)
	if err != nil {
		return nil, fmt.Errorf("count articles by section: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count articles by section: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// SetChannelMembers keeps what Telegram said of a channel's subscribers.
func (db *DB) SetChannelMembers(ctx context.Context, chatID int64, members int, at time.Time) error {
	if _, err := db.write.ExecContext(ctx, `INSERT INTO channel_members (chat_id, members, checked_at) VALUES (?, ?, ?)
		ON CONFLICT (chat_id) DO UPDATE SET members = excluded.members, checked_at = excluded.checked_at`,
		chatID, members, at.UnixMilli()); err != nil {
		return fmt.Errorf("save members of channel %d: %w", chatID, err)
	}
	return nil
}

// ChannelMembers returns the subscribers of each channel whose count
// Telegram gave, by chat id.
func (db *DB) ChannelMembers(ctx context.Context) (map[int64]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT chat_id, members FROM channel_members`)
	if err != nil {
		return nil, fmt.Errorf("channel members: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("channel members: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// DigestSends returns, per digest among ids, how many of its mails of
// medium reached each final state (sent, bounced, dead, stale, cancelled).
func (db *DB) DigestSends(ctx context.Context, medium nashra.SendMedium, ids []int64) (map[int64]map[nashra.DeliveryState]int, error) {
	out := map[int64]map[nashra.DeliveryState]int{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.read.QueryContext(ctx, `SELECT digest_id, state, n FROM digest_sends
		WHERE medium = ? AND digest_id IN (`+placeholders(len(ids))+`)`, append([]any{medium}, anys(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("digest sends: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var state nashra.DeliveryState
		var n int
		if err := rows.Scan(&id, &state, &n); err != nil {
			return nil, fmt.Errorf("digest sends: %w", err)
		}
		if out[id] == nil {
			out[id] = map[nashra.DeliveryState]int{}
		}
		out[id][state] = n
	}
	return out, rows.Err()
}

// ArticleSort is the order of ArticleFigures.
type ArticleSort string

// The orders of the dashboard's list of articles, each newest first among
// equals.
const (
	SortFound     ArticleSort = "found"      // newest first
	SortSent      ArticleSort = "sent"       // most messages sent
	SortClicks    ArticleSort = "clicks"     // most unique clicks
	SortFirstPush ArticleSort = "first_push" // latest first push; never pushed last
)

// ArticleQuery selects a page of ArticleFigures.
type ArticleQuery struct {
	Sort ArticleSort
	// IDs, when not nil, limits the list to these articles (a search).
	IDs           []int64
	Limit, Offset int
}

// ArticleFigures is what became of one article: its pushes and clicks.
type ArticleFigures struct {
	ID          int64
	Title, Link string
	State       nashra.ArticleState
	FirstSeenAt time.Time
	Sections    []string
	// Deliveries that reached each final state.
	Sent, Dead, Stale, Cancelled, Retracted int
	// FirstSentAt and LastSentAt bound its messages; zero when none went.
	FirstSentAt, LastSentAt time.Time
	// RetractedAt is when an editor retracted it; zero when not.
	RetractedAt time.Time
	// Uniques counts unique clicks by medium, whatever the day.
	Uniques map[nashra.Medium]int
}

// TotalUniques is the article's unique clicks over every medium.
func (a ArticleFigures) TotalUniques() int {
	n := 0
	for _, u := range a.Uniques {
		n += u
	}
	return n
}

// ArticleFigures returns a page of articles with their figures, in q's
// order, and how many articles the whole list holds. It reads the
// counters the store keeps, never the deliveries or clicks themselves.
func (db *DB) ArticleFigures(ctx context.Context, q ArticleQuery) ([]ArticleFigures, int, error) {
	if q.IDs != nil && len(q.IDs) == 0 {
		return nil, 0, nil
	}
	where, args := "", []any{}
	if q.IDs != nil {
		where = ` WHERE a.id IN (` + placeholders(len(q.IDs)) + `)`
		args = anys(q.IDs)
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM articles a`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("article figures: %w", err)
	}
	var page string
	switch q.Sort {
	case SortSent:
		page = `SELECT a.id FROM articles a LEFT JOIN article_deliveries d ON d.article_id = a.id` + where +
			` ORDER BY COALESCE(d.sent, 0) DESC, a.first_seen_at DESC, a.id DESC`
	case SortClicks:
		page = `SELECT a.id FROM articles a LEFT JOIN (SELECT article_id, SUM(uniques) AS u FROM click_days GROUP BY article_id) c
			ON c.article_id = a.id` + where + ` ORDER BY COALESCE(c.u, 0) DESC, a.first_seen_at DESC, a.id DESC`
	case SortFirstPush:
		page = `SELECT a.id FROM articles a LEFT JOIN article_deliveries d ON d.article_id = a.id` + where +
			` ORDER BY COALESCE(d.first_sent_at, 0) DESC, a.first_seen_at DESC, a.id DESC`
	default:
		page = `SELECT a.id FROM articles a` + where + ` ORDER BY a.first_seen_at DESC, a.id DESC`
	}
	ids, err := int64s(ctx, db.read, page+` LIMIT ? OFFSET ?`, append(args, max(q.Limit, 1), max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("article figures: %w", err)
	}
	if len(ids) == 0 {
		return nil, total, nil
	}
	out := make([]ArticleFigures, len(ids))
	idx := make(map[int64]*ArticleFigures, len(ids))
	for i, id := range ids {
		out[i] = ArticleFigures{ID: id, Uniques: map[nashra.Medium]int{}}
		idx[id] = &out[i]
	}
	in := `(` + placeholders(len(ids)) + `)`
	rows, err := db.read.QueryContext(ctx, `SELECT a.id, a.title, a.link, a.state, a.first_seen_at,
		COALESCE(d.sent, 0), COALESCE(d.dead, 0), COALESCE(d.stale, 0), COALESCE(d.cancelled, 0), COALESCE(d.retracted, 0),
		d.first_sent_at, d.last_sent_at, a.retracted_at
		FROM articles a LEFT JOIN article_deliveries d ON d.article_id = a.id WHERE a.id IN `+in, anys(ids)...)
	if err != nil {
		return nil, 0, fmt.Errorf("article figures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var f ArticleFigures
		if err := rows.Scan(&id, &f.Title, &f.Link, &f.State, ms(&f.FirstSeenAt), &f.Sent, &f.Dead, &f.Stale, &f.Cancelled,
			&f.Retracted, ms(&f.FirstSentAt), ms(&f.LastSentAt), ms(&f.RetractedAt)); err != nil {
			return nil, 0, fmt.Errorf("article figures: %w", err)
		}
		f.ID, f.Uniques = id, idx[id].Uniques
		*idx[id] = f
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("article figures: %w", err)
	}
	rows.Close()
	crows, err := db.read.QueryContext(ctx, `SELECT article_id, medium, SUM(uniques) FROM click_days
		WHERE article_id IN `+in+` GROUP BY article_id, medium`, anys(ids)...)
	if err != nil {
		return nil, 0, fmt.Errorf("article clicks: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var id int64
		var m nashra.Medium
		var n int
		if err := crows.Scan(&id, &m, &n); err != nil {
			return nil, 0, fmt.Errorf("article clicks: %w", err)
		}
		idx[id].Uniques[m] = n
	}
	if err := crows.Err(); err != nil {
		return nil, 0, fmt.Errorf("article clicks: %w", err)
	}
	crows.Close()
	srows, err := db.read.QueryContext(ctx, `SELECT s.article_id, s.section_slug FROM article_sections s
		JOIN sections c ON c.slug = s.section_slug WHERE s.article_id IN `+in+` ORDER BY c.position`, anys(ids)...)
	if err != nil {
		return nil, 0, fmt.Errorf("article sections: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var id int64
		var slug string
		if err := srows.Scan(&id, &slug); err != nil {
			return nil, 0, fmt.Errorf("article sections: %w", err)
		}
		idx[id].Sections = append(idx[id].Sections, slug)
	}
	return out, total, srows.Err()
}

// ArticleTitle is an article's title as a search index keeps it.
type ArticleTitle struct {
	ID       int64
	Title    string
	Revision int
}

// ArticleTitles returns the titles of the articles stored after afterID or
// revised at or after revisedSince: what a search index lacks since it
// last read.
func (db *DB) ArticleTitles(ctx context.Context, afterID int64, revisedSince time.Time) ([]ArticleTitle, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, title, revision FROM articles WHERE id > ? OR revised_at >= ? ORDER BY id`,
		afterID, revisedSince.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("article titles: %w", err)
	}
	defer rows.Close()
	var out []ArticleTitle
	for rows.Next() {
		var t ArticleTitle
		if err := rows.Scan(&t.ID, &t.Title, &t.Revision); err != nil {
			return nil, fmt.Errorf("article titles: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
