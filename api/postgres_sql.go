package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"pulse/metrics"
	"pulse/outputs/postgres"
)

// catalogLimit bounds the (name, dimension, value) rows one shard's
// catalog statement returns.
const catalogLimit = 100_000

// dimsExpr is a day table's whole dimensions as one jsonb: the dims
// column and the dimension columns (NULL where a row lacks one).
func dimsExpr(t dayTable) string {
	if len(t.dimCols) == 0 {
		return "dims"
	}
	var parts []string
	// jsonb_build_object takes at most 100 arguments: 40 pairs a call.
	for chunk := range slices.Chunk(t.dimCols, 40) {
		var args []string
		for _, d := range chunk {
			args = append(args, quoteLiteral(d), pgx.Identifier{dimColumnPrefix + d}.Sanitize())
		}
		parts = append(parts, "jsonb_strip_nulls(jsonb_build_object("+strings.Join(args, ", ")+"))")
	}
	return "(" + strings.Join(parts, " || ") + " || dims)"
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func tableName(t dayTable) string { return pgx.Identifier{t.schema, postgres.Table}.Sanitize() }

// windowsSQL is the statement reading q's windows from the day tables:
// a UNION ALL of one SELECT per day, under one LIMIT of q.Limit+1 — enough
// to tell that there are more than q.Limit, never more. Values go as
// parameters; only identifiers found in the catalog are written in.
func windowsSQL(ts []dayTable, q Query) (string, []any) {
	args := []any{q.Name, q.From, q.To}
	maxLen := "TRUE"
	if q.MaxLen > 0 {
		args = append(args, q.MaxLen.Seconds())
		maxLen = "window_len <= $4::float8 * interval '1 second'"
	}
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// Each where's value is a parameter; its name too where a table keeps
	// it in the jsonb, made on first use (a parameter no part uses has no
	// type, which PostgreSQL refuses).
	values := make([]string, len(q.Where))
	names := make([]string, len(q.Where))
	for i, d := range q.Where {
		values[i] = param(d.Value)
	}
	var sels []string
	for _, t := range ts {
		conds := []string{"name = $1", "window_start >= $2", "window_start < $3", maxLen}
		for i, d := range q.Where {
			if slices.Contains(t.dimCols, d.Name) {
				conds = append(conds, pgx.Identifier{dimColumnPrefix + d.Name}.Sanitize()+" = "+values[i])
				continue
			}
			if names[i] == "" {
				names[i] = param(d.Name)
			}
			conds = append(conds, "dims->>("+names[i]+"::text) = "+values[i]+"::text")
		}
		sels = append(sels, "(SELECT kind, unit, "+dimsExpr(t)+"::text, window_start,"+
			" (extract(epoch FROM window_len) * 1000000)::bigint, count,"+
			" COALESCE(sum, 'NaN'), COALESCE(sumsq, 'NaN'), COALESCE(min, 'NaN'), COALESCE(max, 'NaN'),"+
			" sketch, hll, COALESCE(last, 'NaN'), last_time, agents, seq"+
			" FROM "+tableName(t)+" WHERE "+strings.Join(conds, " AND ")+")")
	}
	return strings.Join(sels, "\nUNION ALL\n") + "\nLIMIT " + param(int64(q.Limit)+1), args
}

// scanWindow reads one row of windowsSQL, a window of the metric name.
func scanWindow(rows pgxRows, name string) (Window, error) {
	w := Window{Key: metrics.Key{Name: name}}
	var kind, dims string
	var lenUS, count, seq int64
	var agents int32
	var lastTime *time.Time
	if err := rows.Scan(&kind, &w.Key.Unit, &dims, &w.Start, &lenUS, &count,
		&w.Sum, &w.SumSq, &w.Min, &w.Max, &w.Sketch, &w.HLL, &w.Last, &lastTime, &agents, &seq); err != nil {
		return w, err
	}
	k, err := metrics.ParseKind(kind)
	if err != nil {
		return w, err
	}
	var dm map[string]string
	if err := json.Unmarshal([]byte(dims), &dm); err != nil {
		return w, fmt.Errorf("dims %s: %w", dims, err)
	}
	for n, v := range dm {
		w.Key.Dims = append(w.Key.Dims, metrics.Dim{Name: n, Value: v})
	}
	metrics.SortDims(w.Key.Dims)
	w.Key.Kind = k
	w.Start = w.Start.UTC()
	w.Len = time.Duration(lenUS) * time.Microsecond
	w.Count, w.Seq, w.Agents = uint64(max(count, 0)), uint64(max(seq, 0)), int(agents)
	if lastTime != nil {
		w.LastTime = lastTime.UTC()
	}
	return w, nil
}

// catalog aggregates a shard's day tables into its metrics: ranges and
// window lengths in one statement, dimension values in another.
func (st *PostgresStore) catalog(ctx context.Context, sh *pgShard, ts []dayTable) ([]Metric, error) {
	var ranges, dims []string
	for _, t := range ts {
		ranges = append(ranges, "(SELECT name, kind, unit, window_start, window_len FROM "+tableName(t)+")")
		dims = append(dims, "(SELECT DISTINCT name, "+dimsExpr(t)+" AS d FROM "+tableName(t)+")")
	}
	type mkey struct{ name, kind, unit string }
	byKey := map[mkey]*Metric{}
	var order []mkey
	rows, err := sh.pool.Query(ctx, "SELECT name, kind, unit, min(window_start), max(window_start + window_len), count(*),"+
		" array_agg(DISTINCT extract(epoch FROM window_len)::float8)"+
		" FROM ("+strings.Join(ranges, " UNION ALL ")+") t GROUP BY 1, 2, 3 LIMIT $1", catalogLimit)
	if err != nil {
		return nil, st.queryErr(sh, "catalog", err)
	}
	for rows.Next() {
		var m Metric
		if err := rows.Scan(&m.Name, &m.Kind, &m.Unit, &m.From, &m.To, &m.Windows, &m.WindowsS); err != nil {
			rows.Close()
			return nil, st.queryErr(sh, "catalog", err)
		}
		m.From, m.To, m.Dims = m.From.UTC(), m.To.UTC(), map[string][]string{}
		k := mkey{m.Name, m.Kind, m.Unit}
		byKey[k] = &m
		order = append(order, k)
	}
	if err := rows.Err(); err != nil {
		return nil, st.queryErr(sh, "catalog", err)
	}
	// Dimension values by name (not kind): a name's dimensions are the
	// same whatever its kind, in practice.
	rows, err = sh.pool.Query(ctx, "SELECT name, e.key, e.value FROM ("+strings.Join(dims, " UNION ")+") t,"+
		" jsonb_each_text(t.d) e GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT $1", catalogLimit)
	if err != nil {
		return nil, st.queryErr(sh, "catalog dimensions", err)
	}
	for rows.Next() {
		var name, d, v string
		if err := rows.Scan(&name, &d, &v); err != nil {
			rows.Close()
			return nil, st.queryErr(sh, "catalog dimensions", err)
		}
		for _, k := range order {
			if k.name == name {
				m := byKey[k]
				m.Dims[d] = append(m.Dims[d], v)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, st.queryErr(sh, "catalog dimensions", err)
	}
	out := make([]Metric, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}

// mergeCatalogs combines the catalogs of shards (or of files): one entry
// per name, kind and unit, ranges widened, dimension values united and
// capped at MaxDimValues, sorted by name.
func mergeCatalogs(parts ...[]Metric) []Metric {
	type mkey struct{ name, kind, unit string }
	byKey := map[mkey]*Metric{}
	for _, part := range parts {
		for _, m := range part {
			k := mkey{m.Name, m.Kind, m.Unit}
			acc := byKey[k]
			if acc == nil {
				acc = &Metric{Name: m.Name, Kind: m.Kind, Unit: m.Unit, Dims: map[string][]string{}, From: m.From, To: m.To}
				byKey[k] = acc
			}
			if m.From.Before(acc.From) {
				acc.From = m.From
			}
			if m.To.After(acc.To) {
				acc.To = m.To
			}
			acc.Windows += m.Windows
			for _, l := range m.WindowsS {
				l = math.Round(l*1e6) / 1e6
				if !slices.Contains(acc.WindowsS, l) {
					acc.WindowsS = append(acc.WindowsS, l)
				}
			}
			for d, vs := range m.Dims {
				for _, v := range vs {
					if !slices.Contains(acc.Dims[d], v) {
						acc.Dims[d] = append(acc.Dims[d], v)
					}
				}
			}
		}
	}
	out := make([]Metric, 0, len(byKey))
	for _, m := range byKey {
		slices.Sort(m.WindowsS)
		for d, vs := range m.Dims {
			slices.Sort(vs)
			if len(vs) > MaxDimValues {
				m.Dims[d] = vs[:MaxDimValues]
				m.Truncated = append(m.Truncated, d)
			}
		}
		slices.Sort(m.Truncated)
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Metric) int {
		return strings.Compare(a.Name+"|"+a.Kind+"|"+a.Unit, b.Name+"|"+b.Kind+"|"+b.Unit)
	})
	return out
}
