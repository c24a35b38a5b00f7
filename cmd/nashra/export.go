package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/almaalouma/nashra/store"
)

// cmdExport writes the whole store to a file that `nashra import` reads
// into another database: moving from SQLite to PostgreSQL, or back.
func cmdExport(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "export")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	cfg, _, err := loadConfig(env)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("export: %s already exists", path)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	// Written aside and renamed, so that FILE is never a partial export.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nashra-export-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	c, err := db.Export(ctx, tmp)
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	printCounts(env.stdout, c)
	fmt.Fprintf(env.stdout, "%d rows of %d tables exported to %s\n", c.Rows, c.Tables, path)
	return nil
}

// cmdImport reads an export into the configured database, which must be
// new: migrated here, and empty.
func cmdImport(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "import")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	cfg, log, err := loadConfig(env)
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if n, err := db.Migrate(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Info("migrations applied", "count", n)
	}
	c, err := db.Import(ctx, f)
	if err != nil {
		return err
	}
	printCounts(env.stdout, c)
	fmt.Fprintf(env.stdout, "%d rows of %d tables imported from %s\n", c.Rows, c.Tables, fs.Arg(0))
	return nil
}

// printCounts lists the rows of each table, so that an export and its
// import can be compared at a glance.
func printCounts(w io.Writer, c store.TransferCounts) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, name := range slices.Sorted(maps.Keys(c.ByTable)) {
		fmt.Fprintf(tw, "%s\t%d\n", name, c.ByTable[name])
	}
	tw.Flush()
}
