package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// The export format: JSON lines. A header object, then for each table an
// object naming it and its columns followed by one JSON array per row, then
// the id counters and an end marker that proves the file complete:
//
//	{"format":"nashra-export","version":1,"dialect":"sqlite","schema":5,"exported_at":"…"}
//	{"table":"meta","columns":["key","value"]}
//	["secret","…"]
//	{"sequences":{"email_subscribers":42}}
//	{"end":true,"tables":22,"rows":1234}
//
// Tables come from the database's catalog, parents before the tables whose
// foreign keys point at them, so that nothing needs to be listed by hand
// when a migration adds a table. Values are JSON numbers, strings and
// nulls: both schemas hold only integers and text.
const (
	exportFormat  = "nashra-export"
	exportVersion = 1
)

type exportHeader struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Dialect    string    `json:"dialect"`
	Schema     int       `json:"schema"`
	ExportedAt time.Time `json:"exported_at"`
}

type exportTable struct {
	Table   string   `json:"table"`
	Columns []string `json:"columns"`
}

type exportSequences struct {
	Sequences map[string]int64 `json:"sequences"`
}

type exportEnd struct {
	End    bool  `json:"end"`
	Tables int   `json:"tables"`
	Rows   int64 `json:"rows"`
}

// TransferCounts says how much an export or an import moved.
type TransferCounts struct {
	Tables int
	Rows   int64
	// ByTable counts the rows of each table.
	ByTable map[string]int64
}

// table is one table of the schema as the catalog describes it.
type table struct {
	name    string
	columns []string
	parents []string // tables its foreign keys point at
	// identity is the column the database numbers itself ("id"), empty
	// when the table has none.
	identity string
	// counter is true when the database keeps the highest id it gave
	// apart from the rows (a PostgreSQL identity, SQLite's AUTOINCREMENT),
	// so that a deleted row's id is never given again.
	counter bool
}

// Export writes every row of every table but schema_migrations to w, from
// one consistent snapshot, with the counters that number new rows, so that
// Import can rebuild the store elsewhere with the same ids: every link
// already sent names an id.
func (db *DB) Export(ctx context.Context, w io.Writer) (TransferCounts, error) {
	c := TransferCounts{ByTable: map[string]int64{}}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	defer tx.Rollback()
	tables, err := db.tables(ctx, tx)
	if err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return c, fmt.Errorf("export: schema version: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(exportHeader{exportFormat, exportVersion, string(db.dialect), version, time.Now().UTC()}); err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	for _, t := range tables {
		n, err := exportTableRows(ctx, tx, enc, t)
		if err != nil {
			return c, fmt.Errorf("export %s: %w", t.name, err)
		}
		c.Tables++
		c.Rows += n
		c.ByTable[t.name] = n
	}
	seqs, err := db.sequences(ctx, tx, tables)
	if err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	if err := enc.Encode(exportSequences{seqs}); err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	if err := enc.Encode(exportEnd{true, c.Tables, c.Rows}); err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	return c, nil
}

func exportTableRows(ctx context.Context, tx *sql.Tx, enc *json.Encoder, t table) (int64, error) {
	if err := enc.Encode(exportTable{t.name, t.columns}); err != nil {
		return 0, err
	}
	// A stable order, so that two exports of one store are the same file.
	order := t.identity
	if order == "" {
		order = quoteNames(t.columns)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+quoteNames(t.columns)+` FROM `+quoteName(t.name)+` ORDER BY `+order)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]any, len(t.columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b) // text, not base64
			}
		}
		if err := enc.Encode(vals); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// ErrNotEmpty is returned by Import when the store already holds rows.
var ErrNotEmpty = errors.New("the store is not empty")

