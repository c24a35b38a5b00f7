package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

// populate fills a store with a little of everything an export must carry.
func populate(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	now := time.UnixMilli(1_760_000_000_123).UTC()
	if _, err := db.MetaOrInit(ctx, "secret", func() (string, error) { return "سر-0123456789abcdef", nil }); err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 3; id++ {
		db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate, Language: "ar"}, now)
		db.Subscribe(ctx, id, []string{"news"}, now)
	}
	db.TouchChat(ctx, nashra.Chat{ID: -1001000000001, Kind: nashra.ChatSupergroup, Title: "مجموعة \"القراء\""}, now)
	db.Subscribe(ctx, -1001000000001, []string{"news", "articles"}, now)
	db.SetChatActive(ctx, 3, false, "blocked", now)
	if err := db.SeedChannels(ctx, []nashra.ChannelLink{{Section: "news", Channel: "-1002000000001"}}, now); err != nil {
		t.Fatal(err)
	}
	db.SetChannelState(ctx, "-1002000000001", -1002000000001, true, now)
	a1 := newArticle(t, db, "news", "x1", "عاجل")
	newArticle(t, db, "articles", "x2")
	if _, err := db.HandOn(ctx, FanOut{ArticleID: a1, State: nashra.DeliveryPending, Now: now}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClaimDeliveries(ctx, "me", nashra.LanePrivate, 1, now.Add(time.Minute))
	if err != nil || len(got) == 0 {
		t.Fatalf("claim: %v %v", got, err)
	}
	if err := db.UpdateOutbox(ctx, "me", []OutboxUpdate{{Op: OpSent, IDs: []int64{got[0].ID}, MessageID: 77, Caption: true, At: now}},
		[]Scope{{ChatID: 0, PausedUntil: now.Add(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	db.EnqueueReply(ctx, nashra.QueuedReply{ChatID: 1, Method: "sendMessage", Params: map[string]string{"text": "أهلاً <b>بك</b>"}}, now)
	db.SetLeasePaused(ctx, "telegram", true, now)
	db.RecordClicks(ctx, []nashra.Click{{ArticleID: a1, Medium: "telegram", Reader: "v:ab", At: now}, {ArticleID: a1, Medium: "email", Reader: "s:1", At: now}}, 0)
	db.RaiseAlert(ctx, nashra.Alert{Kind: "feed_failing", Subject: "https://a.example/news/feed/", Message: "تعطلت", CreatedAt: now})
	db.ClaimUpdate(ctx, 4242, now)
	// An email subscriber whose signup is forgotten: its id must never be
	// given again, wherever the store moves.
	req := SignupRequest{Address: "Gone@Example.org", Now: now, Limit: 3, Window: time.Hour}
	if _, _, err := db.RequestEmailSignup(ctx, req); err != nil {
		t.Fatal(err)
	}
	req.Address = "Reader@Example.org"
	req.Sections = []string{"news"}
	id, _, err := db.RequestEmailSignup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	db.ConfirmEmailSubscriber(ctx, id, now)
	last, _, err := db.RequestEmailSignup(ctx, SignupRequest{Address: "late@example.org", Now: now, Limit: 3, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.ForgetUnconfirmedEmails(ctx, now.Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("forgot %d signups, %v", n, err)
	}
	if last != 3 {
		t.Fatalf("the last signup has id %d, want 3", last)
	}
}

// exported returns a store's export without its header line (which says
// when and from which database), every table's rows sorted: the two
// databases may list rows of tables without an id in another order.
func exported(t *testing.T, db *DB) (string, TransferCounts) {
	t.Helper()
	var buf bytes.Buffer
	c, err := db.Export(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	var out, rows []string
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	sc.Scan() // the header
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "[") {
			rows = append(rows, line)
			continue
		}
		slices.Sort(rows)
		out = append(append(out, rows...), line)
		rows = nil
	}
	return strings.Join(out, "\n"), c
}

func importInto(t *testing.T, db *DB, export []byte) TransferCounts {
	t.Helper()
	c, err := db.Import(context.Background(), bytes.NewReader(export))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SQLite → PostgreSQL → SQLite loses nothing: every row of every table,
// ids and counters included, comes back as it was.
func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openURL(t, backends[0].url(t))
	populate(t, src)
	want, counts := exported(t, src)
	if counts.ByTable["meta"] != 1 || counts.ByTable["deliveries"] == 0 || counts.ByTable["email_subscribers"] != 1 {
		t.Fatalf("exported %+v", counts)
	}
	if _, ok := counts.ByTable["schema_migrations"]; ok {
		t.Error("schema_migrations exported")
	}
	var file bytes.Buffer
	src.Export(ctx, &file)

	for _, path := range [][]backend{{backends[1], backends[0]}, {backends[0]}} {
		names := []string{"sqlite"}
		for _, b := range path {
			names = append(names, b.name)
		}
		t.Run(strings.Join(names, "→"), func(t *testing.T) {
			data := file.Bytes()
			var last *DB
			for _, b := range path {
				dst := migrated(t, b.url(t))
				if c := importInto(t, dst, data); c.Rows != counts.Rows || c.Tables != counts.Tables {
					t.Fatalf("%s imported %d rows of %d tables, want %d of %d", b.name, c.Rows, c.Tables, counts.Rows, counts.Tables)
				}
				var buf bytes.Buffer
				if _, err := dst.Export(ctx, &buf); err != nil {
					t.Fatal(err)
				}
				data, last = buf.Bytes(), dst
			}
			if got, _ := exported(t, last); got != want {
				t.Errorf("the round trip changed the store:\n got %s\nwant %s", got, want)
			}
			// The stored secret and a forgotten subscriber's id survive: a
			// new signup gets an id never mailed before.
			if s, _ := last.Meta(ctx, "secret"); s != "سر-0123456789abcdef" {
				t.Errorf("secret %q", s)
			}
			id, _, err := last.RequestEmailSignup(ctx, SignupRequest{Address: "new@example.org", Now: time.Now(), Limit: 3, Window: time.Hour})
			if err != nil || id != 4 {
				t.Errorf("a new signup got id %d (%v), want 4", id, err)
			}
			// New rows of other tables are numbered past the imported ones.
			if id, err := last.EnqueueReply(ctx, nashra.QueuedReply{ChatID: 1, Method: "sendMessage", Params: map[string]string{}}, time.Now()); err != nil || id != 2 {
				t.Errorf("a new reply got id %d (%v), want 2", id, err)
			}
		})
	}
}

func migrated(t *testing.T, rawURL string) *DB {
	t.Helper()
	db, err := Open(context.Background(), rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestImportRefusesWhatItCannotTrust(t *testing.T) {
	contract(t, testImportRefusesWhatItCannotTrust)
}

func testImportRefusesWhatItCannotTrust(t *testing.T, db *DB) {
	ctx := context.Background()
	var file bytes.Buffer
	if _, err := db.Export(ctx, &file); err != nil {
		t.Fatal(err)
	}
	// db has its sections: not empty.
	if _, err := db.Import(ctx, bytes.NewReader(file.Bytes())); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("import into a store with rows: %v", err)
	}
	empty := migrated(t, "sqlite:"+t.TempDir()+"/empty.db")
	lines := bytes.Split(bytes.TrimSpace(file.Bytes()), []byte("\n"))
	for name, data := range map[string][]byte{
		"truncated":   bytes.Join(lines[:len(lines)-1], []byte("\n")),
		"not nashra":  []byte(`{"hello":1}`),
		"extra table": bytes.Replace(file.Bytes(), []byte(`{"table":"meta"`), []byte(`{"table":"nope"`), 1),
	} {
		if _, err := empty.Import(ctx, bytes.NewReader(data)); err == nil {
			t.Errorf("%s: imported", name)
		}
		if n, _ := empty.CountArticles(ctx); n != 0 {
			t.Errorf("%s: a failed import left %d articles", name, n)
		}
	}
}

// The two schemas stay twins: the same migration files, and after them
// the same tables, columns, foreign keys and indexes.
func TestSchemasMatch(t *testing.T) {
	ctx := context.Background()
	list := func(dir string) []string {
		es, err := fs.ReadDir(migrations, "migrations/"+dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	if s, p := list("sqlite"), list("postgres"); !slices.Equal(s, p) {
		t.Errorf("migrations differ:\nsqlite   %v\npostgres %v", s, p)
	}
	var schemas []string
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := migrated(t, b.url(t))
			tables, err := db.tables(ctx, db.read)
			if err != nil {
				t.Fatal(err)
			}
			var s strings.Builder
			for _, tb := range tables {
				fmt.Fprintf(&s, "%s%v parents=%v\n", tb.name, tb.columns, tb.parents)
			}
			// The indexes a migration creates by name, with their columns.
			query := `SELECT m.name || '(' || group_concat(i.name, ',') || ')' FROM sqlite_master m, pragma_index_info(m.name) i
				WHERE m.type = 'index' AND m.sql IS NOT NULL GROUP BY m.name ORDER BY m.name`
			if db.dialect == postgresDialect {
				query = `SELECT i.relname || '(' || string_agg(a.attname, ',' ORDER BY k.n) || ')'
					FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
					JOIN pg_namespace ns ON ns.oid = t.relnamespace
					CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
					JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
					WHERE ns.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
					GROUP BY i.relname ORDER BY i.relname`
			}
			indexes, err := texts(ctx, db.read, query)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&s, "indexes %v\n", indexes)
			schemas = append(schemas, s.String())
		})
	}
	if len(schemas) == 2 && schemas[0] != schemas[1] {
		t.Errorf("schemas differ:\nsqlite:\n%s\npostgres:\n%s", schemas[0], schemas[1])
	}
}
