// Package sqlitetest gives a test a migrated SQLite store of its own, with
// the sections it needs, closed when the test ends. (Package storetest,
// which the store's own tests import, cannot import the store.)
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

// Open returns a store in a temporary folder, migrated, holding sections.
func Open(t testing.TB, sections ...nashra.Section) *store.DB {
	t.Helper()
	return OpenAt(t, filepath.Join(t.TempDir(), "nashra.db"), sections...)
}

// OpenAt opens, or creates, the store at path, migrated and holding
// sections: a test that restarts a process opens the same path again.
func OpenAt(t testing.TB, path string, sections ...nashra.Section) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sections) > 0 {
		if _, err := db.SyncSections(ctx, sections); err != nil {
			t.Fatal(err)
		}
	}
	return db
}