// Import reads what Export wrote, from either database, into this store,
// which must be migrated and empty, in one transaction: ids are kept, and
// the counters that number new rows are moved past every id the source
// ever gave, so that no link already sent can come to name another row.
func (db *DB) Import(ctx context.Context, r io.Reader) (TransferCounts, error) {
	c := TransferCounts{ByTable: map[string]int64{}}
	tables, err := db.tables(ctx, db.read)
	if err != nil {
		return c, fmt.Errorf("import: %w", err)
	}
	byName := map[string]table{}
	for _, t := range tables {
		var one int
		err := db.read.QueryRowContext(ctx, `SELECT 1 FROM `+quoteName(t.name)+` LIMIT 1`).Scan(&one)
		if err == nil {
			return c, fmt.Errorf("import: %w: table %s has rows (import into a new database, before nashra first runs on it)", ErrNotEmpty, t.name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return c, fmt.Errorf("import: %w", err)
		}
		byName[t.name] = t
	}
	// Not inTx: the input cannot be read twice, and nobody else writes to
	// an empty store.
	err = db.tryTx(ctx, func(tx *sql.Tx) error {
		in := &importer{tx: tx, dec: json.NewDecoder(bufio.NewReaderSize(r, 1<<16)), counts: &c}
		in.dec.UseNumber()
		restore, err := db.suspendTriggers(ctx, tx)
		if err != nil {
			return err
		}
		if err := in.run(ctx, db, byName); err != nil {
			return err
		}
		return restore()
	})
	if err != nil {
		return TransferCounts{}, fmt.Errorf("import: %w", err)
	}
	return c, nil
}

// suspendTriggers turns the schema's triggers off within tx and returns
// what turns them on again. They keep counters (the dashboard's daily
// figures) of rows as they are written; an import copies both the rows and
// the counters as they were, and counting the rows again would double them.
func (db *DB) suspendTriggers(ctx context.Context, tx *sql.Tx) (restore func() error, err error) {
	if db.dialect == postgresDialect {
		tables, err := texts(ctx, tx, `SELECT DISTINCT event_object_table FROM information_schema.triggers
			WHERE trigger_schema = current_schema() ORDER BY 1`)
		if err != nil {
			return nil, fmt.Errorf("read the triggers: %w", err)
		}
		alter := func(what string) error {
			for _, t := range tables {
				if _, err := tx.ExecContext(ctx, `ALTER TABLE `+quoteName(t)+` `+what+` TRIGGER USER`); err != nil {
					return fmt.Errorf("%s triggers of %s: %w", strings.ToLower(what), t, err)
				}
			}
			return nil
		}
		return func() error { return alter("ENABLE") }, alter("DISABLE")
	}
	// SQLite cannot turn a trigger off: it is dropped and made again, in
	// the same transaction.
	names, err := texts(ctx, tx, `SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read the triggers: %w", err)
	}
	defs := make([]string, len(names))
	for i, n := range names {
		if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?`, n).Scan(&defs[i]); err != nil {
			return nil, fmt.Errorf("read trigger %s: %w", n, err)
		}
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER `+quoteName(n)); err != nil {
			return nil, fmt.Errorf("drop trigger %s: %w", n, err)
		}
	}
	return func() error {
		for i, def := range defs {
			if _, err := tx.ExecContext(ctx, def); err != nil {
				return fmt.Errorf("restore trigger %s: %w", names[i], err)
			}
		}
		return nil
	}, nil
}

// importer reads an export line by line and inserts its rows in batches.
type importer struct {
	tx     *sql.Tx
	dec    *json.Decoder
	counts *TransferCounts

	table   string
	columns []string
	batch   []any
}

func (in *importer) run(ctx context.Context, db *DB, tables map[string]table) error {
	var h exportHeader
	if err := in.dec.Decode(&h); err != nil || h.Format != exportFormat {
		return fmt.Errorf("not a nashra export (%v)", err)
	}
	if h.Version != exportVersion {
		return fmt.Errorf("export format version %d, this nashra reads %d", h.Version, exportVersion)
	}
	for {
		var line json.RawMessage
		if err := in.dec.Decode(&line); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("the export ends before its end marker: it is incomplete")
			}
			return err
		}
		if len(line) > 0 && line[0] == '[' {
			if err := in.row(ctx, line); err != nil {
				return err
			}
			continue
		}
		if err := in.flush(ctx); err != nil {
			return err
		}
		var m struct {
			exportTable
			exportSequences
			exportEnd
		}
		if err := json.Unmarshal(line, &m); err != nil {
			return err
		}
		switch {
		case m.Table != "":
			t, ok := tables[m.Table]
			if !ok {
				return fmt.Errorf("table %s is not in this store's schema: migrate first, with a nashra at least as new as the one that exported", m.Table)
			}
			for _, col := range m.Columns {
				if !slices.Contains(t.columns, col) {
					return fmt.Errorf("column %s.%s is not in this store's schema", m.Table, col)
				}
			}
			in.table, in.columns = m.Table, m.Columns
			in.counts.Tables++
			in.counts.ByTable[m.Table] = 0
		case m.Sequences != nil:
			if err := db.setSequences(ctx, in.tx, tables, m.Sequences); err != nil {
				return err
			}
		case m.End:
			if m.Tables != in.counts.Tables || m.Rows != in.counts.Rows {
				return fmt.Errorf("read %d tables and %d rows, the export says %d and %d", in.counts.Tables, in.counts.Rows, m.Tables, m.Rows)
			}
			return nil
		}
	}
}

// row adds one row to the batch of the current table.
func (in *importer) row(ctx context.Context, line json.RawMessage) error {
	if in.table == "" {
		return errors.New("a row before any table")
	}
	var vals []any
	if err := json.Unmarshal(line, &vals); err != nil {
		return fmt.Errorf("%s row: %w", in.table, err)
	}
	if len(vals) != len(in.columns) {
		return fmt.Errorf("%s row of %d values for %d columns", in.table, len(vals), len(in.columns))
	}
	for i, v := range vals {
		if n, ok := v.(json.Number); ok {
			i64, err := n.Int64()
			if err != nil {
				return fmt.Errorf("%s.%s: %s is not an integer", in.table, in.columns[i], n)
			}
			vals[i] = i64
		}
	}
	in.batch = append(in.batch, vals...)
	in.counts.Rows++
	in.counts.ByTable[in.table]++
	// Within both databases' limits on parameters per statement.
	if len(in.batch) >= 500*len(in.columns) || len(in.batch) >= 30000 {
		return in.flush(ctx)
	}
	return nil
}

// flush inserts the rows batched so far.
func (in *importer) flush(ctx context.Context) error {
	if len(in.batch) == 0 {
		return nil
	}
	n := len(in.batch) / len(in.columns)
	_, err := in.tx.ExecContext(ctx, `INSERT INTO `+quoteName(in.table)+` (`+quoteNames(in.columns)+`) VALUES `+
		tuples(len(in.columns), n), in.batch...)
	in.batch = in.batch[:0]
	if err != nil {
		return fmt.Errorf("insert into %s: %w", in.table, err)
	}
	return nil
}

// catalogQuerier reads the catalog: a pool or a transaction.
type catalogQuerier interface {
	querier
	rowQuerier
}

// tables reads the schema's tables but schema_migrations from the catalog,
// parents first.
func (db *DB) tables(ctx context.Context, q catalogQuerier) ([]table, error) {
	var names []string
	var err error
	if db.dialect == postgresDialect {
		names, err = texts(ctx, q, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	} else {
		names, err = texts(ctx, q, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite^_%' ESCAPE '^'`)
	}
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	byName := map[string]table{}
	for _, name := range names {
		if name == "schema_migrations" {
			continue
		}
		t, err := db.describe(ctx, q, name)
		if err != nil {
			return nil, fmt.Errorf("read the catalog of %s: %w", name, err)
		}
		byName[name] = t
	}
	return parentsFirst(byName)
}

