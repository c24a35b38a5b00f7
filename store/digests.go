package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/almaalouma/nashra"
)

const digestColumns = `id, day, state, subject, picks, window_start, window_end, created_at, finished_at, emails, chats`

func scanDigest(row interface{ Scan(...any) error }) (nashra.Digest, error) {
	var d nashra.Digest
	var picks string
	err := row.Scan(&d.ID, &d.Day, &d.State, &d.Subject, &picks, ms(&d.WindowStart), ms(&d.WindowEnd), ms(&d.CreatedAt),
		ms(&d.FinishedAt), &d.Emails, &d.Chats)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(picks), &d.Picks); err != nil {
		return d, fmt.Errorf("digest %s picks: %w", d.Day, err)
	}
	return d, nil
}

// CreateDigest records a day's digest and, when its state is
// DigestSending, queues it in the same transaction: one send-log row per
// active email subscriber, with their sections of the moment, and, when
// telegram is true, one reply of nashra.MethodDigest per active chat that asked
// for the daily digest, in the Telegram queue's broadcast lane.
// When the day has a digest already nothing changes and created is false:
// of two instances building the same day, one queues it.
func (db *DB) CreateDigest(ctx context.Context, d nashra.Digest, telegram bool) (_ nashra.Digest, created bool, err error) {
	picks, err := json.Marshal(d.Picks)
	if err != nil {
		return nashra.Digest{}, false, fmt.Errorf("create digest %s: %w", d.Day, err)
	}
	now := d.CreatedAt.UnixMilli()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO digests (day, state, subject, picks, window_start, window_end, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day) DO NOTHING RETURNING id`,
			d.Day, d.State, d.Subject, string(picks), d.WindowStart.UnixMilli(), d.WindowEnd.UnixMilli(), now).Scan(&d.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		created = true
		if d.State != nashra.DigestSending {
			return nil
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO send_log (kind, medium, digest_id, recipient_id, sections, lane, state,
			created_at, not_before) SELECT 'digest', 'email', ?, id, sections, 1, 'pending', ?, ?
			FROM email_subscribers WHERE state = 'active'`, d.ID, now, now)
		if err != nil {
			return fmt.Errorf("queue emails: %w", err)
		}
		n, _ := r.RowsAffected()
		d.Emails = int(n)
		if telegram {
			params, err := json.Marshal(map[string]string{"digest_id": strconv.FormatInt(d.ID, 10)})
			if err != nil {
				return err
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO delivery_replies (chat_id, lane, method, params, state, created_at,
				not_before, digest_id) SELECT id, ?, ?, ?, 'pending', ?, ?, ?
				FROM chats WHERE digest = 1 AND active = 1 AND kind <> 'channel'`,
				nashra.BroadcastLane, nashra.MethodDigest, string(params), now, now, d.ID)
			if err != nil {
				return fmt.Errorf("queue telegram readers: %w", err)
			}
			n, _ := r.RowsAffected()
			d.Chats = int(n)
		}
		_, err = tx.ExecContext(ctx, `UPDATE digests SET emails = ?, chats = ? WHERE id = ?`, d.Emails, d.Chats, d.ID)
		return err
	})
	if err != nil {
		return nashra.Digest{}, false, fmt.Errorf("create digest %s: %w", d.Day, err)
	}
	if !created {
		d, err = db.Digest(ctx, d.Day)
	}
	return d, created, err
}

// Digest returns the digest of a day (YYYY-MM-DD), or ErrNotFound.
func (db *DB) Digest(ctx context.Context, day string) (nashra.Digest, error) {
	d, err := scanDigest(db.read.QueryRowContext(ctx, `SELECT `+digestColumns+` FROM digests WHERE day = ?`, day))
	if errors.Is(err, sql.ErrNoRows) {
		return nashra.Digest{}, ErrNotFound
	}
	if err != nil {
		return nashra.Digest{}, fmt.Errorf("read digest %s: %w", day, err)
	}
	return d, nil
}

// DigestByID returns one digest, or ErrNotFound.
func (db *DB) DigestByID(ctx context.Context, id int64) (nashra.Digest, error) {
	d, err := scanDigest(db.read.QueryRowContext(ctx, `SELECT `+digestColumns+` FROM digests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nashra.Digest{}, ErrNotFound
	}
	if err != nil {
		return nashra.Digest{}, fmt.Errorf("read digest %d: %w", id, err)
	}
	return d, nil
}

