package main

import (
	"context"
	"io"

	"github.com/kplay/kplay/lab"
)

// runLab is `kplay lab ...`, the local multi-host lab; the lab package
// parses its own arguments.
func runLab(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return lab.Main(ctx, args, stdout, stderr)
}
