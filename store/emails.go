package store

import (
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

// SectionsKey is the stored form of a set of sections: the distinct slugs
// in ascending order, comma-separated; "" for none, which means all.
func SectionsKey(slugs []string) string {
	s := slices.Clone(slugs)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// ParseSectionsKey is the inverse of SectionsKey; "" gives nil (all).
func ParseSectionsKey(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ",")
}

// addressKey is what makes an address unique: the same mailbox typed in
// another case is the same subscriber.
func addressKey(address string) string { return strings.ToLower(strings.TrimSpace(address)) }

const emailColumns = `id, address, sections, state, created_at, updated_at, confirmed_at, requested_at, bounces, last_bounce`

func scanEmailSubscriber(row interface{ Scan(...any) error }) (nashra.EmailSubscriber, error) {
	var s nashra.EmailSubscriber
	var sections string
	err := row.Scan(&s.ID, &s.Address, &sections, &s.State, ms(&s.CreatedAt), ms(&s.UpdatedAt), ms(&s.ConfirmedAt),
		ms(&s.RequestedAt), &s.Bounces, &s.LastBounce)
	s.Sections = ParseSectionsKey(sections)
	return s, err
}

// EmailSubscriber returns one subscriber, or ErrNotFound.
func (db *DB) EmailSubscriber(ctx context.Context, id int64) (nashra.EmailSubscriber, error) {
	s, err := scanEmailSubscriber(db.read.QueryRowContext(ctx, `SELECT `+emailColumns+` FROM email_subscribers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nashra.EmailSubscriber{}, ErrNotFound
	}
	if err != nil {
		return nashra.EmailSubscriber{}, fmt.Errorf("read email subscriber %d: %w", id, err)
	}
	return s, nil
}

// SignupRequest is a reader asking for the email digest.
type SignupRequest struct {
	// Address must be a single, already validated address.
	Address string
	// Sections chosen; nil or empty means every section.
	Sections []string
	Now      time.Time
	// Limit and Window bound the mails signups send to one address: at most
	// Limit within Window, so that a form cannot be used to flood a mailbox.
	Limit  int
	Window time.Duration
	// Interval is the least time between two signup mails to the address;
	// 0 sets none.
	Interval time.Duration
	// Budget is the requester's, spent by every request: once it is spent,
	// nothing is queued (SignupThrottled) until its window ends. A zero
	// Budget (no key) bounds nothing.
	Budget Budget
}

// Budget bounds what one requester may ask for: at most Limit requests
// within Window of the first. Budgets live in the store, so every instance
// sharing it counts against the same one.
type Budget struct {
	// Key names the requester: "tg:<user id>", "ip:<address or /64>".
	Key    string
	Limit  int
	Window time.Duration
}

// SignupOutcome says what a signup request queued.
type SignupOutcome int

// The outcomes of RequestEmailSignup. Whichever it is, the reader is told
// the same thing, so that nobody learns whether an address is subscribed.
const (
	// SignupConfirm: a confirmation mail is queued.
	SignupConfirm SignupOutcome = iota
	// SignupNotice: the address is subscribed already; a notice with its
	// preference link is queued instead.
	SignupNotice
	// SignupLimited: the address had its share of mails; nothing is queued.
	SignupLimited
	// SignupThrottled: the requester spent its budget; nothing is queued,
	// and unlike the others this one is told, to wait.
	SignupThrottled
)

// errThrottled rolls back a signup whose requester turned out to be over
// budget.
var errThrottled = errors.New("signup budget spent")

// addressBudget is the key of the budget that spaces signup mails to the
// subscriber id.
func addressBudget(id int64) string { return "to:" + strconv.FormatInt(id, 10) }

// RequestEmailSignup records a signup and queues the mail it calls for, in
// one transaction: a new, pending, unsubscribed or bounced address becomes
// pending with the sections asked for and gets a confirmation; a subscribed
// one keeps its settings and gets a notice. It returns the subscriber's id
// and what was queued.
func (db *DB) RequestEmailSignup(ctx context.Context, r SignupRequest) (int64, SignupOutcome, error) {
	now := r.Now.UnixMilli()
	key := addressKey(r.Address)
	b := r.Budget
	if b.Key != "" {
		// A requester over budget is refused on a read, so that a flood of
		// refused requests never queues for the one writer.
		var spent int
		err := db.read.QueryRowContext(ctx, `SELECT spent FROM signup_budgets WHERE key = ? AND expires_at > ?`, b.Key, now).
			Scan(&spent)
		switch {
		case err == nil && spent >= b.Limit:
			return 0, SignupThrottled, nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return 0, 0, fmt.Errorf("email signup: read budget: %w", err)
		}
	}
	var id int64
	var outcome SignupOutcome
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Budgets end with their window: those ended go, found by index.
		if _, err := tx.ExecContext(ctx, `DELETE FROM signup_budgets WHERE expires_at <= ?`, now); err != nil {
			return err
		}
		if b.Key != "" {
			var spent int
			if err := tx.QueryRowContext(ctx, `INSERT INTO signup_budgets (key, spent, expires_at) VALUES (?, 1, ?)
				ON CONFLICT (key) DO UPDATE SET spent = signup_budgets.spent + 1 RETURNING spent`,
				b.Key, now+b.Window.Milliseconds()).Scan(&spent); err != nil {
				return err
			}
			if spent > b.Limit {
				return errThrottled // another instance spent the last of it meanwhile
			}
		}
		var state nashra.EmailState
		var requests int
		var since int64
		// One statement creates the subscriber or finds it, and holds its
		// row until the end: signups of one address at the same moment
		// (a form sent twice, two instances) neither fail on its unique
		// key nor count past the limit.
		err := tx.QueryRowContext(ctx, `INSERT INTO email_subscribers (address, address_key, sections, state, created_at,
			updated_at, requested_at, requests_since) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)
			ON CONFLICT (address_key) DO UPDATE SET address_key = excluded.address_key
			RETURNING id, state, requests, requests_since`,
			strings.TrimSpace(r.Address), key, SectionsKey(r.Sections), now, now, now, now).Scan(&id, &state, &requests, &since)
		if err != nil {
			return err
		}
		if now-since >= r.Window.Milliseconds() {
			requests, since = 0, now
		}
		if requests >= r.Limit {
			outcome = SignupLimited
			return nil
		}
		if r.Interval > 0 {
			// At most one mail per Interval: a live budget row says one went.
			res, err := tx.ExecContext(ctx, `INSERT INTO signup_budgets (key, spent, expires_at) VALUES (?, 1, ?)
				ON CONFLICT (key) DO NOTHING`, addressBudget(id), now+r.Interval.Milliseconds())
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				outcome = SignupLimited
				return err
			}
		}
		kind := nashra.SendConfirm
		if state.Subscribed() {
			kind, outcome = nashra.SendNotice, SignupNotice
			if _, err := tx.ExecContext(ctx, `UPDATE email_subscribers SET requests = ?, requests_since = ? WHERE id = ?`,
				requests+1, since, id); err != nil {
				return err
			}
		} else {
			outcome = SignupConfirm
			if _, err := tx.ExecContext(ctx, `UPDATE email_subscribers SET state = 'pending', sections = ?, requested_at = ?,
				updated_at = ?, requests = ?, requests_since = ? WHERE id = ?`,
				SectionsKey(r.Sections), now, now, requests+1, since, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO send_log (kind, medium, recipient_id, lane, state, created_at, not_before)
			VALUES (?, 'email', ?, 0, 'pending', ?, ?)`, kind, id, now, now)
		return err
	})
	if errors.Is(err, errThrottled) {
		return 0, SignupThrottled, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("email signup: %w", err)
	}
	return id, outcome, nil
}