// Digests returns up to limit digests that went out (sent or sending),
// newest first, for the archive.
func (db *DB) Digests(ctx context.Context, limit int) ([]nashra.Digest, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+digestColumns+` FROM digests WHERE state IN ('sending', 'sent')
		ORDER BY day DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	defer rows.Close()
	var out []nashra.Digest
	for rows.Next() {
		d, err := scanDigest(rows)
		if err != nil {
			return nil, fmt.Errorf("list digests: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DigestEdition returns the picks of a digest for one set of sections (a
// SectionsKey), calling pick and keeping its answer the first time, so
// that every message of that set — after a restart too, and on every
// instance — shows the same articles.
func (db *DB) DigestEdition(ctx context.Context, digestID int64, sections string, pick func() (nashra.DigestPicks, error)) (nashra.DigestPicks, error) {
	read := func() (nashra.DigestPicks, error) {
		var p nashra.DigestPicks
		var raw string
		err := db.read.QueryRowContext(ctx, `SELECT picks FROM digest_editions WHERE digest_id = ? AND sections = ?`,
			digestID, sections).Scan(&raw)
		if err != nil {
			return p, err
		}
		return p, json.Unmarshal([]byte(raw), &p)
	}
	p, err := read()
	if !errors.Is(err, sql.ErrNoRows) {
		if err != nil {
			return p, fmt.Errorf("digest %d edition %q: %w", digestID, sections, err)
		}
		return p, nil
	}
	if p, err = pick(); err != nil {
		return p, fmt.Errorf("digest %d edition %q: %w", digestID, sections, err)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return p, fmt.Errorf("digest %d edition %q: %w", digestID, sections, err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO digest_editions (digest_id, sections, picks) VALUES (?, ?, ?)
		ON CONFLICT (digest_id, sections) DO NOTHING`, digestID, sections, string(raw)); err != nil {
		return p, fmt.Errorf("digest %d edition %q: %w", digestID, sections, err)
	}
	if p, err = read(); err != nil {
		return p, fmt.Errorf("digest %d edition %q: %w", digestID, sections, err)
	}
	return p, nil
}

