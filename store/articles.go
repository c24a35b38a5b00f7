package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ArticleState says where an article stands on its way to readers.
type ArticleState string

// The states of an article.
const (
	// StateSeen: found by a feed's first poll, or otherwise known before it
	// could be news; never pushed.
	StateSeen ArticleState = "seen"
	// StateNew: first seen after the baseline; waits to be handed on.
	StateNew ArticleState = "new"
	// StateHeld: stopped by the flood guard until an admin decides.
	StateHeld ArticleState = "held"
	// StateExcluded: carries a category that is never pushed.
	StateExcluded ArticleState = "excluded"
	// StateHanded: the delivery engine has taken it.
	StateHanded ArticleState = "handed"
)

// Article is one piece of the site, possibly in several sections.
type Article struct {
	ID      int64
	GUID    string
	Link    string // canonical: tracking parameters removed
	Title   string
	Summary string // plain text
	Content string // sanitized HTML
	// ImageURL is the lead image at full size, empty when there is none.
	ImageURL    string
	Author      string
	Categories  []string
	PublishedAt time.Time
	UpdatedAt   time.Time
	FirstSeenAt time.Time
	// Revision counts changes of title or summary after first sight;
	// RevisedAt is when the last one was seen.
	Revision  int
	RevisedAt time.Time
	State     ArticleState
	Sections  []string
}

// SaveResult counts what a batch of items did to the store.
type SaveResult struct {
	New       []int64 // ids of articles never seen before, whatever state they got
	Updated   int     // known articles whose content changed
	Unchanged int
}

const articleColumns = `id, guid, link, title, summary, content, image_url, author, categories,
	published_at, updated_at, first_seen_at, revision, revised_at, state`

func scanArticle(row interface{ Scan(...any) error }) (Article, error) {
	var a Article
	var cats string
	var seen int64
	err := row.Scan(&a.ID, &a.GUID, &a.Link, &a.Title, &a.Summary, &a.Content, &a.ImageURL, &a.Author, &cats,
		ms(&a.PublishedAt), ms(&a.UpdatedAt), &seen, &a.Revision, ms(&a.RevisedAt), &a.State)
	if err != nil {
		return a, err
	}
	a.FirstSeenAt = time.UnixMilli(seen).UTC()
	if err := json.Unmarshal([]byte(cats), &a.Categories); err != nil {
		return a, fmt.Errorf("article %d categories: %w", a.ID, err)
	}
	return a, nil
}

// SaveItems stores the items one poll of a section's feed produced, in one
// transaction. Items are matched to stored articles by GUID, then by
// canonical link: a known item gains the section and, when its text changed,
// is updated (and its revision counted) but is never new again. classify is
// called once with the items never seen before and sets their State; it is
// where the poller applies the baseline, exclusions and the flood guard.
func (db *DB) SaveItems(ctx context.Context, section string, items []Article, now time.Time, classify func(fresh []*Article)) (SaveResult, error) {
	var res SaveResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res = SaveResult{}
		existing := make([]*Article, len(items))
		var fresh []*Article
		for i := range items {
			a, err := findArticle(ctx, tx, items[i].GUID, items[i].Link)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				fresh = append(fresh, &items[i])
			case err != nil:
				return err
			default:
				existing[i] = &a
			}
		}
		if len(fresh) > 0 {
			classify(fresh)
		}
		for i := range items {
			it := &items[i]
			var id int64
			if old := existing[i]; old != nil {
				id = old.ID
				changed, err := updateArticle(ctx, tx, *old, *it, now)
				if err != nil {
					return err
				}
				if changed {
					res.Updated++
				} else {
					res.Unchanged++
				}
			} else {
				var err error
				if id, err = insertArticle(ctx, tx, *it, now); err != nil {
					return err
				}
				res.New = append(res.New, id)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO article_sections (article_id, section_slug) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, id, section); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SaveResult{}, fmt.Errorf("save items of %s: %w", section, err)
	}
	return res, nil
}

