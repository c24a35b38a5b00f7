package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/almaalouma/nashra"
)

// SyncSections makes the stored sections and feeds match the configuration:
// listed ones are created or updated, in the order given, and active; the
// others are made dormant. It returns the slugs of the dormant sections.
func (db *DB) SyncSections(ctx context.Context, sections []nashra.Section) ([]string, error) {
	var dormant []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sections SET active = 0`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE feeds SET active = 0`); err != nil {
			return err
		}
		for i, s := range sections {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sections (slug, name, position, active) VALUES (?, ?, ?, 1)
				ON CONFLICT (slug) DO UPDATE SET name = excluded.name, position = excluded.position, active = 1`,
				s.Slug, s.Name, i); err != nil {
				return err
			}
			for _, u := range s.Feeds {
				if _, err := tx.ExecContext(ctx, `INSERT INTO feeds (section_slug, url, active) VALUES (?, ?, 1)
					ON CONFLICT (url) DO UPDATE SET section_slug = excluded.section_slug, active = 1`,
					s.Slug, u); err != nil {
					return err
				}
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT slug FROM sections WHERE active = 0 ORDER BY slug`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var slug string
			if err := rows.Scan(&slug); err != nil {
				return err
			}
			dormant = append(dormant, slug)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sync sections: %w", err)
	}
	return dormant, nil
}

// Sections lists every stored section, its slug, name and whether it is
// dormant, active ones first in configured order.
func (db *DB) Sections(ctx context.Context) ([]nashra.Section, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT slug, name, active FROM sections ORDER BY active DESC, position, slug`)
	if err != nil {
		return nil, fmt.Errorf("list sections: %w", err)
	}
	defer rows.Close()
	var out []nashra.Section
	for rows.Next() {
		var s nashra.Section
		var active bool
		if err := rows.Scan(&s.Slug, &s.Name, &active); err != nil {
			return nil, fmt.Errorf("list sections: %w", err)
		}
		s.Dormant = !active
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sections: %w", err)
	}
	return out, nil
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
