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

// settled must open the condition of a query on held, claimed or final
// rows: SQLite uses the index deliveries_state (state <> 'pending') only
// when the query says so in these words; it does not infer it from
// state = 'held'.
const settled = `state <> 'pending' AND `

const deliveryColumns = `d.id, d.article_id, d.chat_id, d.kind, d.lane, d.state, d.created_at, d.due_at, d.not_before,
	d.plain, d.attempts, d.error_kind, d.last_error, d.message_id, d.caption, d.bundled, d.sent_at, d.sent_revision, d.todo,
	d.thread_id, d.reason, c.mode, c.quiet_start, c.quiet_end, c.quiet_mode, c.digest, c.breaking_sound, c.bundle,
	COALESCE(c.active, 1)`

// deliveryFrom joins the chat's settings; channels may have no chat row.
const deliveryFrom = ` FROM deliveries d LEFT JOIN chats c ON c.id = d.chat_id `

func scanDelivery(row interface{ Scan(...any) error }) (nashra.Delivery, error) {
	var d nashra.Delivery
	var created, due, notBefore int64
	var msgID sql.NullInt64
	var mode, quietMode sql.NullString
	var quietStart, quietEnd sql.NullInt64
	var digest, breakingSound, bundle sql.NullBool
	err := row.Scan(&d.ID, &d.ArticleID, &d.ChatID, &d.Kind, &d.Lane, &d.State, &created, &due, &notBefore,
		&d.Plain, &d.Attempts, &d.ErrorKind, &d.LastError, &msgID, &d.Caption, &d.Bundled, ms(&d.SentAt), &d.SentRevision, &d.Todo,
		&d.ThreadID, &d.Reason, &mode, &quietStart, &quietEnd, &quietMode, &digest, &breakingSound, &bundle, &d.ChatActive)
	if err != nil {
		return d, err
	}
	d.CreatedAt, d.DueAt, d.NotBefore = time.UnixMilli(created).UTC(), time.UnixMilli(due).UTC(), time.UnixMilli(notBefore).UTC()
	d.MessageID = int(msgID.Int64)
	if mode.Valid {
		d.Settings = &nashra.ChatSettings{Mode: mode.String, QuietStart: int(quietStart.Int64), QuietEnd: int(quietEnd.Int64),
			QuietMode: quietMode.String, Digest: digest.Bool, BreakingSound: breakingSound.Bool, Bundle: bundle.Bool}
	}
	return d, nil
}

