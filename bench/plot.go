package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The plot: median wall time of the first run against N, both axes
// logarithmic, one line per tool. Drawn with the standard library and
// x/image's fixed 7x13 font, so the benchmark needs no plotting package.

const (
	plotW, plotH                         = 900, 560
	padLeft, padRight, padTop, padBottom = 80, 200, 40, 60
)

var toolColors = map[string]color.RGBA{
	toolKplay:       {0x1f, 0x77, 0xb4, 0xff},
	toolFloor:       {0x2c, 0xa0, 0x2c, 0xff},
	toolFloorLinear: {0x94, 0x67, 0xbd, 0xff},
	toolAnsiblePL:   {0xff, 0x7f, 0x0e, 0xff},
	toolAnsible:     {0xd6, 0x27, 0x28, 0xff},
}

// canvas maps data (log10 N, log10 seconds) to pixels.
type canvas struct {
	img                    *image.RGBA
	xmin, xmax, ymin, ymax float64
}

func (c *canvas) px(n int, secs float64) (int, int) {
	x := padLeft + int((math.Log10(float64(n))-c.xmin)/(c.xmax-c.xmin)*float64(plotW-padLeft-padRight))
	y := plotH - padBottom - int((math.Log10(secs)-c.ymin)/(c.ymax-c.ymin)*float64(plotH-padTop-padBottom))
	return x, y
}

func plotWall(path string, stats []stat) error {
	series := map[string][]stat{}
	var order []string
	c := &canvas{xmin: 0, xmax: 0, ymin: math.Inf(1), ymax: math.Inf(-1)}
	for _, s := range stats {
		if s.Case != caseFirst {
			continue
		}
		if series[s.Tool] == nil {
			order = append(order, s.Tool)
		}
		series[s.Tool] = append(series[s.Tool], s)
		c.xmax = math.Max(c.xmax, math.Ceil(math.Log10(float64(s.N))+0.01))
		c.ymin = math.Min(c.ymin, math.Floor(math.Log10(s.Median.Seconds())))
		c.ymax = math.Max(c.ymax, math.Ceil(math.Log10(s.Median.Seconds())))
	}
	if len(order) == 0 {
		return nil
	}
	if c.ymax <= c.ymin {
		c.ymax = c.ymin + 1
	}
	c.img = image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	draw.Draw(c.img, c.img.Bounds(), image.White, image.Point{}, draw.Src)
	c.axes()
	for i, tool := range order {
		col := toolColors[tool]
		pts := series[tool]
		for j, s := range pts {
			x, y := c.px(s.N, s.Median.Seconds())
			c.dot(x, y, col)
			if j > 0 {
				x0, y0 := c.px(pts[j-1].N, pts[j-1].Median.Seconds())
				c.line(x0, y0, x, y, col)
			}
		}
		ly := padTop + 20 + 20*i
		c.line(plotW-padRight+15, ly-4, plotW-padRight+40, ly-4, col)
		c.text(plotW-padRight+46, ly, tool, color.Black)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create plot: %w", err)
	}
	defer f.Close()
	if err := png.Encode(f, c.img); err != nil {
		return fmt.Errorf("encode plot: %w", err)
	}
	return nil
}

// axes draws the frame, decade grid lines with labels and the titles.
func (c *canvas) axes() {
	grey := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	left, right, top, bottom := padLeft, plotW-padRight, padTop, plotH-padBottom
	for e := c.ymin; e <= c.ymax; e++ {
		_, y := c.px(1, math.Pow(10, e))
		c.line(left, y, right, y, grey)
		c.text(left-8-7*len(secsLabel(e)), y+4, secsLabel(e), color.Black)
	}
	for _, n := range []int{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000} {
		if math.Log10(float64(n)) > c.xmax {
			break
		}
		x, _ := c.px(n, 1)
		c.line(x, top, x, bottom, grey)
		c.text(x-7*len(fmt.Sprint(n))/2, bottom+18, fmt.Sprint(n), color.Black)
	}
	c.line(left, bottom, right, bottom, color.Black)
	c.line(left, top, left, bottom, color.Black)
	c.text(left, top-16, "wall time of the first run (median), 20 tasks, forks = N", color.Black)
	c.text((left+right)/2-60, plotH-18, "hosts N (log scale)", color.Black)
	c.text(8, top-16, "seconds", color.Black)
}

func secsLabel(e float64) string {
	v := math.Pow(10, e)
	if v < 1 {
		return fmt.Sprintf("%g", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func (c *canvas) text(x, y int, s string, col color.Color) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: basicfont.Face7x13,
		Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// line draws a 2-pixel line (Bresenham).
func (c *canvas) line(x0, y0, x1, y1 int, col color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for {
		c.img.Set(x0, y0, col)
		c.img.Set(x0, y0+1, col)
		c.img.Set(x0+1, y0, col)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

func (c *canvas) dot(x, y int, col color.Color) {
	for i := -3; i <= 3; i++ {
		for j := -3; j <= 3; j++ {
			if i*i+j*j <= 9 {
				c.img.Set(x+i, y+j, col)
			}
		}
	}
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

func sign(a int) int {
	switch {
	case a > 0:
		return 1
	case a < 0:
		return -1
	}
	return 0
}
