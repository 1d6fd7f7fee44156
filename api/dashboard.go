package api

import (
	"embed"
	"io/fs"
	"net/http"
)

// The dashboard is one page of hand-written HTML, CSS and JavaScript that
// draws its charts as SVG itself, embedded in the binary. Why not a
// charting library from npm: the charts needed are a few line charts over
// at most max_points points, which is ~250 lines of plain JS; a library
// would bring an npm build step (node on every machine that builds pulse)
// or a vendored minified copy of another project, and a dependency to
// keep up to date, for drawing polylines. Plain SVG is also plain DOM:
// every plotted point is an element carrying its data (data-t, data-v),
// which is what the browser test asserts on.
//
//go:embed static
var static embed.FS

func staticFS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// serveIndex is GET /: the dashboard's page.
func serveIndex(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(staticFS(), "index.html")
	if err != nil {
		http.Error(w, "dashboard missing from the build", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	// Everything is served from here: no CDN, no inline script.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'")
	_, _ = w.Write(b)
}

// assetHandler serves the dashboard's script and style.
func assetHandler() http.Handler { return http.FileServerFS(staticFS()) }
