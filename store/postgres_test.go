package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?' || "q?" FROM t WHERE x = ?`, `SELECT '?' || "q?" FROM t WHERE x = $1`},
		{"-- why?\nSELECT ? -- and ?\n, ?", "-- why?\nSELECT $1 -- and ?\n, $2"},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT 2 - ?`, `SELECT 2 - $1`},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// However many instances race for a lease at the same moment, one gets it.
func TestLeaseHasOneHolder(t *testing.T) { contract(t, testLeaseHasOneHolder) }

func testLeaseHasOneHolder(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	for round := range 5 {
		at := now.Add(time.Duration(round) * time.Minute) // every lease of the last round has ended
		var mu sync.Mutex
		holders := map[string]bool{}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				me := fmt.Sprint("instance-", i)
				d, _, err := db.AcquireLease(ctx, "leader", me, at, at.Add(30*time.Second))
				if err != nil {
					t.Error(err)
					return
				}
				if d.Holder == me {
					mu.Lock()
					holders[me] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(holders) != 1 {
			t.Fatalf("round %d: %d holders: %v", round, len(holders), holders)
		}
		d, _ := db.Lease(ctx, "leader")
		if !holders[d.Holder] {
			t.Fatalf("round %d: stored holder %q is not the one who won", round, d.Holder)
		}
	}
}

// Instances starting together migrate one after the other; none fails.
func TestConcurrentMigrations(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := b.url(t)
			var wg sync.WaitGroup
			applied := make([]int, 4)
			for i := range applied {
				wg.Go(func() {
					db, err := Open(context.Background(), url)
					if err != nil {
						t.Error(err)
						return
					}
					defer db.Close()
					if applied[i], err = db.Migrate(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			total := 0
			for _, n := range applied {
				total += n
			}
			db := migrated(t, url)
			files, _ := db.migrationFiles()
			if total != len(files) {
				t.Errorf("%v migrations applied in all, want %d", applied, len(files))
			}
		})
	}
}

func TestBackupOnPostgresSaysPgDump(t *testing.T) {
	db := migrated(t, backends[1].url(t))
	if err := db.Backup(context.Background(), t.TempDir()+"/x.db"); !errors.Is(err, ErrBackupPostgres) {
		t.Errorf("backup on PostgreSQL: %v", err)
	}
}

// A webhook update that reaches two instances at once (Telegram retried
// it) is handled by one.
func TestUpdateClaimedOnceAcrossInstances(t *testing.T) {
	contract(t, testUpdateClaimedOnceAcrossInstances)
}

func testUpdateClaimedOnceAcrossInstances(t *testing.T, db *DB) {
	ctx := context.Background()
	var mu sync.Mutex
	won := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := db.ClaimUpdate(ctx, 777, time.Now())
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("update 777 claimed %d times", won)
	}
}