func queryDeliveries(ctx context.Context, q querier, query string, args ...any) ([]nashra.Delivery, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []nashra.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimDeliveries leases up to limit due rows of lanes up to maxLane to
// holder until leaseUntil, lowest lane first, oldest article first. With a
// row for a reader or a group come that chat's other due rows, beyond
// limit, so that they can go out as one bundle. Rows carry their chat's
// settings.
func (db *DB) ClaimDeliveries(ctx context.Context, holder string, maxLane nashra.Lane, limit int, leaseUntil time.Time) ([]nashra.Delivery, error) {
	if none, err := db.none(ctx, `SELECT 1 FROM deliveries WHERE state = 'pending' AND lane <= ? LIMIT 1`, maxLane); none || err != nil {
		return nil, err
	}
	var out []nashra.Delivery
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := int64s(ctx, tx, `SELECT id FROM deliveries WHERE state = 'pending' AND lane <= ?
			ORDER BY lane, article_id, id LIMIT ?`, maxLane, limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		chats, err := int64s(ctx, tx, `SELECT DISTINCT chat_id FROM deliveries WHERE id IN (`+placeholders(len(ids))+`)
			AND kind <> 'channel'`, anys(ids)...)
		if err != nil {
			return err
		}
		if len(chats) > 0 {
			more, err := int64s(ctx, tx, `SELECT id FROM deliveries WHERE state = 'pending' AND kind <> 'channel'
				AND chat_id IN (`+placeholders(len(chats))+`)`, anys(chats)...)
			if err != nil {
				return err
			}
			ids = append(ids, more...)
			slices.Sort(ids)
			ids = slices.Compact(ids)
		}
		// Only rows still pending are taken: on PostgreSQL an editor's
		// cancel may commit between the reads above and this write.
		args := append([]any{holder, leaseUntil.UnixMilli()}, anys(ids)...)
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'claimed', claimed_by = ?, lease_until = ?
			WHERE id IN (`+placeholders(len(ids))+`) AND state = 'pending'`, args...); err != nil {
			return err
		}
		out, err = queryDeliveries(ctx, tx, `SELECT `+deliveryColumns+deliveryFrom+`WHERE d.id IN (`+placeholders(len(ids))+`)
			AND d.state = 'claimed' AND d.claimed_by = ? ORDER BY d.lane, d.article_id, d.id`, append(anys(ids), holder)...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// ClaimDeliveryTodo leases up to limit sent rows with work left (an edit or
// a delete) whose backoff has passed, oldest first.
func (db *DB) ClaimDeliveryTodo(ctx context.Context, holder string, limit int, now, leaseUntil time.Time) ([]nashra.Delivery, error) {
	// Nearly always there is none: a look on the readers' pool spares the
	// writer.
	if none, err := db.none(ctx, `SELECT 1 FROM deliveries WHERE todo <> '' AND claimed_by IS NULL
		AND COALESCE(lease_until, 0) <= ? LIMIT 1`, now.UnixMilli()); none || err != nil {
		return nil, err
	}
	var out []nashra.Delivery
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := int64s(ctx, tx, `SELECT id FROM deliveries WHERE todo <> '' AND claimed_by IS NULL
			AND COALESCE(lease_until, 0) <= ? ORDER BY id LIMIT ?`, now.UnixMilli(), limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		args := append([]any{holder, leaseUntil.UnixMilli()}, anys(ids)...)
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET claimed_by = ?, lease_until = ? WHERE id IN (`+placeholders(len(ids))+`)
			AND todo <> '' AND claimed_by IS NULL`, args...); err != nil {
			return err
		}
		out, err = queryDeliveries(ctx, tx, `SELECT `+deliveryColumns+deliveryFrom+`WHERE d.id IN (`+placeholders(len(ids))+`)
			AND d.claimed_by = ? ORDER BY d.id`, append(anys(ids), holder)...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim delivery work: %w", err)
	}
	return out, nil
}

// ReleaseHeldDeliveries makes held rows whose time has come due again and
// returns how many.
func (db *DB) ReleaseHeldDeliveries(ctx context.Context, now time.Time) (int, error) {
	r, err := db.write.ExecContext(ctx, `UPDATE deliveries SET state = 'pending' WHERE `+settled+`state = 'held' AND not_before <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("release held deliveries: %w", err)
	}
	n, err := r.RowsAffected()
	return int(n), err
}

// OutboxOp is a change of state of rows a dispatcher holds. The store
// writes it as told; which answer from Telegram leads to which change is
// the dispatcher's (delivery's conclude).
type OutboxOp int

// The operations of OutboxUpdate. Ops on deliveries other than OpSent apply
// only to rows still claimed by the holder, so that a row an editor
// cancelled meanwhile stays cancelled; OpSent always records the truth.
const (
	// OpSent: Telegram took the message (MessageID, Caption, Revision);
	// several ids make a bundle. A row retracted while in flight gets its
	// delete queued.
	OpSent OutboxOp = iota
	// OpRetry: held until At, one attempt more, the error kept.
	OpRetry
	// OpPlain: pending again, to be resent as plain text.
	OpPlain
	// OpGeneral: pending again, without its forum topic (to the group's
	// general topic).
	OpGeneral
	// OpDead: given up, the error kept.
	OpDead
	// OpCancel: cancelled, the reason kept.
	OpCancel
	// OpRelease: pending again, untouched.
	OpRelease
	// OpStale: dropped as stale.
	OpStale
	// OpDefer: held until At, which becomes its due time.
	OpDefer
	// OpEdited: a correction went out; Revision is what the message shows.
	OpEdited
	// OpDeleted: a retraction deleted the message.
	OpDeleted
	// OpTodoRetry: the edit or delete is tried again after At, one
	// attempt more (queuing an edit or a delete starts the count afresh).
	OpTodoRetry
	// OpTodoDrop: the edit or delete is given up, the error kept.
	OpTodoDrop
	// OpReplySent, OpReplyRetry, OpReplyDead, OpReplyStale, OpReplyRelease
	// and OpReplyCancel do the same to replies.
	OpReplySent
	OpReplyRetry
	OpReplyDead
	OpReplyStale
	OpReplyRelease
	OpReplyCancel
)

// OutboxUpdate changes rows a dispatcher holds.
type OutboxUpdate struct {
	Op  OutboxOp
	IDs []int64
	// Todo is the work an edit or delete op finished (TodoEdit or
	// TodoDelete): a retraction queued while an edit was in flight must
	// not be wiped by the edit's answer.
	Todo      string
	MessageID int
	Caption   bool
	Revision  int
	At        time.Time
	ErrorKind string
	Error     string
}

// Scope is the rate limiter's state for a chat, or for the whole bot when
// ChatID is 0.
type Scope struct {
	ChatID int64
	// NextAt is the earliest next send under the configured rate.
	NextAt time.Time
	// PausedUntil is when a 429's retry_after ends.
	PausedUntil time.Time
}

// UpdateOutbox applies a dispatcher's updates and limiter scopes in one
// transaction: one commit for many finished sends. Statements are prepared
// once per transaction, since most updates share their text.
func (db *DB) UpdateOutbox(ctx context.Context, holder string, updates []OutboxUpdate, scopes []Scope) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmts := map[string]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		exec := func(q string, args ...any) error {
			st := stmts[q]
			if st == nil {
				var err error
				if st, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
				stmts[q] = st
			}
			_, err := st.ExecContext(ctx, args...)
			return err
		}
		var sent []OutboxUpdate
		for _, u := range updates {
			if u.Op == OpSent {
				sent = append(sent, u)
			}
		}
		if err := db.markSent(ctx, tx, sent); err != nil {
			return err
		}
		for _, u := range updates {
			if len(u.IDs) == 0 || u.Op == OpSent {
				continue
			}
			q, args := outboxSQL(u)
			q += ` WHERE id IN (` + placeholders(len(u.IDs)) + `)` + guard(u.Op)
			args = append(append(args, anys(u.IDs)...), guardArgs(u, holder)...)
			var err error
			switch u.Op {
			case OpDead, OpCancel, OpStale, OpDeleted:
				_, err = db.settle(ctx, tx, q, args...)
			default:
				err = exec(q, args...)
			}
			if err != nil {
				return fmt.Errorf("op %d: %w", u.Op, err)
			}
		}
		for _, s := range scopes {
			if err := exec(`INSERT INTO delivery_scopes (chat_id, next_at, paused_until) VALUES (?, ?, ?)
				ON CONFLICT (chat_id) DO UPDATE SET
				next_at = CASE WHEN excluded.next_at > delivery_scopes.next_at THEN excluded.next_at ELSE delivery_scopes.next_at END,
				paused_until = CASE WHEN excluded.paused_until > delivery_scopes.paused_until THEN excluded.paused_until
					ELSE delivery_scopes.paused_until END`,
				s.ChatID, unixMilli(s.NextAt), unixMilli(s.PausedUntil)); err != nil {
				return fmt.Errorf("scope %d: %w", s.ChatID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update outbox: %w", err)
	}
	return nil
}

// markSent records sends, all in one statement per thousand rows: in a
// busy push they are nearly every update, and parsing one statement per
// send would cost more than the rest of the acknowledgement.
func (db *DB) markSent(ctx context.Context, tx *sql.Tx, ups []OutboxUpdate) error {
	const cols, chunk = 6, 1000
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		// The first row's casts type the columns: PostgreSQL reads the
		// other placeholders of a VALUES list as text otherwise.
		values := `(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS SMALLINT), CAST(? AS SMALLINT), CAST(? AS BIGINT),
			CAST(? AS INTEGER))` + strings.Repeat(", ("+placeholders(cols)+")", len(args)/cols-1)
		// A row retracted while its send was in flight gets its delete queued.
		_, err := db.settle(ctx, tx, `UPDATE deliveries SET state = 'sent', message_id = v.column2, caption = v.column3,
			bundled = v.column4, sent_at = v.column5, sent_revision = v.column6, attempts = attempts + 1, error_kind = '',
			claimed_by = NULL, lease_until = NULL,
			todo = CASE WHEN state = 'cancelled' AND error_kind = 'retracted' THEN 'delete' ELSE todo END
			FROM (VALUES `+values+`) AS v WHERE deliveries.id = v.column1`, args...)
		args = args[:0]
		return err
	}
	for _, u := range ups {
		for _, id := range u.IDs {
			args = append(args, id, u.MessageID, u.Caption, len(u.IDs) > 1, u.At.UnixMilli(), u.Revision)
			if len(args) == cols*chunk {
				if err := flush(); err != nil {
					return fmt.Errorf("mark sent: %w", err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

func outboxSQL(u OutboxUpdate) (string, []any) {
	at := u.At.UnixMilli()
	switch u.Op {
	case OpRetry:
		return `UPDATE deliveries SET state = 'held', not_before = ?, attempts = attempts + 1, error_kind = ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL`, []any{at, u.ErrorKind, u.Error}
	case OpPlain:
		return `UPDATE deliveries SET state = 'pending', plain = 1, attempts = attempts + 1, error_kind = ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL`, []any{u.ErrorKind, u.Error}
	case OpGeneral:
		return `UPDATE deliveries SET state = 'pending', thread_id = 0, attempts = attempts + 1, error_kind = ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL`, []any{u.ErrorKind, u.Error}
	case OpDead:
		return `UPDATE deliveries SET state = 'dead', attempts = attempts + 1, error_kind = ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL`, []any{u.ErrorKind, u.Error}
	case OpCancel:
		return `UPDATE deliveries SET state = 'cancelled', error_kind = ?, last_error = ?, claimed_by = NULL, lease_until = NULL`,
			[]any{u.ErrorKind, u.Error}
	case OpRelease:
		return `UPDATE deliveries SET state = 'pending', claimed_by = NULL, lease_until = NULL`, nil
	case OpStale:
		return `UPDATE deliveries SET state = 'stale', error_kind = 'stale', claimed_by = NULL, lease_until = NULL`, nil
	case OpDefer:
		return `UPDATE deliveries SET state = 'held', not_before = ?, due_at = ?, claimed_by = NULL, lease_until = NULL`,
			[]any{at, at}
	case OpEdited:
		return `UPDATE deliveries SET todo = '', sent_revision = ?, claimed_by = NULL, lease_until = NULL`, []any{u.Revision}
	case OpDeleted:
		return `UPDATE deliveries SET todo = '', state = 'retracted', claimed_by = NULL, lease_until = NULL`, nil
	case OpTodoRetry:
		return `UPDATE deliveries SET attempts = attempts + 1, error_kind = ?, last_error = ?, claimed_by = NULL, lease_until = ?`,
			[]any{u.ErrorKind, u.Error, at}
	case OpTodoDrop:
		return `UPDATE deliveries SET todo = '', error_kind = ?, last_error = ?, claimed_by = NULL, lease_until = NULL`,
			[]any{u.ErrorKind, u.Error}
	case OpReplySent:
		return `UPDATE delivery_replies SET state = 'sent', message_id = ?, sent_at = ?, attempts = attempts + 1, error_kind = '',
			claimed_by = NULL, lease_until = NULL`, []any{u.MessageID, at}
	case OpReplyRetry:
		return `UPDATE delivery_replies SET state = 'pending', not_before = ?, attempts = attempts + 1, error_kind = ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL`, []any{at, u.ErrorKind, u.Error}
	case OpReplyDead:
		return `UPDATE delivery_replies SET state = 'dead', attempts = attempts + 1, error_kind = ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL`, []any{u.ErrorKind, u.Error}
	case OpReplyStale:
		return `UPDATE delivery_replies SET state = 'stale', error_kind = 'stale', claimed_by = NULL, lease_until = NULL`, nil
	case OpReplyRelease:
		return `UPDATE delivery_replies SET state = 'pending', claimed_by = NULL, lease_until = NULL`, nil
	case OpReplyCancel:
		return `UPDATE delivery_replies SET state = 'cancelled', error_kind = ?, last_error = ?, claimed_by = NULL, lease_until = NULL`,
			[]any{u.ErrorKind, u.Error}
	}
	panic(fmt.Sprintf("store: unknown outbox op %d", u.Op))
}

// guard keeps an update to rows the holder still has: an editor's cancel
// or a takeover wins over a late answer. A sent message is recorded
// whatever happened meanwhile, because it was sent.
func guard(op OutboxOp) string {
	switch op {
	case OpSent, OpReplySent:
		return ""
	case OpEdited, OpDeleted, OpTodoRetry, OpTodoDrop:
		return " AND claimed_by = ? AND todo = ?"
	default:
		return " AND state = 'claimed' AND claimed_by = ?"
	}
}

func guardArgs(u OutboxUpdate, holder string) []any {
	switch u.Op {
	case OpSent, OpReplySent:
		return nil
	case OpEdited, OpDeleted, OpTodoRetry, OpTodoDrop:
		return []any{holder, u.Todo}
	}
	return []any{holder}
}

// LimiterScopes returns the rate limiter's state still in force at now.
func (db *DB) LimiterScopes(ctx context.Context, now time.Time) ([]Scope, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT chat_id, next_at, paused_until FROM delivery_scopes
		WHERE next_at > ? OR paused_until > ?`, now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("limiter scopes: %w", err)
	}
	defer rows.Close()
	var out []Scope
	for rows.Next() {
		var s Scope
		var next, paused int64
		if err := rows.Scan(&s.ChatID, &next, &paused); err != nil {
			return nil, fmt.Errorf("limiter scopes: %w", err)
		}
		s.NextAt, s.PausedUntil = fromMilli(next), fromMilli(paused)
		out = append(out, s)
	}
	return out, rows.Err()
}

