package main

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The screenshot's terminal colours: a dark background and the 16 ANSI
// colours (normal, then bright), as common terminal themes have them.
var (
	screenBG   = color.RGBA{0x1e, 0x1e, 0x1e, 0xff}
	screenFG   = color.RGBA{0xd4, 0xd4, 0xd4, 0xff}
	ansiColors = [16]color.RGBA{
		{0x1e, 0x1e, 0x1e, 0xff}, {0xcd, 0x31, 0x31, 0xff}, {0x0d, 0xbc, 0x79, 0xff}, {0xe5, 0xe5, 0x10, 0xff},
		{0x24, 0x72, 0xc8, 0xff}, {0xbc, 0x3f, 0xbc, 0xff}, {0x11, 0xa8, 0xcd, 0xff}, {0xe5, 0xe5, 0xe5, 0xff},
		{0x66, 0x66, 0x66, 0xff}, {0xf1, 0x4c, 0x4c, 0xff}, {0x23, 0xd1, 0x8b, 0xff}, {0xf5, 0xf5, 0x43, 0xff},
		{0x3b, 0x8e, 0xea, 0xff}, {0xd6, 0x70, 0xd6, 0xff}, {0x29, 0xb8, 0xdb, 0xff}, {0xff, 0xff, 0xff, 0xff},
	}
)

// styledRune is one character of a captured pane with its colour.
type styledRune struct {
	r  rune
	fg color.RGBA
}

// parsePane reads `tmux capture-pane -p -e` output: text with SGR colour
// sequences (foreground colours and resets; other attributes ignored).
func parsePane(text string) [][]styledRune {
	var lines [][]styledRune
	fg := screenFG
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		var out []styledRune
		for i := 0; i < len(line); {
			if strings.HasPrefix(line[i:], "\x1b[") {
				end := strings.IndexByte(line[i:], 'm')
				if end < 0 {
					break
				}
				fg = applySGR(fg, line[i+2:i+end])
				i += end + 1
				continue
			}
			r, size := utf8.DecodeRuneInString(line[i:])
			out = append(out, styledRune{r, fg})
			i += size
		}
		lines = append(lines, out)
	}
	return lines
}

// applySGR returns the foreground colour after the SGR parameters params.
func applySGR(fg color.RGBA, params string) color.RGBA {
	codes := strings.Split(params, ";")
	for i := 0; i < len(codes); i++ {
		n, _ := strconv.Atoi(codes[i])
		switch {
		case n == 0 || n == 39:
			fg = screenFG
		case n >= 30 && n <= 37:
			fg = ansiColors[n-30]
		case n >= 90 && n <= 97:
			fg = ansiColors[n-90+8]
		case n == 38 || n == 48:
			i += 2 // 38;5;N: a 256-colour index this renderer does not draw
		}
	}
	return fg
}

// renderPane draws a captured pane with x/image's fixed 7x13 font.
func renderPane(text string) *image.RGBA {
	lines := parsePane(text)
	cols := 0
	for _, l := range lines {
		cols = max(cols, len(l))
	}
	face := basicfont.Face7x13
	const pad, cw, lh = 10, 7, 15
	img := image.NewRGBA(image.Rect(0, 0, cols*cw+2*pad, len(lines)*lh+2*pad))
	draw.Draw(img, img.Bounds(), image.NewUniform(screenBG), image.Point{}, draw.Src)
	for y, l := range lines {
		for x, c := range l {
			px, py := pad+x*cw, pad+y*lh
			if dots(img, c, px, py) {
				continue
			}
			d := font.Drawer{Dst: img, Src: image.NewUniform(c.fg), Face: face,
				Dot: fixed.P(px, py+face.Ascent)}
			d.DrawString(string(c.r))
		}
	}
	return img
}

// dots draws the two characters of the board the 7x13 font lacks, '·'
// and '…', in the cell at px, py; it reports whether c was one of them.
func dots(img *image.RGBA, c styledRune, px, py int) bool {
	var xs []int
	y := py + 10
	switch c.r {
	case '·':
		xs, y = []int{3}, py+6
	case '…':
		xs = []int{1, 3, 5}
	default:
		return false
	}
	for _, x := range xs {
		img.Set(px+x, y, c.fg)
		img.Set(px+x, y+1, c.fg)
	}
	return true
}

// writePanePNG saves a captured pane as a PNG screenshot.
func writePanePNG(t *testing.T, pane, path string) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, renderPane(pane)); err != nil {
		t.Fatalf("encode the pane as PNG: %v", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParsePane(t *testing.T) {
	lines := parsePane("\x1b[32mok\x1b[39m: é\n\x1b[1;91mX\x1b[0m\n")
	if len(lines) != 2 || len(lines[0]) != 5 || len(lines[1]) != 1 {
		t.Fatalf("parsed %d lines: %v", len(lines), lines)
	}
	if lines[0][0].fg != ansiColors[2] || lines[0][2].fg != screenFG || lines[0][4].r != 'é' {
		t.Errorf("first line: %v", lines[0])
	}
	if lines[1][0].fg != ansiColors[9] {
		t.Errorf("bright red not read: %v", lines[1][0])
	}
	img := renderPane("ab\nc\n")
	if b := img.Bounds(); b.Dx() != 2*7+20 || b.Dy() != 2*15+20 {
		t.Errorf("image size = %v", b)
	}
}
