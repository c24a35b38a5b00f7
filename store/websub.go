package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/almaalouma/nashra"
)

const webSubColumns = `callback, feed_id, hub, topic, secret, state, pending, requested_at, lease_seconds, lease_until,
	verified_at, last_push_at, pushes, signature, recent, missed_at, silent_since, attempts, next_attempt_at, last_error, created_at`

func scanWebSub(row interface{ Scan(...any) error }) (nashra.WebSubSubscription, error) {
	var s nashra.WebSubSubscription
	var recent string
	err := row.Scan(&s.Callback, &s.FeedID, &s.Hub, &s.Topic, &s.Secret, &s.State, &s.Pending, ms(&s.RequestedAt),
		&s.LeaseSeconds, ms(&s.LeaseUntil), ms(&s.VerifiedAt), ms(&s.LastPushAt), &s.Pushes, &s.Signature, &recent,
		ms(&s.MissedAt), ms(&s.SilentSince), &s.Attempts, ms(&s.NextAttemptAt), &s.LastError, ms(&s.CreatedAt))
	s.Recent = strings.Fields(recent)
	return s, err
}

// FeedPushes lists what every feed said of its hub, and its pings.
func (db *DB) FeedPushes(ctx context.Context) ([]nashra.FeedPush, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT feed_id, hub, topic, discovered_at, last_ping_at, pings
		FROM feed_push ORDER BY feed_id`)
	if err != nil {
		return nil, fmt.Errorf("list feed hubs: %w", err)
	}
	defer rows.Close()
	var out []nashra.FeedPush
	for rows.Next() {
		var p nashra.FeedPush
		if err := rows.Scan(&p.FeedID, &p.Hub, &p.Topic, ms(&p.DiscoveredAt), ms(&p.LastPingAt), &p.Pings); err != nil {
			return nil, fmt.Errorf("list feed hubs: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list feed hubs: %w", err)
	}
	return out, nil
}

// SaveFeedHub records the hub and topic a feed named at now (both empty:
// none) and reports whether they changed.
func (db *DB) SaveFeedHub(ctx context.Context, feedID int64, hub, topic string, now time.Time) (bool, error) {
	r, err := db.write.ExecContext(ctx, `INSERT INTO feed_push (feed_id, hub, topic, discovered_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (feed_id) DO UPDATE SET hub = excluded.hub, topic = excluded.topic, discovered_at = excluded.discovered_at
		WHERE feed_push.hub <> excluded.hub OR feed_push.topic <> excluded.topic`, feedID, hub, topic, ms(&now))
	if err != nil {
		return false, fmt.Errorf("save hub of feed %d: %w", feedID, err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// RecordPing counts a publish ping that asked for a feed at now.
func (db *DB) RecordPing(ctx context.Context, feedID int64, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO feed_push (feed_id, last_ping_at, pings) VALUES (?, ?, 1)
		ON CONFLICT (feed_id) DO UPDATE SET last_ping_at = excluded.last_ping_at, pings = feed_push.pings + 1`,
		feedID, ms(&now))
	if err != nil {
		return fmt.Errorf("record ping of feed %d: %w", feedID, err)
	}
	return nil
}

// WebSubSubscriptions lists every WebSub subscription, by feed, the newest
// last.
func (db *DB) WebSubSubscriptions(ctx context.Context) ([]nashra.WebSubSubscription, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+webSubColumns+` FROM websub_subscriptions ORDER BY feed_id, created_at, callback`)
	if err != nil {
		return nil, fmt.Errorf("list websub subscriptions: %w", err)
	}
	defer rows.Close()
	var out []nashra.WebSubSubscription
	for rows.Next() {
		s, err := scanWebSub(rows)
		if err != nil {
			return nil, fmt.Errorf("list websub subscriptions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list websub subscriptions: %w", err)
	}
	return out, nil
}

// WebSubSubscription returns the subscription of a callback, or
// ErrNotFound.
func (db *DB) WebSubSubscription(ctx context.Context, callback string) (nashra.WebSubSubscription, error) {
	s, err := scanWebSub(db.read.QueryRowContext(ctx, `SELECT `+webSubColumns+` FROM websub_subscriptions WHERE callback = ?`, callback))
	if errors.Is(err, sql.ErrNoRows) {
		return nashra.WebSubSubscription{}, ErrNotFound
	}
	if err != nil {
		return nashra.WebSubSubscription{}, fmt.Errorf("read websub subscription: %w", err)
	}
	return s, nil
}

// FeedPushing reports whether a hub is taken to push a feed's updates at
// now (see nashra.WebSubSubscription.Pushing).
func (db *DB) FeedPushing(ctx context.Context, feedID int64, now time.Time) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM websub_subscriptions
		WHERE feed_id = ? AND state = ? AND lease_until > ? AND silent_since IS NULL`,
		feedID, nashra.WebSubActive, now.UnixMilli()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read push state of feed %d: %w", feedID, err)
	}
	return n > 0, nil
}

// CreateWebSubSubscription stores a new subscription, as s describes it.
func (db *DB) CreateWebSubSubscription(ctx context.Context, s nashra.WebSubSubscription) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO websub_subscriptions (`+webSubColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Callback, s.FeedID, s.Hub, s.Topic, s.Secret, s.State, s.Pending, ms(&s.RequestedAt), s.LeaseSeconds,
		ms(&s.LeaseUntil), ms(&s.VerifiedAt), ms(&s.LastPushAt), s.Pushes, s.Signature, strings.Join(s.Recent, " "),
		ms(&s.MissedAt), ms(&s.SilentSince), s.Attempts, ms(&s.NextAttemptAt), s.LastError, ms(&s.CreatedAt))
	if err != nil {
		return fmt.Errorf("create websub subscription: %w", err)
	}
	return nil
}

