// plot.go: the scaling plot, a hand-written SVG (standard library only): cost
// per operation (Add+Delete churn, spawn) against resident children, log
// scale on x, one line per contender.

package main

import (
	"fmt"
	"math"
	"strings"
)

// Plot geometry, in SVG user units.
const (
	plotW, plotH   = 1000, 440 // whole picture
	panelW, panelH = 390, 300  // the data area of one panel
	panelTop       = 80
	panelLeft      = 90 // left edge of the first panel's data area
	panelGap       = 110
)

// series is one contender's line in the plot.
type series struct {
	who, label, colour, dash string
}

var plotSeries = []series{
	{"arbor", "arbor", "#1f5fbf", ""},
	{"suture", "suture v4", "#d9541e", "8 4"},
	{"bare", "bare goroutines", "#2a9d3a", "2 4"},
}

// scalingPlot draws churn and spawn cost per operation (medians) against
// the populations in sizes.
func scalingPlot(res results, sizes []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">`+"\n",
		plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="24" text-anchor="middle" font-size="17" font-weight="bold">Cost per operation against resident children (medians over the rounds; lower is better)</text>`+"\n", plotW/2)
	legend(&b)
	panel(&b, res, sizes, mChurn, "Add+Delete churn, per pair", panelLeft)
	panel(&b, res, sizes, mSpawn, "spawn, per child", panelLeft+panelW+panelGap)
	b.WriteString("</svg>\n")
	return b.String()
}

// legend draws one entry per contender, in a row under the title.
func legend(b *strings.Builder) {
	x := plotW/2 - 230
	for _, s := range plotSeries {
		fmt.Fprintf(b, `<line x1="%d" y1="46" x2="%d" y2="46" stroke="%s" stroke-width="3" stroke-dasharray="%s"/>`, x, x+36, s.colour, s.dash)
		fmt.Fprintf(b, `<circle cx="%d" cy="46" r="4" fill="%s"/>`, x+18, s.colour)
		fmt.Fprintf(b, `<text x="%d" y="51">%s</text>`+"\n", x+44, s.label)
		x += 170
	}
}

// panel draws the axes, ticks and lines of one metric, its data area's
// left edge at left.
func panel(b *strings.Builder, res results, sizes []int, metric, title string, left int) {
	top, bottom, right := float64(panelTop), float64(panelTop+panelH), float64(left+panelW)
	lo := math.Pow(10, math.Floor(math.Log10(float64(sizes[0]))))
	hi := math.Pow(10, math.Ceil(math.Log10(float64(sizes[len(sizes)-1]))))
	xOf := func(n float64) float64 {
		return float64(left) + (math.Log10(n)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*panelW
	}
	ymax := 0.0
	for _, s := range plotSeries {
		for _, n := range sizes {
			ymax = math.Max(ymax, median(res[key(metric, n)][s.who]))
		}
	}
	step := niceStep(ymax / 5)
	ymax = step * math.Ceil(ymax/step)
	if ymax == 0 {
		ymax, step = 1, 1
	}
	yOf := func(v float64) float64 { return bottom - v/ymax*panelH }

	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n",
		float64(left)+panelW/2, top-12, title)
	for v := 0.0; v <= ymax+step/2; v += step { // y grid and tick labels
		y := yOf(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`, left, y, right, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, tick(v))
	}
	for d := lo; d <= hi*1.001; d *= 10 { // x decades (labelled) and minor ticks
		x := xOf(d)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ccc"/>`, x, top, x, bottom)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="black"/>`, x, bottom, x, bottom+6)
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", x, bottom+20, count(d))
		for m := 2.0; m < 10 && d < hi; m++ {
			x := xOf(d * m)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="black"/>`, x, bottom, x, bottom+3)
		}
	}
	fmt.Fprintf(b, `<rect x="%d" y="%.0f" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", left, top, panelW, panelH)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">resident children (log scale)</text>`+"\n", float64(left)+panelW/2, bottom+42)
	fmt.Fprintf(b, `<text transform="translate(%d %.0f) rotate(-90)" text-anchor="middle">time per operation</text>`+"\n", left-62, top+panelH/2)
	for _, s := range plotSeries {
		line(b, s, res, sizes, metric, xOf, yOf)
	}
}

// line draws one contender's points, joined, each with its value as a
// tooltip.
func line(b *strings.Builder, s series, res results, sizes []int, metric string, xOf, yOf func(float64) float64) {
	var pts []string
	for _, n := range sizes {
		v := median(res[key(metric, n)][s.who])
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(float64(n)), yOf(v)))
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/>`+"\n",
		strings.Join(pts, " "), s.colour, s.dash)
	for i, n := range sizes {
		v := median(res[key(metric, n)][s.who])
		xy := strings.Split(pts[i], ",")
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="4" fill="%s"><title>%s, %s children: %s</title></circle>`+"\n",
			xy[0], xy[1], s.colour, s.label, count(float64(n)), num(v, unitNs))
	}
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// tick writes a time axis label: 0, 500 ns, 1.5 µs.
func tick(ns float64) string {
	switch {
	case ns == 0:
		return "0"
	case ns >= 1e3:
		return fmt.Sprintf("%g µs", ns/1e3)
	default:
		return fmt.Sprintf("%g ns", ns)
	}
}

// count writes a population the short way: 1k, 100k, 1M.
func count(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%gM", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%gk", n/1e3)
	default:
		return fmt.Sprintf("%g", n)
	}
}