// CancelChatDeliveries cancels every open row and pending reply of a chat
// (Telegram said it is gone) and returns how many rows it cancelled.
func (db *DB) CancelChatDeliveries(ctx context.Context, chatID int64, kind, reason string) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = db.settle(ctx, tx, `UPDATE deliveries SET state = 'cancelled', error_kind = ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL WHERE chat_id = ? AND state IN ('pending', 'held', 'claimed')`,
			kind, reason, chatID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE delivery_replies SET state = 'cancelled', error_kind = ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL WHERE chat_id = ? AND state IN ('pending', 'claimed')`, kind, reason, chatID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cancel deliveries of chat %d: %w", chatID, err)
	}
	return n, nil
}

// MoveChatDeliveries moves a chat's open rows to its new id, released so
// that they are claimed again under it. A row whose article the new id has
// already is cancelled instead. It returns how many rows moved.
func (db *DB) MoveChatDeliveries(ctx context.Context, from, to int64) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE deliveries SET chat_id = ?, kind = 'supergroup', state = 'pending',
			claimed_by = NULL, lease_until = NULL
			WHERE chat_id = ? AND state IN ('pending', 'held', 'claimed')
			AND article_id NOT IN (SELECT article_id FROM deliveries WHERE chat_id = ?)`, to, from, to)
		if err != nil {
			return err
		}
		if n, err = r.RowsAffected(); err != nil {
			return err
		}
		if _, err := db.settle(ctx, tx, `UPDATE deliveries SET state = 'cancelled', error_kind = 'migrated',
			last_error = 'the new chat has it already', claimed_by = NULL, lease_until = NULL
			WHERE chat_id = ? AND state IN ('pending', 'held', 'claimed')`, from); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE delivery_replies SET chat_id = ?, state = 'pending', claimed_by = NULL, lease_until = NULL
			WHERE chat_id = ? AND state IN ('pending', 'claimed')`, to, from)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("move deliveries of chat %d to %d: %w", from, to, err)
	}
	return int(n), nil
}

// CancelArticleDeliveries cancels what remains of an article's fan-out and
// returns how many rows it cancelled, counting the chats of its lists not
// yet expanded, which it deletes. Rows a dispatcher holds keep their
// claim, so that a send already on its way is still recorded.
func (db *DB) CancelArticleDeliveries(ctx context.Context, articleID int64, by string) (int, error) {
	var cancelled int
	err := db.inTx(ctx, func(tx *sql.Tx) (err error) {
		cancelled, err = db.cancelArticle(ctx, tx, articleID, "cancelled", "cancelled by "+by)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cancel article %d: %w", articleID, err)
	}
	return cancelled, nil
}

// cancelArticle cancels an article's rows not yet sent, as kind with note,
// deletes its lists not yet expanded, and returns how many rows and listed
// chats that was.
func (db *DB) cancelArticle(ctx context.Context, tx *sql.Tx, articleID int64, kind, note string) (int, error) {
	n, err := db.settle(ctx, tx, `UPDATE deliveries SET state = 'cancelled', error_kind = ?, last_error = ?
		WHERE article_id = ? AND state IN ('pending', 'held', 'claimed')`, kind, note, articleID)
	if err != nil {
		return 0, err
	}
	listed, err := dropFanOutLists(ctx, tx, articleID)
	return n + listed, err
}

// Retraction counts what retracting an article did.
type Retraction struct {
	Cancelled int // rows not yet sent, now never sent
	Deleting  int // messages queued for deletion
	TooOld    int // messages sent before the deletion window: they stay
}

// RetractArticle marks an article retracted at now (it leaves every list,
// the ranking, the digest and its archive), cancels what remains of its
// fan-out and queues the deletion of the messages sent after
// deletableSince (Telegram allows deleting for 48 hours). A row in flight
// is marked so that its message is deleted once its send is recorded.
func (db *DB) RetractArticle(ctx context.Context, articleID int64, by string, now, deletableSince time.Time) (Retraction, error) {
	var res Retraction
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res = Retraction{}
		if _, err := tx.ExecContext(ctx, `UPDATE articles SET retracted_at = ? WHERE id = ? AND retracted_at IS NULL`,
			now.UnixMilli(), articleID); err != nil {
			return err
		}
		var err error
		if res.Cancelled, err = db.cancelArticle(ctx, tx, articleID, "retracted", "retracted by "+by); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE deliveries SET todo = 'delete', claimed_by = NULL, lease_until = NULL, attempts = 0
			WHERE article_id = ? AND state = 'sent' AND message_id IS NOT NULL AND sent_at >= ?`, articleID, deletableSince.UnixMilli())
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		res.Deleting = int(n)
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE article_id = ? AND state = 'sent' AND sent_at < ?`,
			articleID, deletableSince.UnixMilli()).Scan(&res.TooOld)
	})
	if err != nil {
		return Retraction{}, fmt.Errorf("retract article %d: %w", articleID, err)
	}
	return res, nil
}

// MarkCorrections queues an edit of every single-article message, sent
// since sentSince into a chat of one of kinds, whose article was revised
// since revisedSince after the message went out; it returns how many. A
// chat that stopped (/stop deleted it) or blocked the bot is left alone:
// its old messages are no longer nashra's to touch.
func (db *DB) MarkCorrections(ctx context.Context, revisedSince, sentSince time.Time, kinds []nashra.ChatKind) (int, error) {
	if len(kinds) == 0 {
		return 0, nil
	}
	// Found on the readers' pool, so that the writer is held only when there
	// is something to mark.
	ids, err := int64s(ctx, db.read, `SELECT id FROM articles WHERE state = 'handed' AND revised_at >= ?`, revisedSince.UnixMilli())
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	kindArgs := make([]any, len(kinds))
	for i, k := range kinds {
		kindArgs[i] = k
	}
	var n int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, id := range ids {
			r, err := tx.ExecContext(ctx, `UPDATE deliveries SET todo = 'edit', attempts = 0
				WHERE article_id = ? AND state = 'sent' AND todo = '' AND bundled = 0 AND message_id IS NOT NULL AND sent_at >= ?
				AND sent_revision < (SELECT a.revision FROM articles a WHERE a.id = ?)
				AND (kind = 'channel' OR chat_id IN (SELECT c.id FROM chats c WHERE c.active = 1))
				AND kind IN (`+placeholders(len(kinds))+`)`, append([]any{id, sentSince.UnixMilli(), id}, kindArgs...)...)
			if err != nil {
				return err
			}
			m, _ := r.RowsAffected()
			n += m
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mark corrections: %w", err)
	}
	return int(n), nil
}

// CompactOutbox deletes up to limit final rows of articles first seen
// before before, finished replies created before it and limiter scopes no
// longer in force; it returns how many outbox rows it deleted. Callers keep
// before older than the retraction and correction windows.
func (db *DB) CompactOutbox(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
			WHERE article_id IN (SELECT id FROM articles WHERE first_seen_at < ?)
			AND state IN ('sent', 'cancelled', 'stale', 'dead', 'retracted') AND todo = '' LIMIT ?)`, before.UnixMilli(), limit)
		if err != nil {
			return err
		}
		if n, err = r.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM delivery_replies WHERE created_at < ?
			AND state NOT IN ('pending', 'claimed')`, before.UnixMilli()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM delivery_scopes WHERE next_at < ? AND paused_until < ?`,
			before.UnixMilli(), before.UnixMilli())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("compact outbox: %w", err)
	}
	return int(n), nil
}

