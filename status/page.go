// page.go: the status page handler: content negotiation between HTML and
// JSON, method checks, and the security headers every answer carries.

package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arbor-go/supervisor"
)

// Handler returns the status page of the tree src. It answers GET and HEAD
// (405 otherwise) on any path it is mounted at, for example:
//
//	mux.Handle("/debug/arbor/", status.Handler(root))
//
// Query parameters: format=json or format=html (else the Accept header
// decides; HTML by default), all=1 (list every child of SimpleOneForOne
// trees). The page is answered even when the tree is stopped, was never run,
// is shutting down or does not answer: it shows what is true then.
func Handler(src Snapshotter, opts ...Option) http.Handler {
	return &page{src: src, cfg: newConfig(opts)}
}

type page struct {
	src Snapshotter
	cfg config
}

// ServeHTTP answers with the page as HTML or JSON.
func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r) {
		return
	}
	format, err := wantFormat(r)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	snap, serr := snapshot(r.Context(), p.src, p.cfg.timeout)
	if format == "json" {
		serveJSON(w, snap)
		return
	}
	v := buildPage(snap, serr, p.cfg, r.URL.Query().Get("all") == "1")
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		plain(w, http.StatusInternalServerError, "status: rendering the page: "+err.Error()+"\n")
		return
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func serveJSON(w http.ResponseWriter, snap supervisor.TreeSnapshot) {
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		plain(w, http.StatusInternalServerError, "status: encoding the snapshot: "+err.Error()+"\n")
		return
	}
	b = append(b, '\n')
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// snapshot asks src for a snapshot bounded by timeout. A nil source, or a
// nil *supervisor.Tree, yields an error instead of a panic.
func snapshot(ctx context.Context, src Snapshotter, timeout time.Duration) (supervisor.TreeSnapshot, error) {
	if src == nil {
		return supervisor.TreeSnapshot{State: supervisor.TreeStateStopped}, errNoTree
	}
	if t, ok := src.(*supervisor.Tree); ok && t == nil {
		return supervisor.TreeSnapshot{State: supervisor.TreeStateStopped}, errNoTree
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return src.Snapshot(ctx)
}

var errNoTree = errors.New("status: no tree to show (nil)")

// allowMethod answers 405 to anything but GET and HEAD.
func allowMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	plain(w, http.StatusMethodNotAllowed, "status: method "+strconv.Quote(r.Method)+" not allowed; use GET or HEAD\n")
	return false
}

// wantFormat picks "html" or "json": the format parameter first, then the
// Accept header (the higher quality of text/html and application/json wins;
// on a tie, the one listed first).
func wantFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "json", "html":
		return f, nil
	case "":
	default:
		return "", errors.New("status: unknown format " + strconv.Quote(f) + "; use html or json")
	}
	best, bestQ := "html", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(qs, 64); err == nil {
				q = v
			}
		}
		var f string
		switch mt {
		case "application/json":
			f = "json"
		case "text/html":
			f = "html"
		default:
			continue
		}
		if q > 0 && q > bestQ {
			best, bestQ = f, q
		}
	}
	return best, nil
}

// securityHeaders forbids scripts, framing by others, sniffing and caching.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

// plain writes a text/plain answer.
func plain(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}
