package transport

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// Copy buffers for the streams of a session. x/crypto/ssh copies a
// session's stdout and stderr with io.Copy, which allocates 32 KB per
// stream and session unless the destination is an io.ReaderFrom. With 500
// hosts and a few sessions per task that was most of kplay's allocation
// (pprof, docs/benchmarks.md), so every stream goes through a pooled
// buffer instead.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// readFromPooled copies r into write until EOF with a pooled buffer, as
// io.Copy would with a fresh one.
func readFromPooled(write func([]byte) (int, error), r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		m, err := r.Read(buf)
		if m > 0 {
			w, werr := write(buf[:m])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
			if w != m {
				return n, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// pooledWriter gives a writer without ReadFrom a pooled one.
type pooledWriter struct{ w io.Writer }

func (p pooledWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p pooledWriter) ReadFrom(r io.Reader) (int64, error) { return readFromPooled(p.w.Write, r) }

// withReadFrom returns w itself when io.Copy into it allocates nothing,
// else w wrapped in a pooledWriter.
func withReadFrom(w io.Writer) io.Writer {
	if _, ok := w.(io.ReaderFrom); ok {
		return w
	}
	return pooledWriter{w}
}

// copyPooled copies r to w like io.Copy, with a pooled buffer unless r
// writes itself out without one (in-memory readers).
func copyPooled(w io.Writer, r io.Reader) (int64, error) {
	switch r.(type) {
	case *bytes.Reader, *strings.Reader, *bytes.Buffer:
		return io.Copy(w, r)
	}
	return readFromPooled(w.Write, r)
}
