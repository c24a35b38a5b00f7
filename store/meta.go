package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Meta returns the value kept under key, or ErrNotFound.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read meta %s: %w", key, err)
	}
	return v, nil
}

// MetaOrInit returns the value under key, storing init() there first when
// the key is new; concurrent callers all get the first value stored.
func (db *DB) MetaOrInit(ctx context.Context, key string, init func() (string, error)) (string, error) {
	if v, err := db.Meta(ctx, key); !errors.Is(err, ErrNotFound) {
		return v, err
	}
	v, err := init()
	if err != nil {
		return "", fmt.Errorf("init meta %s: %w", key, err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, v); err != nil {
		return "", fmt.Errorf("write meta %s: %w", key, err)
	}
	return db.Meta(ctx, key)
}