// WebSubRequested records that a request of mode (nashra.HubSubscribe or
// nashra.HubUnsubscribe) went to the hub at now and awaits its verification.
// An unsubscribe makes the subscription unsubscribing; a subscribe makes a
// subscription that was never verified, or was denied, requested.
func (db *DB) WebSubRequested(ctx context.Context, callback, mode string, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE websub_subscriptions SET pending = ?, requested_at = ?,
		state = CASE WHEN ? = 'unsubscribe' THEN 'unsubscribing' WHEN state = 'denied' THEN 'requested' ELSE state END
		WHERE callback = ?`, mode, ms(&now), mode, callback)
	if err != nil {
		return fmt.Errorf("record websub request: %w", err)
	}
	return nil
}

// WebSubFailed records that a request to the hub failed, or was never
// verified, with why; the next is tried at next.
func (db *DB) WebSubFailed(ctx context.Context, callback, why string, next time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE websub_subscriptions SET pending = '', attempts = attempts + 1,
		last_error = ?, next_attempt_at = ? WHERE callback = ?`, why, ms(&next), callback)
	if err != nil {
		return fmt.Errorf("record websub failure: %w", err)
	}
	return nil
}

// VerifyWebSub takes a hub's verification of intent of mode for topic at
// now, if and only if it is what the subscription awaits: a subscribe
// makes it active for leaseSeconds, an unsubscribe deletes it. It reports
// whether it did.
func (db *DB) VerifyWebSub(ctx context.Context, callback, mode, topic string, leaseSeconds int, now time.Time) (bool, error) {
	var r sql.Result
	var err error
	switch mode {
	case nashra.HubSubscribe:
		until := now.Add(time.Duration(leaseSeconds) * time.Second)
		r, err = db.write.ExecContext(ctx, `UPDATE websub_subscriptions SET state = 'active', pending = '',
			lease_seconds = ?, lease_until = ?, verified_at = ?, attempts = 0, next_attempt_at = NULL, last_error = ''
			WHERE callback = ? AND pending = 'subscribe' AND topic = ?`, leaseSeconds, ms(&until), ms(&now), callback, topic)
	case nashra.HubUnsubscribe:
		r, err = db.write.ExecContext(ctx, `DELETE FROM websub_subscriptions
			WHERE callback = ? AND pending = 'unsubscribe' AND topic = ?`, callback, topic)
	default:
		return false, fmt.Errorf("verify websub subscription: unknown mode %q", mode)
	}
	if err != nil {
		return false, fmt.Errorf("verify websub subscription: %w", err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// DenyWebSub takes a hub's refusal of a subscribe request for topic, if
// one is pending, with the hub's reason; the next request is tried at
// next. It reports whether it did.
func (db *DB) DenyWebSub(ctx context.Context, callback, topic, reason string, next time.Time) (bool, error) {
	r, err := db.write.ExecContext(ctx, `UPDATE websub_subscriptions SET state = 'denied', pending = '',
		attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE callback = ? AND pending = 'subscribe' AND topic = ?`, reason, ms(&next), callback, topic)
	if err != nil {
		return false, fmt.Errorf("deny websub subscription: %w", err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// ErrReplay is returned for a content distribution whose body was
// accepted already.
var ErrReplay = errors.New("body already received")

// WebSubPushed records a content distribution accepted at now, signed
// with method, its body's digest kept among the last keep; a hub that
// pushes is no longer suspected of silence. It returns ErrReplay, and
// records nothing, when the digest is among those kept.
func (db *DB) WebSubPushed(ctx context.Context, callback, method, digest string, keep int, now time.Time) error {
	for {
		s, err := db.WebSubSubscription(ctx, callback)
		if err != nil {
			return err
		}
		if slices.Contains(s.Recent, digest) {
			return ErrReplay
		}
		recent := append(s.Recent, digest)
		recent = recent[max(0, len(recent)-keep):]
		// Compared and swapped on the digests, so that two instances
		// receiving the same body at once take it once.
		r, err := db.write.ExecContext(ctx, `UPDATE websub_subscriptions SET last_push_at = ?, pushes = pushes + 1,
			recent = ?, signature = ?, missed_at = NULL, silent_since = NULL WHERE callback = ? AND recent = ?`,
			ms(&now), strings.Join(recent, " "), method, callback, strings.Join(s.Recent, " "))
		if err != nil {
			return fmt.Errorf("record websub push: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n > 0 {
			return err
		}
	}
}

// WebSubMissed records that a poll started at now, not asked by a push,
// found articles of a feed, for its active subscriptions that have no
// miss recorded and no push received since now.
func (db *DB) WebSubMissed(ctx context.Context, feedID int64, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE websub_subscriptions SET missed_at = ?
		WHERE feed_id = ? AND state = 'active' AND missed_at IS NULL AND (last_push_at IS NULL OR last_push_at < ?)`,
		ms(&now), feedID, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("record missed push of feed %d: %w", feedID, err)
	}
	return nil
}

// WebSubSilent records that the hub of a subscription was judged at now
// to have stopped delivering.
func (db *DB) WebSubSilent(ctx context.Context, callback string, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE websub_subscriptions SET silent_since = ? WHERE callback = ?`, ms(&now), callback)
	if err != nil {
		return fmt.Errorf("record silent hub: %w", err)
	}
	return nil
}

// DeleteWebSubSubscription forgets a subscription.
func (db *DB) DeleteWebSubSubscription(ctx context.Context, callback string) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM websub_subscriptions WHERE callback = ?`, callback); err != nil {
		return fmt.Errorf("delete websub subscription: %w", err)
	}
	return nil
}