// ConfirmEmailSubscriber makes a pending subscriber active, with no bounces
// counted, and returns the subscriber as it stands: confirming twice is
// harmless, and a subscriber who left meanwhile stays out.
func (db *DB) ConfirmEmailSubscriber(ctx context.Context, id int64, now time.Time) (nashra.EmailSubscriber, error) {
	if _, err := db.write.ExecContext(ctx, `UPDATE email_subscribers SET state = 'active', confirmed_at = ?, updated_at = ?,
		bounces = 0, last_bounce = '' WHERE id = ? AND state = 'pending'`, now.UnixMilli(), now.UnixMilli(), id); err != nil {
		return nashra.EmailSubscriber{}, fmt.Errorf("confirm email subscriber %d: %w", id, err)
	}
	return db.EmailSubscriber(ctx, id)
}

// SetEmailPreferences saves a subscribed reader's sections (nil: all) and
// pause, and returns the subscriber as it stands; a subscriber who is not
// subscribed is left alone.
func (db *DB) SetEmailPreferences(ctx context.Context, id int64, sections []string, paused bool, now time.Time) (nashra.EmailSubscriber, error) {
	state := nashra.EmailActive
	if paused {
		state = nashra.EmailPaused
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE email_subscribers SET sections = ?, state = ?, updated_at = ?
		WHERE id = ? AND state IN ('active', 'paused')`, SectionsKey(sections), state, now.UnixMilli(), id); err != nil {
		return nashra.EmailSubscriber{}, fmt.Errorf("save preferences of email subscriber %d: %w", id, err)
	}
	return db.EmailSubscriber(ctx, id)
}

// UnsubscribeEmail unsubscribes a reader at once and cancels every mail
// still waiting for them; it returns the subscriber as it stands.
func (db *DB) UnsubscribeEmail(ctx context.Context, id int64, now time.Time) (nashra.EmailSubscriber, error) {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE email_subscribers SET state = 'unsubscribed', updated_at = ? WHERE id = ?`,
			now.UnixMilli(), id)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `UPDATE send_log SET state = 'cancelled', error_kind = 'unsubscribed',
			claimed_by = NULL, lease_until = NULL
			WHERE medium = 'email' AND recipient_id = ? AND state IN ('pending', 'claimed')`, id)
		return err
	})
	if err != nil {
		return nashra.EmailSubscriber{}, fmt.Errorf("unsubscribe email subscriber %d: %w", id, err)
	}
	return db.EmailSubscriber(ctx, id)
}

