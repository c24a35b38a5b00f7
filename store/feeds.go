package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

const feedColumns = `id, section_slug, url, active, etag, last_modified, next_check_at, checked_at,
	last_success_at, last_new_at, baselined_at, error_count, last_error, last_error_at, last_status`

func scanFeed(row interface{ Scan(...any) error }) (nashra.Feed, error) {
	var f nashra.Feed
	var next int64
	err := row.Scan(&f.ID, &f.SectionSlug, &f.URL, &f.Active, &f.ETag, &f.LastModified, &next, ms(&f.CheckedAt),
		ms(&f.LastSuccessAt), ms(&f.LastNewAt), ms(&f.BaselinedAt), &f.ErrorCount, &f.LastError, ms(&f.LastErrorAt), &f.LastStatus)
	f.NextCheckAt = time.UnixMilli(next).UTC()
	return f, err
}

func (db *DB) queryFeeds(ctx context.Context, query string, args ...any) ([]nashra.Feed, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []nashra.Feed
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Feeds lists the active feeds in section order.
func (db *DB) Feeds(ctx context.Context) ([]nashra.Feed, error) {
	fs, err := db.queryFeeds(ctx, `SELECT `+feedColumns+` FROM feeds WHERE active = 1 ORDER BY section_slug, id`)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	return fs, nil
}

// DueFeeds lists up to limit active feeds whose next check is at or before
// now, the most overdue first.
func (db *DB) DueFeeds(ctx context.Context, now time.Time, limit int) ([]nashra.Feed, error) {
	fs, err := db.queryFeeds(ctx, `SELECT `+feedColumns+` FROM feeds
		WHERE active = 1 AND next_check_at <= ? ORDER BY next_check_at, id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("list due feeds: %w", err)
	}
	return fs, nil
}

// Feed returns the feed with the given id.
func (db *DB) Feed(ctx context.Context, id int64) (nashra.Feed, error) {
	f, err := scanFeed(db.read.QueryRowContext(ctx, `SELECT `+feedColumns+` FROM feeds WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nashra.Feed{}, ErrNotFound
	}
	if err != nil {
		return nashra.Feed{}, fmt.Errorf("read feed %d: %w", id, err)
	}
	return f, nil
}

// UpdateFeedState saves what a poll learnt about a feed: validators,
// schedule, errors.
func (db *DB) UpdateFeedState(ctx context.Context, f nashra.Feed) error {
	_, err := db.write.ExecContext(ctx, `UPDATE feeds SET etag = ?, last_modified = ?, next_check_at = ?, checked_at = ?,
		last_success_at = ?, last_new_at = ?, baselined_at = ?, error_count = ?, last_error = ?, last_error_at = ?, last_status = ?
		WHERE id = ?`,
		f.ETag, f.LastModified, f.NextCheckAt.UnixMilli(), ms(&f.CheckedAt), ms(&f.LastSuccessAt), ms(&f.LastNewAt),
		ms(&f.BaselinedAt), f.ErrorCount, f.LastError, ms(&f.LastErrorAt), f.LastStatus, f.ID)
	if err != nil {
		return fmt.Errorf("update feed %d: %w", f.ID, err)
	}
	return nil
}