// FinishDigests marks as sent the digests still sending that have no
// message left to send, and returns them.
func (db *DB) FinishDigests(ctx context.Context, now time.Time) ([]nashra.Digest, error) {
	ids, err := int64s(ctx, db.read, `SELECT d.id FROM digests d WHERE d.state = 'sending' AND NOT EXISTS
		(SELECT 1 FROM send_log s WHERE s.digest_id = d.id AND s.state IN ('pending', 'claimed'))`)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE digests SET state = 'sent', finished_at = ? WHERE state = 'sending'
		AND id IN (`+placeholders(len(ids))+`)`, append([]any{now.UnixMilli()}, anys(ids)...)...); err != nil {
		return nil, fmt.Errorf("finish digests: %w", err)
	}
	out := make([]nashra.Digest, 0, len(ids))
	for _, id := range ids {
		d, err := db.DigestByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ClaimSends leases to holder until leaseUntil up to limit rows of medium
// that are due at now, confirmations before digests, oldest first. Rows
// whose subscriber may no longer get them, as mailable says given the
// row's kind and the subscriber's state ("" once forgotten), are
// cancelled instead of claimed, with that state as the reason.
func (db *DB) ClaimSends(ctx context.Context, medium nashra.SendMedium, holder string, limit int, now, leaseUntil time.Time,
	mailable func(nashra.SendKind, nashra.EmailState) bool) ([]nashra.Send, error) {
	var out []nashra.Send
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT s.id, s.kind, COALESCE(s.digest_id, 0), s.recipient_id, s.sections, s.attempts,
			s.created_at, COALESCE(e.address, ''), COALESCE(e.state, '')
			FROM send_log s
			LEFT JOIN email_subscribers e ON s.medium = 'email' AND e.id = s.recipient_id
			WHERE s.medium = ? AND s.state = 'pending' AND s.not_before <= ? ORDER BY s.lane, s.id LIMIT ?`,
			medium, now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		var claim []int64
		cancel := map[string][]int64{}
		for rows.Next() {
			s := nashra.Send{Medium: medium}
			var sections string
			var created int64
			var state nashra.EmailState
			if err := rows.Scan(&s.ID, &s.Kind, &s.DigestID, &s.RecipientID, &sections, &s.Attempts, &created, &s.Address,
				&state); err != nil {
				rows.Close()
				return err
			}
			if !mailable(s.Kind, state) {
				why := cmp.Or(string(state), "forgotten")
				cancel[why] = append(cancel[why], s.ID)
				continue
			}
			s.Sections, s.CreatedAt = ParseSectionsKey(sections), time.UnixMilli(created).UTC()
			claim = append(claim, s.ID)
			out = append(out, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for why, ids := range cancel {
			if _, err := tx.ExecContext(ctx, `UPDATE send_log SET state = 'cancelled', error_kind = ? WHERE id IN (`+
				placeholders(len(ids))+`)`, append([]any{why}, anys(ids)...)...); err != nil {
				return err
			}
		}
		if len(claim) == 0 {
			return nil
		}
		// Only rows still pending are taken: on PostgreSQL a cancel may
		// commit between the read above and this write.
		r, err := tx.ExecContext(ctx, `UPDATE send_log SET state = 'claimed', claimed_by = ?, lease_until = ? WHERE id IN (`+
			placeholders(len(claim))+`) AND state = 'pending'`, append([]any{holder, leaseUntil.UnixMilli()}, anys(claim)...)...)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || int(n) == len(claim) {
			return err
		}
		claimed, err := int64s(ctx, tx, `SELECT id FROM send_log WHERE id IN (`+placeholders(len(claim))+`)
			AND state = 'claimed' AND claimed_by = ?`, append(anys(claim), holder)...)
		out = slices.DeleteFunc(out, func(s nashra.Send) bool { return !slices.Contains(claimed, s.ID) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim %s sends: %w", medium, err)
	}
	return out, nil
}

// NextSendAt returns when the earliest pending row of medium is due; zero
// when none is pending.
func (db *DB) NextSendAt(ctx context.Context, medium nashra.SendMedium) (time.Time, error) {
	var at sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT MIN(not_before) FROM send_log WHERE medium = ? AND state = 'pending'`,
		medium).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("next %s send: %w", medium, err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(at.Int64).UTC(), nil
}

// OpenSends counts the rows of medium still to send, pending or claimed:
// the queue's depth, for /stats and /metrics.
func (db *DB) OpenSends(ctx context.Context, medium nashra.SendMedium) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM send_log WHERE medium = ? AND state IN ('pending', 'claimed')`,
		medium).Scan(&n); err != nil {
		return 0, fmt.Errorf("count open %s sends: %w", medium, err)
	}
	return n, nil
}

// SendOp is what a sender does with rows it holds.
type SendOp int

// The operations of UpdateSends. Ops other than SendOpSent apply only to
// rows still claimed by the holder, so that a row cancelled meanwhile (the
// reader unsubscribed) stays cancelled; SendOpSent always records the
// truth, because the message went out.
const (
	// SendOpSent: the message went out (At). The recipient's bounce count
	// starts again from zero.
	SendOpSent SendOp = iota
	// SendOpRetry: pending again from At, one attempt more, error kept.
	SendOpRetry
	// SendOpBounce: the address was refused permanently: the row is final,
	// the subscriber's bounce count grows and their state becomes what
	// Bounced says.
	SendOpBounce
	// SendOpDead: given up after too many attempts, error kept.
	SendOpDead
	// SendOpStale: waited too long to be worth sending.
	SendOpStale
	// SendOpCancel: not to be sent (nothing for the reader's sections).
	SendOpCancel
	// SendOpRelease: pending again, untouched (shutdown, a paused send).
	SendOpRelease
)

// SendUpdate changes rows a sender holds.
type SendUpdate struct {
	Op        SendOp
	IDs       []int64
	At        time.Time
	ErrorKind string
	Error     string
	// Bounced, for SendOpBounce, is the bounce policy: the state the
	// subscriber takes after this refusal, given the refusals counted
	// before it and their state. nil: the state stays.
	Bounced func(bounces int, state nashra.EmailState) nashra.EmailState
}

// UpdateSends applies a sender's updates in one transaction: one commit
// for many finished sends.
func (db *DB) UpdateSends(ctx context.Context, holder string, updates []SendUpdate) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, u := range updates {
			if len(u.IDs) == 0 {
				continue
			}
			in := ` WHERE id IN (` + placeholders(len(u.IDs)) + `)`
			ids := anys(u.IDs)
			if u.Op == SendOpBounce {
				// Before the row changes state, while the guard still holds.
				if err := bounce(ctx, tx, u, in, append(ids, holder)); err != nil {
					return fmt.Errorf("bounce: %w", err)
				}
			}
			if u.Op == SendOpSent {
				if _, err := tx.ExecContext(ctx, `UPDATE email_subscribers SET bounces = 0, last_bounce = ''
					WHERE bounces > 0 AND id IN (SELECT recipient_id FROM send_log`+in+` AND medium = 'email')`, ids...); err != nil {
					return fmt.Errorf("reset bounces: %w", err)
				}
			}
			q, args := sendSQL(u)
			guard, guardArgs := ` AND state = 'claimed' AND claimed_by = ?`, []any{holder}
			if u.Op == SendOpSent {
				guard, guardArgs = "", nil
			}
			if _, err := tx.ExecContext(ctx, q+in+guard, append(append(args, ids...), guardArgs...)...); err != nil {
				return fmt.Errorf("op %d: %w", u.Op, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update sends: %w", err)
	}
	return nil
}

// bounce counts a refusal against each subscriber of the rows in (a
// condition on send_log's ids, with args) still claimed, and stores the
// state u.Bounced gives them.
func bounce(ctx context.Context, tx *sql.Tx, u SendUpdate, in string, args []any) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, bounces, state FROM email_subscribers WHERE id IN (SELECT recipient_id
		FROM send_log`+in+` AND medium = 'email' AND state = 'claimed' AND claimed_by = ?)`, args...)
	if err != nil {
		return err
	}
	type sub struct {
		id, bounces int64
		state       nashra.EmailState
	}
	var subs []sub
	for rows.Next() {
		var s sub
		if err := rows.Scan(&s.id, &s.bounces, &s.state); err != nil {
			rows.Close()
			return err
		}
		subs = append(subs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range subs {
		state := s.state
		if u.Bounced != nil {
			state = u.Bounced(int(s.bounces), s.state)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE email_subscribers SET bounces = bounces + 1, last_bounce = ?, state = ?,
			updated_at = ? WHERE id = ?`, u.Error, state, u.At.UnixMilli(), s.id); err != nil {
			return err
		}
	}
	return nil
}