func findArticle(ctx context.Context, tx *sql.Tx, guid, link string) (Article, error) {
	a, err := scanArticle(tx.QueryRowContext(ctx, `SELECT `+articleColumns+` FROM articles WHERE guid = ?`, guid))
	if errors.Is(err, sql.ErrNoRows) {
		a, err = scanArticle(tx.QueryRowContext(ctx, `SELECT `+articleColumns+` FROM articles WHERE link = ?`, link))
	}
	return a, err
}

func insertArticle(ctx context.Context, tx *sql.Tx, a Article, now time.Time) (int64, error) {
	cats, err := json.Marshal(nonNil(a.Categories))
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO articles (guid, link, title, summary, content, image_url, author, categories,
		published_at, updated_at, first_seen_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.GUID, a.Link, a.Title, a.Summary, a.Content, a.ImageURL, a.Author, string(cats),
		ms(&a.PublishedAt), ms(&a.UpdatedAt), now.UnixMilli(), a.State).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert article %q: %w", a.GUID, err)
	}
	return id, nil
}

// updateArticle refreshes a known article from a newer copy of its item and
// reports whether anything changed. Only title and summary count as a
// revision: they are what readers saw in the post.
func updateArticle(ctx context.Context, tx *sql.Tx, old, it Article, now time.Time) (bool, error) {
	revised := old.Title != it.Title || old.Summary != it.Summary
	if !revised && old.Content == it.Content && old.ImageURL == it.ImageURL && old.Author == it.Author &&
		slices.Equal(old.Categories, it.Categories) {
		return false, nil
	}
	cats, err := json.Marshal(nonNil(it.Categories))
	if err != nil {
		return false, err
	}
	rev, revAt := old.Revision, old.RevisedAt
	if revised {
		rev, revAt = rev+1, now
	}
	_, err = tx.ExecContext(ctx, `UPDATE articles SET title = ?, summary = ?, content = ?, image_url = ?, author = ?,
		categories = ?, updated_at = ?, revision = ?, revised_at = ? WHERE id = ?`,
		it.Title, it.Summary, it.Content, it.ImageURL, it.Author, string(cats), ms(&it.UpdatedAt), rev, ms(&revAt), old.ID)
	if err != nil {
		return false, fmt.Errorf("update article %d: %w", old.ID, err)
	}
	return true, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Article returns one article with its sections.
func (db *DB) Article(ctx context.Context, id int64) (Article, error) {
	as, err := db.queryArticles(ctx, `SELECT `+articleColumns+` FROM articles WHERE id = ?`, id)
	if err != nil {
		return Article{}, fmt.Errorf("read article %d: %w", id, err)
	}
	if len(as) == 0 {
		return Article{}, ErrNotFound
	}
	return as[0], nil
}

// LatestArticles returns the limit most recently seen articles, of one
// section when section is not empty, newest first.
func (db *DB) LatestArticles(ctx context.Context, section string, limit int) ([]Article, error) {
	var (
		as  []Article
		err error
	)
	if section == "" {
		as, err = db.queryArticles(ctx, `SELECT `+articleColumns+` FROM articles
			ORDER BY first_seen_at DESC, id DESC LIMIT ?`, limit)
	} else {
		as, err = db.queryArticles(ctx, `SELECT `+articleColumns+` FROM articles
			WHERE id IN (SELECT article_id FROM article_sections WHERE section_slug = ?)
			ORDER BY first_seen_at DESC, id DESC LIMIT ?`, section, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("latest articles: %w", err)
	}
	return as, nil
}

// ArticlesInState returns up to limit articles in state, oldest first.
func (db *DB) ArticlesInState(ctx context.Context, state ArticleState, limit int) ([]Article, error) {
	as, err := db.queryArticles(ctx, `SELECT `+articleColumns+` FROM articles WHERE state = ?
		ORDER BY first_seen_at, id LIMIT ?`, state, limit)
	if err != nil {
		return nil, fmt.Errorf("articles in state %s: %w", state, err)
	}
	return as, nil
}

// SetArticleState moves the articles ids from state from to state to and
// returns how many moved; an article no longer in from is left alone.
func (db *DB) SetArticleState(ctx context.Context, ids []int64, from, to ArticleState) (int, error) {
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

func (db *DB) queryArticles(ctx context.Context, query string, args ...any) ([]Article, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []Article
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

func (db *DB) loadSections(ctx context.Context, as []Article) error {
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
