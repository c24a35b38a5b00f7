package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

// EnqueueReply stores a reply for the dispatcher and returns its id.
func (db *DB) EnqueueReply(ctx context.Context, r nashra.QueuedReply, now time.Time) (int64, error) {
	params, err := json.Marshal(r.Params)
	if err != nil {
		return 0, fmt.Errorf("enqueue reply to %d: %w", r.ChatID, err)
	}
	var id int64
	err = db.write.QueryRowContext(ctx, `INSERT INTO delivery_replies (chat_id, lane, method, params, merge_key, state, created_at, not_before)
		VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id`, r.ChatID, r.Lane, r.Method, string(params), r.Merge,
		now.UnixMilli(), now.UnixMilli()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("enqueue reply to %d: %w", r.ChatID, err)
	}
	return id, nil
}

// CountReplies returns how many replies with merge key merge (not empty)
// were queued for a chat since since, whatever became of them.
func (db *DB) CountReplies(ctx context.Context, chatID int64, merge string, since time.Time) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM delivery_replies
		WHERE chat_id = ? AND merge_key = ? AND merge_key <> '' AND created_at >= ?`,
		chatID, merge, since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count replies to %d: %w", chatID, err)
	}
	return n, nil
}

// LastReplyMerge returns the merge key of the latest reply with one queued
// for a chat since since, empty when there is none: what the bot said
// last, such as a question it awaits the answer to.
func (db *DB) LastReplyMerge(ctx context.Context, chatID int64, since time.Time) (string, error) {
	var merge string
	err := db.read.QueryRowContext(ctx, `SELECT merge_key FROM delivery_replies
		WHERE chat_id = ? AND merge_key <> '' AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT 1`,
		chatID, since.UnixMilli()).Scan(&merge)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last reply to %d: %w", chatID, err)
	}
	return merge, nil
}

// EnqueueBroadcast queues one copy of a message for every active reader,
// in the broadcast lane, with one set-based insert; it returns how many.
func (db *DB) EnqueueBroadcast(ctx context.Context, method string, params map[string]string, now time.Time) (int, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return 0, fmt.Errorf("enqueue broadcast: %w", err)
	}
	r, err := db.write.ExecContext(ctx, `INSERT INTO delivery_replies (chat_id, lane, method, params, state, created_at, not_before)
		SELECT id, ?, ?, ?, 'pending', ?, ? FROM chats WHERE kind = 'private' AND active = 1`,
		nashra.BroadcastLane, method, string(body), now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("enqueue broadcast: %w", err)
	}
	n, err := r.RowsAffected()
	db.analyzeAfter(ctx, "delivery_replies", int(n))
	return int(n), err
}

// ClaimReplies leases up to limit due replies of lanes up to maxLane to
// holder until leaseUntil, replies before broadcasts, oldest first.
func (db *DB) ClaimReplies(ctx context.Context, holder string, maxLane, limit int, now, leaseUntil time.Time) ([]nashra.QueuedReply, error) {
	if none, err := db.none(ctx, `SELECT 1 FROM delivery_replies WHERE state = 'pending' AND lane <= ? AND not_before <= ? LIMIT 1`,
		maxLane, now.UnixMilli()); none || err != nil {
		return nil, err
	}
	var out []nashra.QueuedReply
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := int64s(ctx, tx, `SELECT id FROM delivery_replies WHERE state = 'pending' AND lane <= ? AND not_before <= ?
			ORDER BY lane, id LIMIT ?`, maxLane, now.UnixMilli(), limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		// Only replies still pending are taken: one superseded or
		// cancelled meanwhile stays so.
		args := append([]any{holder, leaseUntil.UnixMilli()}, anys(ids)...)
		if _, err := tx.ExecContext(ctx, `UPDATE delivery_replies SET state = 'claimed', claimed_by = ?, lease_until = ?
			WHERE id IN (`+placeholders(len(ids))+`) AND state = 'pending'`, args...); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, chat_id, lane, method, params, merge_key, created_at, attempts FROM delivery_replies
			WHERE id IN (`+placeholders(len(ids))+`) AND state = 'claimed' AND claimed_by = ? ORDER BY lane, id`, append(anys(ids), holder)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = out[:0]
		for rows.Next() {
			var r nashra.QueuedReply
			var params string
			var created int64
			if err := rows.Scan(&r.ID, &r.ChatID, &r.Lane, &r.Method, &params, &r.Merge, &created, &r.Attempts); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
				return fmt.Errorf("reply %d params: %w", r.ID, err)
			}
			r.CreatedAt = time.UnixMilli(created).UTC()
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim replies: %w", err)
	}
	return out, nil
}
