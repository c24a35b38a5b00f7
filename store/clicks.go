package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/almaalouma/nashra"
)

// dayMillis is one day in Unix milliseconds; click days are UTC days since
// the Unix epoch.
const dayMillis = 24 * 60 * 60 * 1000

// purgedMetaKey keeps the first UTC day whose click rows are still kept:
// before it, counts come from click_days.
const purgedMetaKey = "clicks_purged_before_day"

// ClickResult counts what RecordClicks did.
type ClickResult struct {
	// Unique clicks were a reader's first on the article; Repeat ones were
	// counted in click_days.clicks only; Capped ones were new readers of a
	// network past its cap, counted in click_days.capped only.
	Unique, Repeat, Capped int
}

// ArticleLink returns the stored link of article id, ErrNotFound, or
// ErrRetracted when an editor retracted it. It is the only target a
// tracked link ever redirects to.
func (db *DB) ArticleLink(ctx context.Context, id int64) (string, error) {
	var link string
	var retracted sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT link, retracted_at FROM articles WHERE id = ?`, id).Scan(&link, &retracted)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read link of article %d: %w", id, err)
	}
	if retracted.Valid {
		return "", ErrRetracted
	}
	return link, nil
}

// RecordClicks stores a batch of clicks in one transaction: a row for each
// reader's first click on an article, and the daily counts per article and
// medium. A click of an anonymous reader (one with a Network) new to the
// article is stored only while its network has fewer than perNetwork
// readers of the article that day (perNetwork <= 0: no cap); past it, it is
// counted as capped and nothing else is kept of it. Rows go in multi-row
// statements: the writer shares the one write connection with
// 100,000-row fan-outs, and must catch up quickly when it gets it.
func (db *DB) RecordClicks(ctx context.Context, cs []nashra.Click, perNetwork int) (ClickResult, error) {
	var res ClickResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		keep, capped := cs, []nashra.Click(nil)
		if perNetwork > 0 {
			var err error
			if keep, capped, err = capNetworks(ctx, tx, cs, perNetwork); err != nil {
				return err
			}
		}
		uniques, err := insertClicks(ctx, tx, keep)
		if err != nil {
			return err
		}
		if err := countNetworks(ctx, tx, uniques); err != nil {
			return err
		}
		res = ClickResult{Unique: len(uniques), Repeat: len(keep) - len(uniques), Capped: len(capped)}
		return countDays(ctx, tx, keep, uniques, capped)
	})
	if err != nil {
		return ClickResult{}, fmt.Errorf("record %d clicks: %w", len(cs), err)
	}
	return res, nil
}

// clickDay keys the daily counts.
type clickDay struct {
	article, day int64
	medium       nashra.Medium
}

func dayOf(c nashra.Click) int64 { return c.At.UnixMilli() / dayMillis }

// countDays adds to the daily counts: every click kept is one click, each
// new reader one unique, each click past its network's cap one capped.
func countDays(ctx context.Context, tx *sql.Tx, kept, uniques, capped []nashra.Click) error {
	days := map[clickDay]*[3]int64{} // uniques, clicks, capped
	var order []clickDay             // map order is random; the upserts should not be
	for i, cs := range [][]nashra.Click{uniques, kept, capped} {
		for _, c := range cs {
			k := clickDay{c.ArticleID, dayOf(c), c.Medium}
			if days[k] == nil {
				days[k] = new([3]int64)
				order = append(order, k)
			}
			days[k][i]++
		}
	}
	// In key order, as every instance does: PostgreSQL would otherwise
	// let two instances' batches deadlock on each other's rows.
	slices.SortFunc(order, func(a, b clickDay) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.article, b.article), cmp.Compare(a.medium, b.medium))
	})
	const cols = 6
	for part := range slices.Chunk(order, 500) {
		args := make([]any, 0, cols*len(part))
		for _, k := range part {
			args = append(args, k.article, k.day, k.medium, days[k][0], days[k][1], days[k][2])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO click_days (article_id, day, medium, uniques, clicks, capped) VALUES `+
			tuples(cols, len(part))+` ON CONFLICT (day, article_id, medium) DO UPDATE SET
			uniques = click_days.uniques + excluded.uniques, clicks = click_days.clicks + excluded.clicks,
			capped = click_days.capped + excluded.capped`, args...); err != nil {
			return err
		}
	}
	return nil
}

// readerKey names one reader of one article.
type readerKey struct {
	article int64
	reader  string
}