// OutboxCounts are the outbox figures for /stats and /metrics.
type OutboxCounts struct {
	// Due counts pending and claimed rows by lane.
	Due  map[nashra.Lane]int
	Held int
	// Work counts sent messages waiting for an edit or a delete.
	Work        int
	Stale, Dead int
	// Replies and Broadcasts count pending rows of the replies table.
	Replies, Broadcasts int
	// SentSince counts rows sent since the time asked for.
	SentSince int
	// OldestDue is when the oldest row at the head of a lane was created,
	// zero when none is due.
	OldestDue time.Time
}

// CountOutbox returns the outbox figures, with the rows sent since since;
// it reads indexes of open, failed and recent rows, never the whole table.
func (db *DB) CountOutbox(ctx context.Context, since time.Time) (OutboxCounts, error) {
	c := OutboxCounts{Due: map[nashra.Lane]int{}}
	rows, err := db.read.QueryContext(ctx, `SELECT lane, COUNT(*) FROM deliveries WHERE state = 'pending' GROUP BY lane
		UNION ALL SELECT lane, COUNT(*) FROM deliveries WHERE `+settled+`state = 'claimed' GROUP BY lane`)
	if err != nil {
		return c, fmt.Errorf("count outbox: %w", err)
	}
	for rows.Next() {
		var l nashra.Lane
		var n int
		if err := rows.Scan(&l, &n); err != nil {
			rows.Close()
			return c, fmt.Errorf("count outbox: %w", err)
		}
		c.Due[l] += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count outbox: %w", err)
	}
	err = db.read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM deliveries WHERE `+settled+`state = 'held'),
		(SELECT COUNT(*) FROM deliveries WHERE todo <> ''),
		(SELECT COUNT(*) FROM deliveries WHERE `+settled+`state = 'stale'),
		(SELECT COUNT(*) FROM deliveries WHERE `+settled+`state = 'dead'),
		(SELECT COUNT(*) FROM delivery_replies WHERE state = 'pending' AND lane = 0),
		(SELECT COUNT(*) FROM delivery_replies WHERE state = 'pending' AND lane > 0),
		(SELECT COUNT(*) FROM deliveries WHERE sent_at >= ?)`, since.UnixMilli()).
		Scan(&c.Held, &c.Work, &c.Stale, &c.Dead, &c.Replies, &c.Broadcasts, &c.SentSince)
	if err != nil {
		return c, fmt.Errorf("count outbox: %w", err)
	}
	// The head of each lane, found in claim order: the minimum over all
	// pending rows would read every one of them.
	for lane := nashra.LaneBreaking; lane <= nashra.LanePrivate; lane++ {
		var created int64
		err := db.read.QueryRowContext(ctx, `SELECT created_at FROM deliveries WHERE state = 'pending' AND lane = ?
			ORDER BY article_id, id LIMIT 1`, lane).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("count outbox: %w", err)
		}
		if t := time.UnixMilli(created).UTC(); c.OldestDue.IsZero() || t.Before(c.OldestDue) {
			c.OldestDue = t
		}
	}
	return c, nil
}

// DeadDeliveries returns the limit dead rows last tried, for admins. They
// are read in the order of deliveries_state (state, not_before), from its
// end: walking the table backwards by id for a few dead rows reads all the
// others, and sorting every dead row costs as much at a million rows.
func (db *DB) DeadDeliveries(ctx context.Context, limit int) ([]nashra.Delivery, error) {
	out, err := queryDeliveries(ctx, db.read, `SELECT `+deliveryColumns+deliveryFrom+`WHERE d.state <> 'pending' AND d.state = 'dead'
		ORDER BY d.not_before DESC, d.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("dead deliveries: %w", err)
	}
	return out, nil
}

// ArticleDeliveries returns an article's outbox rows, for tests and tools.
func (db *DB) ArticleDeliveries(ctx context.Context, articleID int64) ([]nashra.Delivery, error) {
	out, err := queryDeliveries(ctx, db.read, `SELECT `+deliveryColumns+deliveryFrom+`WHERE d.article_id = ? ORDER BY d.id`, articleID)
	if err != nil {
		return nil, fmt.Errorf("deliveries of article %d: %w", articleID, err)
	}
	return out, nil
}

// none reports whether query, run on the readers' pool, finds no row.
func (db *DB) none(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := db.read.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	return false, err
}

func int64s(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func anys(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// unixMilli is t in Unix milliseconds, 0 for the zero time, for columns
// that are NOT NULL DEFAULT 0.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMilli(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
