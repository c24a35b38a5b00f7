package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL error codes the store acts on.
const (
	pgUndefinedTable        = "42P01"
	pgUniqueViolation       = "23505"
	pgSerializationFailure  = "40001"
	pgDeadlockDetected      = "40P01"
	postgresMaxOpenConns    = 10
	postgresConnMaxIdleTime = 5 * time.Minute
)

// openPostgres opens one pool for reads and writes: PostgreSQL takes
// concurrent writers, and several instances write to it anyway.
func openPostgres(ctx context.Context, rawURL string) (*DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		// pgx's message shows the URL with its password masked.
		return nil, fmt.Errorf("open store: %w", err)
	}
	pool := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	pool.SetMaxOpenConns(postgresMaxOpenConns)
	// database/sql keeps 2 idle connections by default: the poll workers
	// and the dispatcher would open a PostgreSQL backend (a process) for
	// nearly every query they run at once, and close it after.
	pool.SetMaxIdleConns(postgresMaxOpenConns)
	pool.SetConnMaxIdleTime(postgresConnMaxIdleTime)
	db := &DB{write: pool, read: pool, dialect: postgresDialect}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// pgConnector hands out pgx's connections wrapped in pgConn.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn)}, nil
}

// pgConn is where the store's SQL becomes PostgreSQL's, the one place for
// it: ? placeholders are numbered $1, $2, …, and Go bools are passed as 0
// and 1, as the SQLite driver passes them, since boolean columns are
// integers in both schemas. Everything else is pgx's own connection.
type pgConn struct{ *stdlib.Conn }

var (
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
)

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
		return nil
	}
	return c.Conn.CheckNamedValue(nv)
}

// rebind numbers the ? placeholders of query as $1, $2, …, leaving string
// literals, quoted names and comments alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		switch c := query[i]; c {
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		case '\'', '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case '-':
			if !strings.HasPrefix(query[i:], "--") {
				b.WriteByte(c)
				continue
			}
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end])
			i += end - 1 // the newline is written next
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// lockMigrations takes the advisory lock that makes instances migrate one
// at a time, per schema, and returns its release. The lock belongs to
// conn's session: it must be released before conn goes back to the pool.
func lockMigrations(ctx context.Context, conn *sql.Conn) (unlock func() error, err error) {
	const key = `hashtext('nashra migrate ' || current_schema())`
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		return nil, fmt.Errorf("migrate: take the migration lock: %w", err)
	}
	return func() error {
		// Released even when ctx has ended.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			return fmt.Errorf("migrate: release the migration lock: %w", err)
		}
		return nil
	}, nil
}

// bigWrite is the number of rows written at once from which PostgreSQL's
// statistics of a table are refreshed at once.
const bigWrite = 10_000

// analyzeAfter refreshes PostgreSQL's statistics of table after n rows were
// written to it in one go. Until autovacuum comes round, the planner would
// take a 100,000-row fan-out for a few rows, and every claim of the push
// would sort all of them (100 times slower, measured). SQLite needs none:
// its plans do not depend on statistics it has not gathered.
func (db *DB) analyzeAfter(ctx context.Context, table string, n int) {
	if db.dialect != postgresDialect || n < bigWrite {
		return
	}
	// A hint only: when it fails, autovacuum does it later.
	_, _ = db.write.ExecContext(ctx, `ANALYZE `+table)
}

// pgCode returns the SQLSTATE of a PostgreSQL error, "" for other errors.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// uniqueViolation reports whether err says a row met another on a unique
// key. SQLite's single writer never lets a transaction see that happen
// between its own statements.
func (db *DB) uniqueViolation(err error) bool {
	return db.dialect == postgresDialect && pgCode(err) == pgUniqueViolation
}

// pgRetryable reports whether a transaction failed only because another
// one won: run again, it will do.
func pgRetryable(err error) bool {
	c := pgCode(err)
	return c == pgSerializationFailure || c == pgDeadlockDetected
}
