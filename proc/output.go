//go:build unix

package proc

import (
	"bytes"
	"log/slog"
)

// maxLine is the longest line logged as one record; longer lines are split.
const maxLine = 64 << 10

// lineWriter splits one output stream of a process into lines, logs them
// and matches them for readiness. os/exec calls Write from one goroutine per
// stream; flush is called after Wait, when that goroutine is done.
type lineWriter struct {
	r      *run
	stream string
	log    bool         // log lines (the user gave no writer)
	match  *readyOutput // match lines for readiness, if not nil
	logger *slog.Logger // set at the first line
	buf    []byte       // the current partial line, at most maxLine bytes
}

// Write implements io.Writer. It never fails.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLine - len(w.buf); len(chunk) > room {
			w.buf = append(w.buf, chunk[:room]...)
			w.emit()
			p = p[room:]
			continue
		}
		w.buf = append(w.buf, chunk...)
		if i < 0 {
			break
		}
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

// flush emits a last line that had no newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit()
	}
}

// emit logs and matches the line in buf, then empties buf.
func (w *lineWriter) emit() {
	line := w.buf
	w.buf = w.buf[:0]
	if w.match != nil && w.match.re.Match(line) {
		w.match = nil // once ready, stop matching
		<-w.r.started
		w.r.markReady("output")
	}
	if !w.log {
		return
	}
	if w.logger == nil {
		<-w.r.started
		w.logger = w.r.plog.With("stream", w.stream)
	}
	w.logger.Info(string(line))
}