// insertClicks stores the clicks whose reader is new to the article and
// returns those.
func insertClicks(ctx context.Context, tx *sql.Tx, cs []nashra.Click) ([]nashra.Click, error) {
	// In key order: two instances inserting the same readers in different
	// orders would each wait on the other's uncommitted row on PostgreSQL.
	// The sort is stable, so a reader's first click of the batch stays first.
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b nashra.Click) int {
		return cmp.Or(cmp.Compare(a.ArticleID, b.ArticleID), strings.Compare(a.Reader, b.Reader))
	})
	const cols = 5
	var out []nashra.Click
	for part := range slices.Chunk(cs, 500) {
		args := make([]any, 0, cols*len(part))
		for _, c := range part {
			at := c.At.UnixMilli()
			args = append(args, c.ArticleID, c.Medium, c.Reader, at/dayMillis, at)
		}
		added := map[readerKey]bool{}
		if err := scanReaders(ctx, tx, added, `INSERT INTO clicks (article_id, medium, reader, day, clicked_at) VALUES `+
			tuples(cols, len(part))+` ON CONFLICT (article_id, reader) DO NOTHING RETURNING article_id, reader`, args...); err != nil {
			return nil, err
		}
		for _, c := range part {
			if k := (readerKey{c.ArticleID, c.Reader}); added[k] {
				delete(added, k) // the first click of the batch is the unique one
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// networkDay keys the readers of one network on one article and day.
type networkDay struct {
	day, article int64
	network      string
}

func networkOf(c nashra.Click) networkDay { return networkDay{dayOf(c), c.ArticleID, c.Network} }

func compareNetworks(a, b networkDay) int {
	return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.article, b.article), strings.Compare(a.network, b.network))
}

// capNetworks splits a batch into the clicks to keep — personal ones,
// repeats, and new anonymous readers while their network has room — and
// those of new readers past their network's cap. The networks' rows are
// locked until the transaction ends, so that instances sharing a store
// share each cap.
func capNetworks(ctx context.Context, tx *sql.Tx, cs []nashra.Click, perNetwork int) (keep, capped []nashra.Click, err error) {
	readers := map[networkDay]int{}
	var nets []networkDay
	var anonymous []readerKey
	for _, c := range cs {
		if c.Network == "" {
			continue
		}
		if k := networkOf(c); readers[k] == 0 {
			readers[k] = -1 // seen; read below
			nets = append(nets, k)
		}
		anonymous = append(anonymous, readerKey{c.ArticleID, c.Reader})
	}
	if len(nets) == 0 {
		return cs, nil, nil
	}
	// In key order, so that two instances' batches never wait for each other.
	slices.SortFunc(nets, compareNetworks)
	for part := range slices.Chunk(nets, 500) {
		args := make([]any, 0, 3*len(part))
		for _, k := range part {
			args = append(args, k.day, k.article, k.network)
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO click_networks (day, article_id, network) VALUES `+tuples(3, len(part))+
			` ON CONFLICT (day, article_id, network) DO UPDATE SET readers = click_networks.readers
			RETURNING day, article_id, network, readers`, args...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var k networkDay
			var n int
			if err := rows.Scan(&k.day, &k.article, &k.network, &n); err != nil {
				rows.Close()
				return nil, nil, err
			}
			readers[k] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	known, err := knownReaders(ctx, tx, anonymous)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cs {
		if c.Network == "" {
			keep = append(keep, c)
			continue
		}
		r := readerKey{c.ArticleID, c.Reader}
		switch k := networkOf(c); {
		case known[r]:
			keep = append(keep, c) // a repeat
		case readers[k] >= perNetwork:
			capped = append(capped, c)
		default:
			readers[k]++
			known[r] = true
			keep = append(keep, c)
		}
	}
	return keep, capped, nil
}

// knownReaders returns which of rs have clicked their article before.
func knownReaders(ctx context.Context, tx *sql.Tx, rs []readerKey) (map[readerKey]bool, error) {
	known := map[readerKey]bool{}
	for part := range slices.Chunk(rs, 500) {
		args := make([]any, 0, 2*len(part))
		for _, r := range part {
			args = append(args, r.article, r.reader)
		}
		if err := scanReaders(ctx, tx, known, `SELECT article_id, reader FROM clicks WHERE (article_id, reader) IN (VALUES `+
			strings.TrimSuffix(strings.Repeat("(CAST(? AS BIGINT), ?), ", len(part)), ", ")+`)`, args...); err != nil {
			return nil, err
		}
	}
	return known, nil
}

// scanReaders adds to set the (article_id, reader) rows query returns.
func scanReaders(ctx context.Context, tx *sql.Tx, set map[readerKey]bool, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r readerKey
		if err := rows.Scan(&r.article, &r.reader); err != nil {
			return err
		}
		set[r] = true
	}
	return rows.Err()
}

// countNetworks adds the new anonymous readers to their networks.
func countNetworks(ctx context.Context, tx *sql.Tx, uniques []nashra.Click) error {
	added := map[networkDay]int{}
	var nets []networkDay
	for _, c := range uniques {
		if c.Network == "" {
			continue
		}
		k := networkOf(c)
		if added[k] == 0 {
			nets = append(nets, k)
		}
		added[k]++
	}
	slices.SortFunc(nets, compareNetworks) // as capNetworks locks them
	for part := range slices.Chunk(nets, 500) {
		args := make([]any, 0, 4*len(part))
		for _, k := range part {
			args = append(args, k.day, k.article, k.network, added[k])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO click_networks (day, article_id, network, readers) VALUES `+tuples(4, len(part))+
			` ON CONFLICT (day, article_id, network) DO UPDATE SET readers = click_networks.readers + excluded.readers`, args...); err != nil {
			return err
		}
	}
	return nil
}

// tuples returns n groups of cols placeholders, for a multi-row VALUES.
func tuples(cols, n int) string {
	return strings.TrimSuffix(strings.Repeat("("+placeholders(cols)+"), ", n), ", ")
}

// ClickBucket is a number of unique clicks on an article in one medium at
// about one time: the middle of an hour for kept rows (moved inside the
// range asked for at its edges), the middle of a day for purged ones.
type ClickBucket struct {
	ArticleID int64
	Medium    nashra.Medium
	At        time.Time
	Uniques   int
}

// ClickBuckets returns the unique clicks made in [since, until), grouped by
// hour from the kept rows and, for the days already purged, by day from
// the daily counts.
func (db *DB) ClickBuckets(ctx context.Context, since, until time.Time) ([]ClickBucket, error) {
	const hour = 60 * 60 * 1000
	from, to := since.UnixMilli(), until.UnixMilli()
	var out []ClickBucket
	add := func(rows *sql.Rows, mid func(v int64) int64) error {
		defer rows.Close()
		for rows.Next() {
			var b ClickBucket
			var v int64
			if err := rows.Scan(&b.ArticleID, &b.Medium, &v, &b.Uniques); err != nil {
				return err
			}
			at := mid(v)
			if at < from || at >= to {
				continue
			}
			b.At = time.UnixMilli(at).UTC()
			out = append(out, b)
		}
		return rows.Err()
	}
	// The hour is written out, not a parameter: PostgreSQL groups by an
	// expression only when it is the very one selected.
	rows, err := db.read.QueryContext(ctx, `SELECT article_id, medium, clicked_at / 3600000, COUNT(*) FROM clicks
		WHERE clicked_at >= ? AND clicked_at < ? GROUP BY article_id, medium, clicked_at / 3600000`, from, to)
	if err != nil {
		return nil, fmt.Errorf("click buckets: %w", err)
	}
	// The rows were selected by their own time: the middle of their hour
	// stays within the range, or the first and last hours would be lost.
	if err := add(rows, func(h int64) int64 { return max(min(h*hour+hour/2, to-1), from) }); err != nil {
		return nil, fmt.Errorf("click buckets: %w", err)
	}
	purged, err := db.purgedDay(ctx)
	if err != nil {
		return nil, err
	}
	if firstDay := from / dayMillis; firstDay < purged {
		rows, err := db.read.QueryContext(ctx, `SELECT article_id, medium, day, uniques FROM click_days
			WHERE day >= ? AND day < ? AND uniques > 0`, firstDay, purged)
		if err != nil {
			return nil, fmt.Errorf("click buckets by day: %w", err)
		}
		if err := add(rows, func(d int64) int64 { return d*dayMillis + dayMillis/2 }); err != nil {
			return nil, fmt.Errorf("click buckets by day: %w", err)
		}
	}
	return out, nil
}

// purgedDay returns the first day whose click rows are kept, 0 before any
// purge.
func (db *DB) purgedDay(ctx context.Context) (int64, error) {
	v, err := db.Meta(ctx, purgedMetaKey)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	d, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("meta %s: %w", purgedMetaKey, err)
	}
	return d, nil
}

