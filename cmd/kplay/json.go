package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kplay/kplay/engine"
)

// jsonSink writes each event as one JSON line (--json), for programs that
// follow a run; nothing else goes to its writer.
type jsonSink struct {
	enc    *json.Encoder
	errOut io.Writer
	failed bool
}

func newJSONSink(out, errOut io.Writer) *jsonSink {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	return &jsonSink{enc: enc, errOut: errOut}
}

// Event implements engine.Sink.
func (s *jsonSink) Event(e engine.Event) {
	if err := s.enc.Encode(e); err != nil && !s.failed {
		s.failed = true
		fmt.Fprintf(s.errOut, "kplay: write event %s as JSON: %v\n", e.Type, err)
	}
}
