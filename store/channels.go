package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

// SeedChannels brings the configuration's channel mapping into the store:
// configured links are added unless a run-time change about the same pair
// exists, and configured links no longer in the configuration are dropped.
// Run-time links are never touched.
func (db *DB) SeedChannels(ctx context.Context, links []nashra.ChannelLink, now time.Time) error {
	want := map[[2]string]bool{}
	for _, l := range links {
		want[[2]string{l.Section, l.Channel}] = true
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT section_slug, channel FROM section_channels WHERE source = 'config'`)
		if err != nil {
			return err
		}
		var stale [][2]string
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return err
			}
			if !want[k] {
				stale = append(stale, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range stale {
			if _, err := tx.ExecContext(ctx, `DELETE FROM section_channels WHERE source = 'config' AND section_slug = ? AND channel = ?`,
				k[0], k[1]); err != nil {
				return err
			}
		}
		for _, l := range links {
			if _, err := tx.ExecContext(ctx, `INSERT INTO section_channels (section_slug, channel, source, updated_at)
				VALUES (?, ?, 'config', ?) ON CONFLICT DO NOTHING`, l.Section, l.Channel, now.UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed channels: %w", err)
	}
	return nil
}

// LinkChannel maps a section to a channel at run time; the change survives
// restarts and wins over the configuration.
func (db *DB) LinkChannel(ctx context.Context, section, channel string, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO section_channels (section_slug, channel, source, removed, updated_at)
		VALUES (?, ?, 'runtime', 0, ?) ON CONFLICT (section_slug, channel) DO UPDATE SET source = 'runtime', removed = 0,
		updated_at = excluded.updated_at`, section, channel, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("link %s to %s: %w", channel, section, err)
	}
	return nil
}

// UnlinkChannel removes a mapping at run time and reports whether it
// existed; the configuration will not bring it back.
func (db *DB) UnlinkChannel(ctx context.Context, section, channel string, now time.Time) (bool, error) {
	r, err := db.write.ExecContext(ctx, `UPDATE section_channels SET source = 'runtime', removed = 1, updated_at = ?
		WHERE section_slug = ? AND channel = ? AND removed = 0`, now.UnixMilli(), section, channel)
	if err != nil {
		return false, fmt.Errorf("unlink %s from %s: %w", channel, section, err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// ChannelLinks returns the mappings in force, by section order.
func (db *DB) ChannelLinks(ctx context.Context) ([]nashra.ChannelLink, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT l.section_slug, l.channel, l.source, l.chat_id, l.can_post, l.checked_at
		FROM section_channels l JOIN sections s ON s.slug = l.section_slug
		WHERE l.removed = 0 ORDER BY s.position, l.channel`)
	if err != nil {
		return nil, fmt.Errorf("list channel links: %w", err)
	}
	defer rows.Close()
	var out []nashra.ChannelLink
	for rows.Next() {
		var l nashra.ChannelLink
		var chatID sql.NullInt64
		var canPost sql.NullBool
		if err := rows.Scan(&l.Section, &l.Channel, &l.Source, &chatID, &canPost, ms(&l.CheckedAt)); err != nil {
			return nil, fmt.Errorf("list channel links: %w", err)
		}
		l.ChatID = chatID.Int64
		if canPost.Valid {
			l.CanPost = &canPost.Bool
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// SetChannelState records what Telegram said about a channel: its numeric
// id and whether the bot may post there.
func (db *DB) SetChannelState(ctx context.Context, channel string, chatID int64, canPost bool, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE section_channels SET chat_id = ?, can_post = ?, checked_at = ?
		WHERE channel = ? OR chat_id = ?`, chatID, canPost, now.UnixMilli(), channel, chatID)
	if err != nil {
		return fmt.Errorf("set state of channel %s: %w", channel, err)
	}
	return nil
}
