package dashboard

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/almaalouma/nashra/templates"
)

// Charts are drawn on the server as SVG: nothing is fetched at run time,
// they read right to left (time runs from the right, oldest first; bars
// grow leftwards from their labels), every mark carries its value in a
// <title>, and the chart is an image with a title and a description for
// screen readers. Numbers are Western digits, as the site writes them.

// series is one set of values of a chart, one value per label.
type series struct {
	Name, Color string
	Values      []int
	// Down draws the series below the axis (leaves under joins).
	Down bool
}

// Chart colours, dark enough against white for the marks to read.
const (
	colJoin  = "#2e7d32"
	colLeave = "#c62828"
	colBlue  = "#1565c0"
	colAmber = "#a65c00"
	colGrey  = "#616161"
)

// columnChart draws a value per label for each series, stacked, labels
// from right (first) to left (last).
type columnChart struct {
	ID, Title, Desc string
	Labels          []string
	Series          []series
}

// The charts' drawing units: a phone shows them at about three quarters of
// their size, a desktop at one and a half (see svg.chart in the layout).
const (
	chartW     = 480
	chartH     = 200
	chartRight = 44 // the value axis, on the right
	chartLeft  = 6
	chartTop   = 12
	chartBot   = 26 // the labels
)

func (c columnChart) SVG() template.HTML {
	n := len(c.Labels)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" data-marks="%d">`,
		c.ID, chartW, chartH, c.ID, c.ID, c.marks())
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, c.ID, esc(c.Title), c.ID, esc(c.Desc))
	if n == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	up, down := 0, 0
	for i := range n {
		u, d := 0, 0
		for _, s := range c.Series {
			if s.Down {
				d += s.Values[i]
			} else {
				u += s.Values[i]
			}
		}
		up, down = max(up, u), max(down, d)
	}
	span := max(up+down, 1)
	plotH := float64(chartH - chartTop - chartBot)
	zero := float64(chartTop) + plotH*float64(up)/float64(span)
	if up+down == 0 {
		zero = float64(chartH - chartBot)
	}
	plotW := float64(chartW - chartRight - chartLeft)
	step := plotW / float64(n)
	barW := max(step*0.72, 1)
	scale := plotH / float64(span)
	// The axis and its values, on the right.
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#777" stroke-width="1"/>`, chartLeft, chartW-chartRight, zero, zero)
	axis := func(v int, y float64) {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" direction="ltr" text-anchor="start">%s</text>`, chartW-chartRight+4, y+4, num(v))
	}
	axis(0, zero)
	if up > 0 {
		axis(up, float64(chartTop))
	}
	if down > 0 {
		axis(-down, float64(chartH-chartBot))
	}
	every := max(1, (n+7)/8)
	for i, label := range c.Labels {
		x := float64(chartW-chartRight) - step*float64(i+1) + (step-barW)/2
		yUp, yDown := zero, zero
		for _, s := range c.Series {
			v := s.Values[i]
			h := float64(v) * scale
			var y float64
			if s.Down {
				y = yDown
				yDown += h
			} else {
				yUp -= h
				y = yUp
			}
			fmt.Fprintf(&b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-v="%d"><title>%s — %s: %s</title></rect>`,
				x, y, barW, h, s.Color, v, esc(label), esc(s.Name), num(v))
		}
		// Every few labels, and the last (today) unless it would meet
		// the one before it.
		if i%every == 0 && n-1-i >= every/2+1 || i == n-1 {
			// The labels at either end stay within the chart.
			anchor, at := "middle", x+barW/2
			switch {
			case i == n-1 && n > 1:
				anchor, at = "start", x
			case i == 0 && n > 1:
				anchor, at = "end", x+barW
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" direction="ltr">%s</text>`, at, chartH-8, anchor, esc(label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// marks counts the marks with a value, for the page and its tests.
func (c columnChart) marks() int {
	n := 0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v != 0 {
				n++
			}
		}
	}
	return n
}

// Legend lists the series with their colours.
func (c columnChart) Legend() []series { return c.Series }

// bar is one labelled value of a barChart.
type bar struct {
	Label string
	Value int
	// Note is shown after the value ("من 12 قناة").
	Note string
}

// barChart draws one horizontal bar per label, the labels on the right
// and the bars growing leftwards.
type barChart struct {
	ID, Title, Desc string
	Color           string
	Bars            []bar
}

const (
	barRow    = 30
	barLabelW = 150
	barValueW = 120
)

func (c barChart) SVG() template.HTML {
	h := max(len(c.Bars)*barRow+10, 40)
	marks := 0
	top := 0
	for _, br := range c.Bars {
		top = max(top, br.Value)
		if br.Value != 0 {
			marks++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" data-marks="%d">`,
		c.ID, chartW, h, c.ID, c.ID, marks)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, c.ID, esc(c.Title), c.ID, esc(c.Desc))
	plotW := float64(chartW - barLabelW - barValueW)
	for i, br := range c.Bars {
		y := float64(i*barRow + 6)
		w := 0.0
		if top > 0 {
			w = plotW * float64(br.Value) / float64(top)
		}
		right := float64(chartW - barLabelW)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="start" direction="rtl">%s</text>`, chartW-4, y+15, esc(br.Label))
		fmt.Fprintf(&b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s" data-v="%d"><title>%s: %s</title></rect>`,
			right-w, y, w, barRow-10, c.Color, br.Value, esc(br.Label), num(br.Value))
		value := num(br.Value)
		if br.Note != "" {
			value += " " + br.Note
		}
		// Right to left, the start of a text is its right end.
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="start" direction="rtl">%s</text>`, right-w-6, y+15, esc(value))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// num writes an integer as the site does.
func num(n int) string { return templates.Number(n) }
