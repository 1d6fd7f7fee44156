package api

// WindowsSQL exposes the statement a PostgresStore sends for q over day
// tables named schemas (no dimension columns), for tests to check that
// every query carries its LIMIT.
func WindowsSQL(schemas []string, q Query) (string, []any) {
	var ts []dayTable
	for _, s := range schemas {
		ts = append(ts, dayTable{schema: s})
	}
	return windowsSQL(ts, q)
}
