// Package store keeps nashra's state in a SQL database: SQLite in a file by
// default, one writer and many readers. Each entity has its own file of SQL;
// the packages that use the store declare the few methods they need.
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

//go:embed migrations
var migrations embed.FS

// DB is the store. Writes go through a pool of one connection so that
// concurrent writers queue in Go instead of meeting "database is locked";
// reads use their own pool and never wait for a writer (WAL).
type DB struct {
	write *sql.DB
	read  *sql.DB
	path  string
}

// Open opens the database named by url ("sqlite:PATH"), creating the file and
// its folder when needed. It does not migrate: call Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	path, ok := strings.CutPrefix(rawURL, "sqlite:")
	if !ok {
		return nil, fmt.Errorf("open store: unsupported database URL %q (want sqlite:PATH)", redact(rawURL))
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
	db := &DB{write: write, read: read, path: path}
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

// Close closes both pools.
func (db *DB) Close() error {
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
// transaction, and returns how many it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	files, err := migrationFiles()
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range files {
		ok, err := db.apply(ctx, m)
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

func migrationFiles() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations/sqlite")
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

func (db *DB) apply(ctx context.Context, m migration) (bool, error) {
	body, err := migrations.ReadFile("migrations/sqlite/" + m.name)
	if err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
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
	files, err := migrationFiles()
	if err != nil {
		return 0, err
	}
	var applied int
	err = db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return len(files), nil
		}
		return 0, fmt.Errorf("count migrations: %w", err)
	}
	return max(0, len(files)-applied), nil
}

// Backup writes a consistent copy of the live database to path with VACUUM
// INTO; copying the file of a WAL database could miss committed pages.
func (db *DB) Backup(ctx context.Context, path string) error {
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

// inTx runs fn in a write transaction, committing when it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
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