// describe reads a table's columns, foreign keys and numbered column.
func (db *DB) describe(ctx context.Context, q catalogQuerier, name string) (t table, err error) {
	t.name = name
	defer func() { slices.Sort(t.parents) }()
	if db.dialect == postgresDialect {
		rows, err := q.QueryContext(ctx, `SELECT column_name, is_identity FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, name)
		if err != nil {
			return t, err
		}
		defer rows.Close()
		for rows.Next() {
			var col, identity string
			if err := rows.Scan(&col, &identity); err != nil {
				return t, err
			}
			t.columns = append(t.columns, col)
			if identity == "YES" {
				t.identity, t.counter = col, true
			}
		}
		if err := rows.Err(); err != nil {
			return t, err
		}
		t.parents, err = texts(ctx, q, `SELECT DISTINCT p.relname FROM pg_constraint k
			JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = ?`, name)
		return t, err
	}
	rows, err := q.QueryContext(ctx, `SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid`, name)
	if err != nil {
		return t, err
	}
	defer rows.Close()
	var pks []string
	var pkType string
	for rows.Next() {
		var col, typ string
		var pk int
		if err := rows.Scan(&col, &typ, &pk); err != nil {
			return t, err
		}
		t.columns = append(t.columns, col)
		if pk > 0 {
			pks, pkType = append(pks, col), typ
		}
	}
	if err := rows.Err(); err != nil {
		return t, err
	}
	// An INTEGER PRIMARY KEY alone is the rowid, which SQLite numbers.
	if len(pks) == 1 && strings.EqualFold(pkType, "INTEGER") {
		t.identity = pks[0]
		var ddl string
		if err := q.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&ddl); err != nil {
			return t, err
		}
		t.counter = strings.Contains(strings.ToUpper(ddl), "AUTOINCREMENT")
	}
	t.parents, err = texts(ctx, q, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, name)
	return t, err
}

// parentsFirst orders tables so that every table comes after those its
// foreign keys point at; ties go by name, so that the order is stable.
func parentsFirst(byName map[string]table) ([]table, error) {
	var out []table
	done := map[string]bool{}
	for len(out) < len(byName) {
		progress := false
		for _, name := range slices.Sorted(maps.Keys(byName)) {
			t := byName[name]
			if done[name] || slices.ContainsFunc(t.parents, func(p string) bool { return p != name && !done[p] }) {
				continue
			}
			out = append(out, t)
			done[name] = true
			progress = true
		}
		if !progress {
			return nil, errors.New("foreign keys form a cycle")
		}
	}
	return out, nil
}

// sequences returns, by table, the highest id its counter ever gave, for
// the tables whose database keeps one.
func (db *DB) sequences(ctx context.Context, q catalogQuerier, tables []table) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range tables {
		if !t.counter {
			continue
		}
		query := `SELECT seq FROM sqlite_sequence WHERE name = ?`
		args := []any{t.name}
		if db.dialect == postgresDialect {
			query = `SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence(?, ?) AS regclass))`
			args = append(args, t.identity)
		}
		var v sql.NullInt64
		err := q.QueryRowContext(ctx, query, args...).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("counter of %s: %w", t.name, err)
		}
		if v.Valid {
			out[t.name] = v.Int64
		}
	}
	return out, nil
}

// setSequences moves the counters of the imported tables past their
// highest id and past what the source's counters had given.
func (db *DB) setSequences(ctx context.Context, tx *sql.Tx, tables map[string]table, given map[string]int64) error {
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		if t := tables[name]; t.counter {
			if err := db.raiseCounter(ctx, tx, name, t.identity, given[name]); err != nil {
				return err
			}
		}
	}
	return nil
}

// raiseCounter moves the counter that numbers new rows of table past its
// highest id and past atLeast; rows inserted with their ids leave it
// behind on PostgreSQL, and SQLite's AUTOINCREMENT counter follows only
// the highest id inserted.
func (db *DB) raiseCounter(ctx context.Context, tx *sql.Tx, table, column string, atLeast int64) error {
	var top int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(`+quoteName(column)+`), 0) FROM `+quoteName(table)).Scan(&top); err != nil {
		return fmt.Errorf("highest id of %s: %w", table, err)
	}
	if top = max(top, atLeast); top == 0 {
		return nil
	}
	var err error
	if db.dialect == postgresDialect {
		_, err = tx.ExecContext(ctx, `SELECT setval(CAST(pg_get_serial_sequence(?, ?) AS regclass), ?)`, table, column, top)
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = ?`, table)
		if err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, table, top)
		}
	}
	if err != nil {
		return fmt.Errorf("counter of %s: %w", table, err)
	}
	return nil
}

func texts(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// quoteName quotes an identifier the catalog gave, the same way in both
// databases.
func quoteName(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteName(n)
	}
	return strings.Join(q, ", ")
}
