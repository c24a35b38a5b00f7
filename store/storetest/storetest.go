// Package storetest gives tests a PostgreSQL store of their own: a fresh
// schema on the test server, dropped when the test ends, so that test runs
// and packages tested in parallel never meet.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvURL names the variable that points the tests at another PostgreSQL
// server than the local one.
const EnvURL = "NASHRA_TEST_POSTGRES"

// candidates are tried in turn when EnvURL is empty: the machines run
// PostgreSQL on loopback with trust authentication, its superuser named
// postgres or root.
var candidates = []string{
	"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
	"postgres://root@127.0.0.1:5432/test?sslmode=disable",
}

var server struct {
	once sync.Once
	url  string
	err  error
}

// PostgresURL returns the URL of a new, empty schema on the test server,
// set as the connection's search_path; the schema is dropped at the end of
// t. When no server answers, t is skipped with the reason — or fails when
// the variable CI is set, so that CI never passes without PostgreSQL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base, err := reachable()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required when CI is set: %v", err)
		}
		t.Skipf("PostgreSQL not reachable, PostgreSQL half skipped (set %s to a server's URL): %v", EnvURL, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if err := exec(base, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(base, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// reachable returns the first server URL that answers, found once per
// test binary.
func reachable() (string, error) {
	server.once.Do(func() {
		urls := candidates
		if u := os.Getenv(EnvURL); u != "" {
			urls = []string{u}
		}
		var errs []error
		for _, u := range urls {
			if err := exec(u, `SELECT 1`); err != nil {
				errs = append(errs, err)
				continue
			}
			server.url = u
			return
		}
		server.err = errors.Join(errs...)
	})
	return server.url, server.err
}

func exec(rawURL, query string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, query)
	return err
}