func sendSQL(u SendUpdate) (string, []any) {
	const unclaim = `, claimed_by = NULL, lease_until = NULL`
	switch u.Op {
	case SendOpSent:
		return `UPDATE send_log SET state = 'sent', sent_at = ?, attempts = attempts + 1, error_kind = ''` + unclaim,
			[]any{u.At.UnixMilli()}
	case SendOpRetry:
		return `UPDATE send_log SET state = 'pending', not_before = ?, attempts = attempts + 1, error_kind = ?, last_error = ?` +
			unclaim, []any{u.At.UnixMilli(), u.ErrorKind, u.Error}
	case SendOpBounce:
		return `UPDATE send_log SET state = 'bounced', attempts = attempts + 1, error_kind = ?, last_error = ?` + unclaim,
			[]any{u.ErrorKind, u.Error}
	case SendOpDead:
		return `UPDATE send_log SET state = 'dead', attempts = attempts + 1, error_kind = ?, last_error = ?` + unclaim,
			[]any{u.ErrorKind, u.Error}
	case SendOpStale:
		return `UPDATE send_log SET state = 'stale', error_kind = 'stale'` + unclaim, nil
	case SendOpCancel:
		return `UPDATE send_log SET state = 'cancelled', error_kind = ?, last_error = ?` + unclaim, []any{u.ErrorKind, u.Error}
	case SendOpRelease:
		return `UPDATE send_log SET state = 'pending'` + unclaim, nil
	}
	panic(fmt.Sprintf("store: unknown send op %d", u.Op))
}

// SendCounts counts a digest's messages by medium and state: its send-log
// rows, and its replies in the Telegram queue, under nashra.SendTelegram.
func (db *DB) SendCounts(ctx context.Context, digestID int64) (map[nashra.SendMedium]map[nashra.DeliveryState]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT medium, state, COUNT(*) FROM send_log WHERE digest_id = ?
		GROUP BY medium, state
		UNION ALL SELECT 'telegram', state, COUNT(*) FROM delivery_replies WHERE digest_id = ? GROUP BY state`, digestID, digestID)
	if err != nil {
		return nil, fmt.Errorf("count sends of digest %d: %w", digestID, err)
	}
	defer rows.Close()
	out := map[nashra.SendMedium]map[nashra.DeliveryState]int{}
	for rows.Next() {
		var m nashra.SendMedium
		var s nashra.DeliveryState
		var n int
		if err := rows.Scan(&m, &s, &n); err != nil {
			return nil, fmt.Errorf("count sends of digest %d: %w", digestID, err)
		}
		if out[m] == nil {
			out[m] = map[nashra.DeliveryState]int{}
		}
		out[m][s] = n
	}
	return out, rows.Err()
}

// CompactSendLog deletes final rows created before before and returns how
// many; the digests themselves are kept for the archive.
func (db *DB) CompactSendLog(ctx context.Context, before time.Time) (int, error) {
	r, err := db.write.ExecContext(ctx, `DELETE FROM send_log WHERE created_at < ? AND state NOT IN ('pending', 'claimed')`,
		before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("compact send log: %w", err)
	}
	n, err := r.RowsAffected()
	return int(n), err
}
