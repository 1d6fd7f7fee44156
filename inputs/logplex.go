package inputs

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/valyala/fasthttp"

	"pulse/event"
	"pulse/parse"
)

// Headers of a Logplex drain request.
const (
	headerLogplexMsgCount   = "Logplex-Msg-Count"   // frames in the body
	headerLogplexFrameID    = "Logplex-Frame-Id"    // unique per body; the same on a retry
	headerLogplexDrainToken = "Logplex-Drain-Token" // the drain, "d.<uuid>"
)

// Bounds of the Logplex-Frame-Id memory: ids kept at most, and the longest
// id taken (Logplex sends 32 hex digits).
const (
	maxFrameIDs     = 100_000
	maxFrameIDBytes = 128
)

// errTooManyFrames stops LogplexFrames at MaxEvents.
var errTooManyFrames = errors.New("too many frames")

// serveLogplex handles one Logplex drain request, after the method and
// authorization checks, as FormatLogplex describes. It answers 200 itself
// and returns the rejection otherwise.
func (h *HTTP) serveLogplex(ctx context.Context, emit event.Emit, rc *fasthttp.RequestCtx) *httpError {
	id := rc.Request.Header.Peek(headerLogplexFrameID)
	if len(id) > maxFrameIDBytes {
		return badBody("%s is longer than %d bytes", headerLogplexFrameID, maxFrameIDBytes)
	}
	stored := false // events of this request committed: remember its id
	if len(id) > 0 {
		key := string(id)
		switch h.frameIDs.begin(key) {
		case frameSeen:
			h.stats.duplicates.Add(1)
			rc.SetStatusCode(http.StatusOK)
			return nil
		case frameBusy:
			return &httpError{http.StatusServiceUnavailable, rejectUnavailable, "a request with this " + headerLogplexFrameID + " is in progress, retry later"}
		}
		defer func() { h.frameIDs.end(key, stored) }()
	}
	want := -1
	if c := rc.Request.Header.Peek(headerLogplexMsgCount); len(c) > 0 {
		n, err := fasthttp.ParseUint(c)
		if err != nil {
			return badBody("%s %q: not a count", headerLogplexMsgCount, c)
		}
		want = n
	}

	s := h.scratch.Get().(*httpScratch)
	defer h.putScratch(s)
	body, herr := s.decompress(rc.Request.Header.ContentEncoding(), rc.Request.Body(), int(h.opts.MaxBodyBytes))
	if herr != nil {
		return herr
	}
	s.events = s.events[:0]
	max := h.opts.MaxEvents
	n, ferr := parse.LogplexFrames(body, func(frame []byte) error {
		if len(s.events) == max {
			return errTooManyFrames
		}
		s.events = append(s.events, frame)
		return nil
	})
	switch {
	case errors.Is(ferr, errTooManyFrames):
		s.events = s.events[:0]
		return badBody("more than %d frames", max)
	case ferr == nil && want >= 0 && want != n:
		s.events = s.events[:0]
		return badBody("%s is %d but the body has %d frames", headerLogplexMsgCount, want, n)
	}

	source := ""
	if tok := rc.Request.Header.Peek(headerLogplexDrainToken); len(tok) > 0 {
		source = string(tok)
	} else {
		source = rc.RemoteAddr().String()
	}
	if herr := h.store(ctx, emit, rc, s, source); herr != nil {
		return herr
	}
	stored = len(s.events) > 0
	if ferr != nil {
		return badBody("%v; the %s before it stored", ferr, plural(n, "frame"))
	}
	rc.SetStatusCode(http.StatusOK)
	return nil
}

// plural returns "1 frame", "2 frames".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
