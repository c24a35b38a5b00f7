package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/almaalouma/nashra"
)

// SaveResult counts what a batch of items did to the store.
type SaveResult struct {
	New       []int64 // ids of articles never seen before, whatever state they got, in the order of the items
	Updated   int     // known articles whose content changed
	Unchanged int
	// Failed lists the items the database refused, each with why; the
	// others were stored.
	Failed []ItemError
}

// ItemError is an item SaveItems could not store.
type ItemError struct {
	GUID string
	Err  error
}

func (e ItemError) Error() string { return fmt.Sprintf("item %q: %v", e.GUID, e.Err) }

func (e ItemError) Unwrap() error { return e.Err }

const articleColumns = `id, guid, link, title, summary, content, image_url, author, categories,
	published_at, updated_at, first_seen_at, revision, revised_at, state, retracted_at`

func scanArticle(row interface{ Scan(...any) error }) (nashra.Article, error) {
	var a nashra.Article
	var cats string
	var seen int64
	err := row.Scan(&a.ID, &a.GUID, &a.Link, &a.Title, &a.Summary, &a.Content, &a.ImageURL, &a.Author, &cats,
		ms(&a.PublishedAt), ms(&a.UpdatedAt), &seen, &a.Revision, ms(&a.RevisedAt), &a.State, ms(&a.RetractedAt))
	if err != nil {
		return a, err
	}
	a.FirstSeenAt = time.UnixMilli(seen).UTC()
	if err := json.Unmarshal([]byte(cats), &a.Categories); err != nil {
		return a, fmt.Errorf("article %d categories: %w", a.ID, err)
	}
	return a, nil
}

// SaveItems stores the items one poll of a section's feed produced. Items
// are matched to stored articles by GUID, then by canonical link: a known
// item gains the section and, when its text changed, is updated (and its
// revision counted) but is never new again. classify is called once with
// the items never seen before and sets their State; it is where the poller
// applies the baseline, exclusions and the flood guard. SaveItems sets the
// ID of each item it stored as new.
//
// Other writers may store the same items at the same moment: poll workers
// meeting an article cross-posted to several sections, two instances, a
// one-off poll beside the service. An item another writer stored first is
// taken as known (counted updated or unchanged, its ID left zero), and an
// edit brought by several writers is applied, and its revision counted,
// once. An item the database refuses is left out and listed in Failed; the
// rest are stored. The error is the batch's: the store unreachable, ctx
// done.
func (db *DB) SaveItems(ctx context.Context, section string, items []nashra.Article, now time.Time, classify func(fresh []*nashra.Article)) (SaveResult, error) {
	res, err := db.saveItems(ctx, section, items, now, classify)
	if err != nil {
		return SaveResult{}, fmt.Errorf("save items of %s: %w", section, err)
	}
	return res, nil
}

// saving is one item on its way into the store.
type saving struct {
	item     *nashra.Article
	index    int             // of item in its batch
	old      *nashra.Article // the stored article it is, nil when fresh
	attached bool            // old is in the section already
	// what storing it did
	id      int64
	outcome saveOutcome
}

type saveOutcome int

const (
	outcomeNone saveOutcome = iota
	outcomeNew
	outcomeUpdated
	outcomeUnchanged
)

func (db *DB) saveItems(ctx context.Context, section string, items []nashra.Article, now time.Time, classify func(fresh []*nashra.Article)) (SaveResult, error) {
	plan := make([]saving, len(items))
	ptrs := make([]*nashra.Article, len(items))
	for i := range items {
		plan[i] = saving{item: &items[i], index: i}
		ptrs[i] = &items[i]
	}
	olds, attached, err := matchArticles(ctx, db.read, section, ptrs)
	if err != nil {
		return SaveResult{}, err
	}
	var fresh []*nashra.Article
	for i := range plan {
		plan[i].old, plan[i].attached = olds[i], attached[i]
		if olds[i] == nil {
			fresh = append(fresh, &items[i])
		}
	}
	if len(fresh) > 0 {
		classify(fresh)
	}
	// In GUID order: writers on PostgreSQL then meet on rows in the same
	// order, and wait for each other rather than deadlock.
	slices.SortStableFunc(plan, func(a, b saving) int { return strings.Compare(a.item.GUID, b.item.GUID) })

	done := make([]saving, len(plan))
	failed := make([]error, len(plan))
	// All at once first: a few statements for the whole batch.
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		copy(done, plan)
		return storeItems(ctx, tx, section, now, done)
	})
	if err != nil && ctx.Err() == nil && !db.retryable(err) {
		// Something in the batch was refused: one item at a time, each
		// behind a savepoint, to store all the others.
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			copy(done, plan)
			clear(failed)
			for i := range done {
				if _, err := tx.ExecContext(ctx, `SAVEPOINT item`); err != nil {
					return err
				}
				err := storeItems(ctx, tx, section, now, done[i:i+1])
				if err == nil {
					if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT item`); err != nil {
						return err
					}
					continue
				}
				if ctx.Err() != nil || db.retryable(err) {
					return err
				}
				failed[i], done[i].outcome = err, outcomeNone
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT item`); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return SaveResult{}, err
	}

	// Back in the order of the items.
	byItem := make([]*saving, len(items))
	errs := make([]error, len(items))
	for i := range done {
		byItem[done[i].index], errs[done[i].index] = &done[i], failed[i]
	}
	var res SaveResult
	for i, s := range byItem {
		switch s.outcome {
		case outcomeNew:
			items[i].ID = s.id
			res.New = append(res.New, s.id)
		case outcomeUpdated:
			res.Updated++
		case outcomeUnchanged:
			res.Unchanged++
		default:
			res.Failed = append(res.Failed, ItemError{GUID: items[i].GUID, Err: errs[i]})
		}
	}
	return res, nil
}