// PurgeClicks deletes the click rows of the UTC days before the one that
// holds before, and the counts of readers per network of those days, and
// returns how many rows it deleted; their counts stay in the daily counts.
// Whole days go, so that a day is counted either from its rows or from its
// daily counts, never from both.
func (db *DB) PurgeClicks(ctx context.Context, before time.Time) (int, error) {
	day := before.UnixMilli() / dayMillis
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM clicks WHERE day < ?`, day)
		if err != nil {
			return err
		}
		if n, err = r.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM click_networks WHERE day < ?`, day); err != nil {
			return err
		}
		// Never move the line back: the daily counts of the days already
		// purged are all that is left of them.
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = CASE WHEN CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)
				THEN excluded.value ELSE meta.value END`, purgedMetaKey, strconv.FormatInt(day, 10))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge clicks before %s: %w", before.Format(time.DateOnly), err)
	}
	return int(n), nil
}

// MediumClicks counts the clicks of one medium.
type MediumClicks struct {
	Medium  nashra.Medium
	Uniques int
	Clicks  int
	// Capped counts the clicks of new anonymous readers past their
	// network's cap: neither unique nor clicks.
	Capped int
}

// ClicksByMedium returns the counts by medium of the UTC days from the one
// holding since, by medium name.
func (db *DB) ClicksByMedium(ctx context.Context, since time.Time) ([]MediumClicks, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT medium, SUM(uniques), SUM(clicks), SUM(capped) FROM click_days
		WHERE day >= ? GROUP BY medium ORDER BY medium`, since.UnixMilli()/dayMillis)
	if err != nil {
		return nil, fmt.Errorf("clicks by medium: %w", err)
	}
	defer rows.Close()
	var out []MediumClicks
	for rows.Next() {
		var m MediumClicks
		if err := rows.Scan(&m.Medium, &m.Uniques, &m.Clicks, &m.Capped); err != nil {
			return nil, fmt.Errorf("clicks by medium: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clicks by medium: %w", err)
	}
	return out, nil
}

