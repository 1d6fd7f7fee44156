package postgres

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DayPlaceholder is what a schema template holds once: the UTC day of the
// window start, as yyyymmdd.
const DayPlaceholder = "{yyyymmdd}"

// Table is the name of the snapshots table in every day's schema.
const Table = "snapshots"

// stageTable is the per-connection temporary table each batch is copied
// into before the upsert.
const stageTable = "pulse_stage"

// ddlLockKey is the advisory lock every writer takes around DDL (creating a
// day's schema and table, dropping old days), from any process: two
// sessions' CREATE TABLE IF NOT EXISTS on the same name may otherwise both
// pass the check and one fail on pg_type's unique index. Any constant
// does; this one spells "pulsepg1".
const ddlLockKey int64 = 0x70756c7365706731

// identRE is a plain lower-case SQL identifier: one needing no quotes.
var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// maxIdent is PostgreSQL's NAMEDATALEN-1: longer names are truncated.
const maxIdent = 63

// schemaTemplate names the day schemas: prefix + yyyymmdd + suffix.
type schemaTemplate struct {
	prefix, suffix string
}

// parseSchema checks a template such as "metrics_{yyyymmdd}": exactly one
// placeholder, and a plain identifier once it is filled in.
func parseSchema(tmpl string) (schemaTemplate, error) {
	if strings.Count(tmpl, DayPlaceholder) != 1 {
		return schemaTemplate{}, fmt.Errorf("schema %q: must hold %s exactly once (retention drops whole days)", tmpl, DayPlaceholder)
	}
	prefix, suffix, _ := strings.Cut(tmpl, DayPlaceholder)
	st := schemaTemplate{prefix, suffix}
	name := st.name(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	if !identRE.MatchString(name) || len(name) > maxIdent {
		return schemaTemplate{}, fmt.Errorf("schema %q: %q is not a plain identifier (lower-case letters, digits and _, not starting with a digit, at most %d bytes)", tmpl, name, maxIdent)
	}
	if strings.HasPrefix(name, "pg_") {
		return schemaTemplate{}, fmt.Errorf("schema %q: names starting pg_ are PostgreSQL's", tmpl)
	}
	return st, nil
}

// name returns the schema of day.
func (st schemaTemplate) name(day time.Time) string {
	return st.prefix + day.UTC().Format("20060102") + st.suffix
}

// day parses a schema name back into its day; ok is false for a name the
// template did not make.
func (st schemaTemplate) day(name string) (time.Time, bool) {
	if len(name) != len(st.prefix)+8+len(st.suffix) || !strings.HasPrefix(name, st.prefix) || !strings.HasSuffix(name, st.suffix) {
		return time.Time{}, false
	}
	d, err := time.Parse("20060102", name[len(st.prefix):len(st.prefix)+8])
	if err != nil {
		return time.Time{}, false
	}
	return d, st.name(d) == name
}

// likePattern matches, in SQL LIKE, every name the template makes (and
// perhaps others, which day refuses).
func (st schemaTemplate) likePattern() string {
	esc := strings.NewReplacer(`\`, `\\`, `_`, `\_`, `%`, `\%`)
	return esc.Replace(st.prefix) + "________" + esc.Replace(st.suffix)
}

// createDDL returns the statements making a day's schema and table, safe
// to run again: IF NOT EXISTS throughout, and the configured dimensions'
// columns added to a table made under an older configuration.
func (l layout) createDDL(schema string) []string {
	tbl := pgx.Identifier{schema, Table}.Sanitize()
	var cols []string
	for _, c := range l.cols {
		cols = append(cols, pgx.Identifier{c.name}.Sanitize()+" "+c.typ)
	}
	cols = append(cols, "updated_at timestamptz NOT NULL DEFAULT now()",
		"PRIMARY KEY (key, window_start, window_len)")
	stmts := []string{
		"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{schema}.Sanitize(),
		"CREATE TABLE IF NOT EXISTS " + tbl + " (\n\t" + strings.Join(cols, ",\n\t") + "\n)",
	}
	for _, d := range l.dims {
		stmts = append(stmts, "ALTER TABLE "+tbl+" ADD COLUMN IF NOT EXISTS "+pgx.Identifier{dimColumnPrefix + d}.Sanitize()+" text")
	}
	// The Metrics API reads one name over a range of windows: without this
	// index every query would scan the day's whole table.
	stmts = append(stmts, "CREATE INDEX IF NOT EXISTS "+pgx.Identifier{Table + "_name_window"}.Sanitize()+
		" ON "+tbl+" (name, window_start)")
	return stmts
}

// stageDDL makes the connection's temporary staging table: the layout's
// columns without constraints, emptied at every commit.
func (l layout) stageDDL() string {
	var cols []string
	for _, c := range l.cols {
		cols = append(cols, pgx.Identifier{c.name}.Sanitize()+" "+strings.TrimSuffix(c.typ, " NOT NULL"))
	}
	return "CREATE TEMP TABLE IF NOT EXISTS " + stageTable + " (" + strings.Join(cols, ", ") + ") ON COMMIT DELETE ROWS"
}

// upsertSQL moves the staged rows into a day's table: of rows of one key
// and window in the batch the one with the largest seq, and a stored row
// is replaced only by a larger seq — the newest snapshot wins, by the
// merger's order and not by arrival, so a retry or a replay of an older
// snapshot changes nothing.
func (l layout) upsertSQL(schema string) string {
	names := l.quotedNames()
	var set []string
	for _, c := range l.cols {
		if c.name == "key" || c.name == "window_start" || c.name == "window_len" {
			continue
		}
		n := pgx.Identifier{c.name}.Sanitize()
		set = append(set, n+" = EXCLUDED."+n)
	}
	set = append(set, "updated_at = now()")
	list := strings.Join(names, ", ")
	return "INSERT INTO " + pgx.Identifier{schema, Table}.Sanitize() + " AS t (" + list + ")\n" +
		"SELECT DISTINCT ON (key, window_start, window_len) " + list + " FROM " + stageTable + "\n" +
		"ORDER BY key, window_start, window_len, seq DESC\n" +
		"ON CONFLICT (key, window_start, window_len) DO UPDATE SET " + strings.Join(set, ", ") + "\n" +
		"WHERE EXCLUDED.seq > t.seq"
}

// insertSQL is the single-row form of upsertSQL, $1.. in the layout's
// order: what COPY is measured against.
func (l layout) insertSQL(schema string) string {
	names := l.quotedNames()
	var params, set []string
	for i, c := range l.cols {
		params = append(params, fmt.Sprintf("$%d", i+1))
		if c.name != "key" && c.name != "window_start" && c.name != "window_len" {
			n := pgx.Identifier{c.name}.Sanitize()
			set = append(set, n+" = EXCLUDED."+n)
		}
	}
	set = append(set, "updated_at = now()")
	return "INSERT INTO " + pgx.Identifier{schema, Table}.Sanitize() + " AS t (" + strings.Join(names, ", ") + ")\n" +
		"VALUES (" + strings.Join(params, ", ") + ")\n" +
		"ON CONFLICT (key, window_start, window_len) DO UPDATE SET " + strings.Join(set, ", ") + "\n" +
		"WHERE EXCLUDED.seq > t.seq"
}

func (l layout) quotedNames() []string {
	out := make([]string, len(l.cols))
	for i, c := range l.cols {
		out[i] = pgx.Identifier{c.name}.Sanitize()
	}
	return out
}

// expired reports whether day's schema is past retention at now: its
// whole day ended retention or more ago. Today's never is (retention is
// at least a day).
func expired(day, now time.Time, retention time.Duration) bool {
	return !day.Add(24 * time.Hour).After(now.Add(-retention))
}
