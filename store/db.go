// Package store persists nashra's domain types (package nashra) in a SQL
// database: SQLite in a file by default, one writer and many readers;
// PostgreSQL when several instances share one store. Both run the same SQL, written with ? placeholders and
// 0/1 integers for booleans; the few differences between them live in
// postgres.go and transfer.go. Each entity has its own file of SQL; the
// packages that use the store declare the few methods they need.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned when the row asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrRetracted is returned for an article an editor retracted, where its
// link or text was asked for to be shown.
var ErrRetracted = errors.New("retracted")

//go:embed migrations
var migrations embed.FS

// dialect names the database behind a DB, and the folder of its migrations.
type dialect string

const (
	sqliteDialect   dialect = "sqlite"
	postgresDialect dialect = "postgres"
)

// DB is the store. On SQLite, writes go through a pool of one connection so
// that concurrent writers queue in Go instead of meeting "database is
// locked", and reads use their own pool and never wait for a writer (WAL).
// On PostgreSQL both are the same pool.
type DB struct {
	write   *sql.DB
	read    *sql.DB
	dialect dialect
	path    string // the SQLite file
}

// Open opens the database named by rawURL — "sqlite:PATH", creating the
// file and its folder when needed, or "postgres://…" (also
// "postgresql://…") — and checks that it answers. It does not migrate:
// call Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	if strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://") {
		return openPostgres(ctx, rawURL)
	}
	path, ok := strings.CutPrefix(rawURL, "sqlite:")
	if !ok {
		return nil, fmt.Errorf("open store: unsupported database URL %q (want sqlite:PATH or postgres://…)", redact(rawURL))
	}
	path = strings.TrimPrefix(path, "//")
	if path == "" {
		return nil, errors.New("open store: empty sqlite path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	write, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	read.SetMaxOpenConns(max(4, runtime.NumCPU()*2))
	db := &DB{write: write, read: read, dialect: sqliteDialect, path: path}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sqliteDSN sets the pragmas on every connection the pool opens, not once on
// whichever connection happens to run a PRAGMA statement.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN, so a transaction never fails half-way
		// when it upgrades from reading to writing.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// redact hides the password of a database URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// Close closes the pools.
func (db *DB) Close() error {
	if db.read == db.write {
		return db.write.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction, and returns how many it applied. On PostgreSQL it holds an
// advisory lock meanwhile, so that instances starting together migrate one
// after the other; migrations only add (see migrations/README.md), so the
// instances still running the previous release keep working.
func (db *DB) Migrate(ctx context.Context) (_ int, err error) {
	// One connection throughout: PostgreSQL's advisory lock belongs to it.
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if db.dialect == postgresDialect {
		unlock, err := lockMigrations(ctx, conn)
		if err != nil {
			return 0, err
		}
		defer func() { err = errors.Join(err, unlock()) }()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	files, err := db.migrationFiles()
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range files {
		ok, err := db.apply(ctx, conn, m)
		if err != nil {
			return applied, err
		}
		if ok {
			applied++
		}
	}
	return applied, nil
}

type migration struct {
	version int
	name    string
}

func (db *DB) migrationFiles() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations/"+string(db.dialect))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migrate: bad migration file name %q", e.Name())
		}
		ms = append(ms, migration{version: v, name: e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

func (db *DB) apply(ctx context.Context, conn *sql.Conn, m migration) (bool, error) {
	body, err := migrations.ReadFile("migrations/" + string(db.dialect) + "/" + m.name)
	if err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixMilli()); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	return true, nil
}

// Pending reports how many embedded migrations the database lacks; /readyz
// is not ready until it is zero.
func (db *DB) Pending(ctx context.Context) (int, error) {
	files, err := db.migrationFiles()
	if err != nil {
		return 0, err
	}
	var applied int
	err = db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied)
	if err != nil {
		if db.missingTable(err) {
			return len(files), nil
		}
		return 0, fmt.Errorf("count migrations: %w", err)
	}
	return max(0, len(files)-applied), nil
}

// missingTable reports whether err says a table does not exist.
func (db *DB) missingTable(err error) bool {
	if db.dialect == postgresDialect {
		return pgCode(err) == pgUndefinedTable
	}
	return strings.Contains(err.Error(), "no such table")
}

// ErrBackupPostgres is Backup's answer on PostgreSQL, whose own tools do
// it better.
var ErrBackupPostgres = errors.New(`backup: the store is PostgreSQL: use pg_dump, e.g. pg_dump -Fc "$NASHRA_DATABASE_URL" > nashra.dump`)

// Backup writes a consistent copy of the live SQLite database to path with
// VACUUM INTO; copying the file of a WAL database could miss committed
// pages. On PostgreSQL it returns ErrBackupPostgres.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.dialect == postgresDialect {
		return ErrBackupPostgres
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s already exists", path)
	}
	// Its own connection: the readers are query_only, which VACUUM INTO
	// refuses, and the writer must stay free for the running service.
	conn, err := sql.Open("sqlite", sqliteDSN(db.path, false))
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

// inTx runs fn in a write transaction, committing when it returns nil. On
// PostgreSQL, where writers from several instances meet, a transaction
// that lost a deadlock or a serialization conflict is run again: fn must
// start from scratch each time it is called.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.tryTx(ctx, fn)
		if err == nil || attempt == 3 || db.dialect != postgresDialect || !pgRetryable(err) {
			return err
		}
	}
}

func (db *DB) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