// retryable reports whether err only says that another transaction won:
// run again, the transaction will do.
func (db *DB) retryable(err error) bool {
	return db.dialect == postgresDialect && pgRetryable(err)
}

// storeItems stores the items of plan in tx and records in plan what it did
// with each: fresh ones inserted, unless another writer stored them
// meanwhile; known ones revised when their text changed; then every one
// attached to section.
func storeItems(ctx context.Context, tx *sql.Tx, section string, now time.Time, plan []saving) error {
	var fresh []*saving
	for i := range plan {
		if plan[i].old == nil {
			fresh = append(fresh, &plan[i])
		}
	}
	// Looked up again under the write: another writer may have stored
	// some since. On SQLite nothing changes from here on; on PostgreSQL
	// only those stored in a transaction still open will meet the insert.
	fresh, err := resolve(ctx, tx, section, fresh)
	if err != nil {
		return err
	}
	// Ids in order of publication, oldest first: everything downstream
	// that sends a burst in id order (a channel's timeline above all) then
	// tells the news in the order it happened. Feeds list newest first.
	// Writers still meet on rows in one order, as the order is total.
	slices.SortStableFunc(fresh, func(a, b *saving) int {
		return cmp.Or(a.item.NewsTime().Compare(b.item.NewsTime()), strings.Compare(a.item.GUID, b.item.GUID))
	})
	const cols, chunk = 12, 200
	ids := make(map[string]int64, len(fresh))
	for part := range slices.Chunk(fresh, chunk) {
		args := make([]any, 0, cols*len(part))
		for _, s := range part {
			a := s.item
			cats, err := json.Marshal(nonNil(a.Categories))
			if err != nil {
				return err
			}
			args = append(args, a.GUID, a.Link, a.Title, a.Summary, a.Content, a.ImageURL, a.Author, string(cats),
				ms(&a.PublishedAt), ms(&a.UpdatedAt), now.UnixMilli(), a.State)
		}
		// Whatever unique key an item meets — its GUID or its link stored
		// by another writer since it was looked up — it is not inserted,
		// and is found below instead.
		rows, err := tx.QueryContext(ctx, `INSERT INTO articles (guid, link, title, summary, content, image_url, author,
			categories, published_at, updated_at, first_seen_at, state) VALUES `+tuples(cols, len(part))+`
			ON CONFLICT DO NOTHING RETURNING id, guid`, args...)
		if err != nil {
			return fmt.Errorf("insert articles: %w", err)
		}
		for rows.Next() {
			var id int64
			var guid string
			if err := rows.Scan(&id, &guid); err != nil {
				rows.Close()
				return err
			}
			ids[guid] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("insert articles: %w", err)
		}
	}
	var lost []*saving
	for _, s := range fresh {
		if id, ok := ids[s.item.GUID]; ok {
			s.id, s.outcome = id, outcomeNew
			delete(ids, s.item.GUID) // a GUID twice in the batch: the second is the first's copy
		} else {
			lost = append(lost, s)
		}
	}
	if lost, err = resolve(ctx, tx, section, lost); err != nil {
		return err
	}
	if len(lost) > 0 {
		return fmt.Errorf("article %q: refused as a duplicate, yet not found", lost[0].item.GUID)
	}
	var attach []int64
	for i := range plan {
		s := &plan[i]
		if s.old != nil {
			s.id, s.outcome = s.old.ID, outcomeUnchanged
			if !sameText(*s.old, *s.item) {
				changed, err := reviseArticle(ctx, tx, s.old.ID, *s.item, now)
				if err != nil {
					return err
				}
				if changed {
					s.outcome = outcomeUpdated
				}
			}
		}
		if !s.attached {
			attach = append(attach, s.id)
		}
	}
	for part := range slices.Chunk(attach, 500) {
		args := make([]any, 0, 2*len(part))
		for _, id := range part {
			args = append(args, id, section)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO article_sections (article_id, section_slug) VALUES `+
			tuples(2, len(part))+` ON CONFLICT DO NOTHING`, args...); err != nil {
			return fmt.Errorf("attach articles to %s: %w", section, err)
		}
	}
	return nil
}

// resolve looks the items of ss up in tx, gives those found their stored
// article, and returns the others.
func resolve(ctx context.Context, tx *sql.Tx, section string, ss []*saving) ([]*saving, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	items := make([]*nashra.Article, len(ss))
	for i, s := range ss {
		items[i] = s.item
	}
	olds, attached, err := matchArticles(ctx, tx, section, items)
	if err != nil {
		return nil, err
	}
	var left []*saving
	for i, s := range ss {
		if olds[i] == nil {
			left = append(left, s)
			continue
		}
		s.old, s.attached = olds[i], attached[i]
	}
	return left, nil
}

// matchArticles finds the stored article each item is, by GUID, then by
// link, nil when it is fresh, and whether that article is in section.
func matchArticles(ctx context.Context, q querier, section string, items []*nashra.Article) ([]*nashra.Article, []bool, error) {
	type match struct {
		a        nashra.Article
		attached bool
	}
	byGUID := map[string]*match{}
	byLink := map[string]*match{}
	for part := range slices.Chunk(items, 500) {
		args := make([]any, 0, 1+2*len(part))
		args = append(args, section)
		for _, a := range part {
			args = append(args, a.GUID)
		}
		for _, a := range part {
			args = append(args, a.Link)
		}
		rows, err := q.QueryContext(ctx, lookupArticles(len(part)), args...)
		if err != nil {
			return nil, nil, fmt.Errorf("look up articles: %w", err)
		}
		for rows.Next() {
			m := new(match)
			var err error
			m.a, err = scanArticle(scanAlso{rows, &m.attached})
			if err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("look up articles: %w", err)
			}
			byGUID[m.a.GUID], byLink[m.a.Link] = m, m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("look up articles: %w", err)
		}
	}
	olds := make([]*nashra.Article, len(items))
	attached := make([]bool, len(items))
	for i, it := range items {
		m := byGUID[it.GUID]
		if m == nil {
			m = byLink[it.Link]
		}
		if m != nil {
			olds[i], attached[i] = &m.a, m.attached
		}
	}
	return olds, attached, nil
}

// lookupArticles is the query of n articles by GUID or link, with whether
// each is in a section: its arguments are the section, the n GUIDs, then
// the n links.
func lookupArticles(n int) string {
	return `SELECT ` + articleColumns + `, EXISTS (SELECT 1 FROM article_sections
		WHERE article_sections.article_id = articles.id AND section_slug = ?) FROM articles
		WHERE guid IN (` + placeholders(n) + `) OR link IN (` + placeholders(n) + `)`
}

// scanAlso scans a row's leading columns as its caller asks, then the
// rest into more.
type scanAlso struct {
	rows *sql.Rows
	more any
}

func (s scanAlso) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.more)...) }

// sameText reports whether an item brings nothing new to its stored
// article.
func sameText(old, it nashra.Article) bool {
	return old.Title == it.Title && old.Summary == it.Summary && old.Content == it.Content && old.ImageURL == it.ImageURL &&
		old.Author == it.Author && slices.Equal(nonNil(old.Categories), nonNil(it.Categories))
}

// reviseArticle applies a newer copy of an item to its stored article and
// reports whether anything changed. The UPDATE compares, on the row as it
// stands when it gets it: of several writers bringing the same edit at
// once, one changes the article and counts the revision, the others find
// nothing left to change. Only title and summary count as a revision: they
// are what readers saw in the post.
func reviseArticle(ctx context.Context, tx *sql.Tx, id int64, it nashra.Article, now time.Time) (bool, error) {
	cats, err := json.Marshal(nonNil(it.Categories))
	if err != nil {
		return false, err
	}
	r, err := tx.ExecContext(ctx, `UPDATE articles SET
		revision = revision + CASE WHEN title <> ? OR summary <> ? THEN 1 ELSE 0 END,
		revised_at = CASE WHEN title <> ? OR summary <> ? THEN ? ELSE revised_at END,
		title = ?, summary = ?, content = ?, image_url = ?, author = ?, categories = ?, updated_at = ?
		WHERE id = ? AND (title <> ? OR summary <> ? OR content <> ? OR image_url <> ? OR author <> ? OR categories <> ?)`,
		it.Title, it.Summary, it.Title, it.Summary, now.UnixMilli(),
		it.Title, it.Summary, it.Content, it.ImageURL, it.Author, string(cats), ms(&it.UpdatedAt),
		id, it.Title, it.Summary, it.Content, it.ImageURL, it.Author, string(cats))
	if err != nil {
		return false, fmt.Errorf("update article %d: %w", id, err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Article returns one article with its sections.
func (db *DB) Article(ctx context.Context, id int64) (nashra.Article, error) {
	as, err := db.queryArticles(ctx, `SELECT `+articleColumns+` FROM articles WHERE id = ?`, id)
	if err != nil {
		return nashra.Article{}, fmt.Errorf("read article %d: %w", id, err)
	}
	if len(as) == 0 {
		return nashra.Article{}, ErrNotFound
	}
	return as[0], nil
}

// newsOrder orders articles newest first by when they became news: their
// publication time, else when first seen (see nashra.Article.NewsTime),
// then first seen. After a fresh install every article shares one first
// sighting, so first seen alone would list them in no meaningful order.
const newsOrder = ` ORDER BY COALESCE(published_at, first_seen_at) DESC, first_seen_at DESC, id DESC `

// LatestArticles returns the limit latest articles, of one section when
// section is not empty, newest first by publication time (see newsOrder).
// Retracted articles are left out.
func (db *DB) LatestArticles(ctx context.Context, section string, limit int) ([]nashra.Article, error) {
	var (
		as  []nashra.Article
		err error
	)
	if section == "" {
		as, err = db.queryArticles(ctx, `SELECT `+articleColumns+` FROM articles WHERE retracted_at IS NULL`+
			newsOrder+`LIMIT ?`, limit)
	} else {
		as, err = db.queryArticles(ctx, `SELECT `+articleColumns+` FROM articles WHERE retracted_at IS NULL
			AND id IN (SELECT article_id FROM article_sections WHERE section_slug = ?)`+newsOrder+`LIMIT ?`, section, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("latest articles: %w", err)
	}
	return as, nil
}

// ArticlesInState returns up to limit articles in state, oldest first.
func (db *DB) ArticlesInState(ctx context.Context, state nashra.ArticleState, limit int) ([]nashra.Article, error) {
	as, err := db.queryArticles(ctx, `SELECT `+articleColumns+` FROM articles WHERE state = ?
		ORDER BY first_seen_at, id LIMIT ?`, state, limit)
	if err != nil {
		return nil, fmt.Errorf("articles in state %s: %w", state, err)
	}
	return as, nil
}

// SetArticleState moves the articles ids from state from to state to and
// returns how many moved; an article no longer in from is left alone.
func (db *DB) SetArticleState(ctx context.Context, ids []int64, from, to nashra.ArticleState) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := []any{to, from}
	for _, id := range ids {
		args = append(args, id)
	}
	r, err := db.write.ExecContext(ctx, `UPDATE articles SET state = ? WHERE state = ? AND id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("set article state %s: %w", to, err)
	}
	n, err := r.RowsAffected()
	return int(n), err
}

// CountArticles returns how many articles the store holds.
func (db *DB) CountArticles(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM articles`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count articles: %w", err)
	}
	return n, nil
}

func (db *DB) queryArticles(ctx context.Context, query string, args ...any) ([]nashra.Article, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []nashra.Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, db.loadSections(ctx, out)
}

func (db *DB) loadSections(ctx context.Context, as []nashra.Article) error {
	if len(as) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(as))
	args := make([]any, len(as))
	for i, a := range as {
		idx[a.ID] = i
		args[i] = a.ID
	}
	rows, err := db.read.QueryContext(ctx, `SELECT s.article_id, s.section_slug FROM article_sections s
		JOIN sections c ON c.slug = s.section_slug
		WHERE s.article_id IN (`+placeholders(len(as))+`) ORDER BY c.position`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var slug string
		if err := rows.Scan(&id, &slug); err != nil {
			return err
		}
		as[idx[id]].Sections = append(as[idx[id]].Sections, slug)
	}
	return rows.Err()
}