// Candidate is an article that may be ranked: the little the ranking
// needs before it loads the winners.
type Candidate struct {
	ID          int64
	Link        string
	FirstSeenAt time.Time
	// NewsTime is its publication time, else FirstSeenAt.
	NewsTime time.Time
	Sections []string
}

// RankCandidates returns the articles first seen in [since, until), of one
// section when section is not empty, newest first by publication time.
// Articles excluded from pushes or held by the flood guard are left out:
// what is not pushed is not promoted either; so are retracted ones, and
// those a feed's first poll found (state seen): what the site held before
// nashra started is not today's news, however many share that sighting.
func (db *DB) RankCandidates(ctx context.Context, section string, since, until time.Time) ([]Candidate, error) {
	where := `a.first_seen_at >= ? AND a.first_seen_at < ? AND a.state NOT IN ('excluded', 'held', 'seen')
		AND a.retracted_at IS NULL`
	args := []any{since.UnixMilli(), until.UnixMilli()}
	if section != "" {
		where += ` AND a.id IN (SELECT article_id FROM article_sections WHERE section_slug = ?)`
		args = append(args, section)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT a.id, a.link, a.first_seen_at, COALESCE(a.published_at, a.first_seen_at),
		COALESCE(s.section_slug, '')
		FROM articles a LEFT JOIN article_sections s ON s.article_id = a.id LEFT JOIN sections c ON c.slug = s.section_slug
		WHERE `+where+` ORDER BY COALESCE(a.published_at, a.first_seen_at) DESC, a.first_seen_at DESC, a.id DESC, c.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("rank candidates: %w", err)
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		var slug string
		if err := rows.Scan(&c.ID, &c.Link, ms(&c.FirstSeenAt), ms(&c.NewsTime), &slug); err != nil {
			return nil, fmt.Errorf("rank candidates: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].ID != c.ID {
			out = append(out, c)
		}
		if slug != "" {
			last := &out[len(out)-1]
			last.Sections = append(last.Sections, slug)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rank candidates: %w", err)
	}
	return out, nil
}

// SetSiteMostFollowed replaces the site's most-followed list with ids, in
// the site's order, as read at.
func (db *DB) SetSiteMostFollowed(ctx context.Context, ids []int64, at time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM site_most_followed`); err != nil {
			return err
		}
		for i, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO site_most_followed (article_id, position, listed_at) VALUES (?, ?, ?)
				ON CONFLICT (article_id) DO NOTHING`, id, i+1, at.UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set site most-followed list: %w", err)
	}
	return nil
}

// SiteMostFollowed returns the ids of the site's most-followed list when it
// was read at or after since, in the site's order; none when it is older.
func (db *DB) SiteMostFollowed(ctx context.Context, since time.Time) ([]int64, error) {
	ids, err := int64s(ctx, db.read, `SELECT article_id FROM site_most_followed WHERE listed_at >= ? ORDER BY position`,
		since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("site most-followed list: %w", err)
	}
	return ids, nil
}