// ForgetUnconfirmedEmails deletes the signups still unconfirmed whose last
// request is older than before, with their mails, and returns how many.
func (db *DB) ForgetUnconfirmedEmails(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM send_log WHERE medium = 'email' AND recipient_id IN
			(SELECT id FROM email_subscribers WHERE state = 'pending' AND requested_at < ?)`, before.UnixMilli()); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `DELETE FROM email_subscribers WHERE state = 'pending' AND requested_at < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("forget unconfirmed email signups: %w", err)
	}
	return int(n), nil
}

// ImportEmailSubscribers adds subscribers as they are given — ids (when
// not zero), states and dates kept, so that links already mailed keep
// working — skipping addresses already known; it returns how many it
// added. It serves moving a list from another store or tool, and tests.
func (db *DB) ImportEmailSubscribers(ctx context.Context, subs []nashra.EmailSubscriber) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		const columns = `address, address_key, sections, state, created_at, updated_at, confirmed_at, requested_at,
			requests_since, bounces, last_bounce`
		withID, err := tx.PrepareContext(ctx, `INSERT INTO email_subscribers (id, `+columns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address_key) DO NOTHING`)
		if err != nil {
			return err
		}
		defer withID.Close()
		newID, err := tx.PrepareContext(ctx, `INSERT INTO email_subscribers (`+columns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address_key) DO NOTHING`)
		if err != nil {
			return err
		}
		defer newID.Close()
		for _, s := range subs {
			args := []any{strings.TrimSpace(s.Address), addressKey(s.Address), SectionsKey(s.Sections), s.State,
				s.CreatedAt.UnixMilli(), s.UpdatedAt.UnixMilli(), ms(&s.ConfirmedAt), s.RequestedAt.UnixMilli(),
				s.RequestedAt.UnixMilli(), s.Bounces, s.LastBounce}
			stmt := newID
			if s.ID != 0 {
				stmt, args = withID, append([]any{s.ID}, args...)
			}
			r, err := stmt.ExecContext(ctx, args...)
			if err != nil {
				return fmt.Errorf("%s: %w", s.Address, err)
			}
			k, _ := r.RowsAffected()
			n += int(k)
		}
		// Ids given explicitly leave PostgreSQL's counter behind.
		return db.raiseCounter(ctx, tx, "email_subscribers", "id", 0)
	})
	if err != nil {
		return 0, fmt.Errorf("import email subscribers: %w", err)
	}
	return n, nil
}

// CountEmailSubscribers counts subscribers by state, for /stats and
// /metrics.
func (db *DB) CountEmailSubscribers(ctx context.Context) (map[nashra.EmailState]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT state, COUNT(*) FROM email_subscribers GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count email subscribers: %w", err)
	}
	defer rows.Close()
	out := map[nashra.EmailState]int{}
	for rows.Next() {
		var s nashra.EmailState
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count email subscribers: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}
