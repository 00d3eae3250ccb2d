package survey

// A question's chart is drawn on the server as SVG (no script library): one row per
// bar, the label on the left, the bar scaled to the share of the answers on a grey
// track, the count and percentage after the track. These are its measures in SVG user units.
const (
	ChartWidth      = 600
	chartLabelRight = 150 // the labels end here (text-anchor end)
	chartBarLeft    = 160
	chartBarMax     = 300
	chartRow        = 30
	chartBarHeight  = 20
	chartLabelRunes = 12
)

// ChartBar is a bar laid out: its row's top (Y), the bar's width, where the texts sit.
type ChartBar struct {
	Bar
	// Short is the label cut to fit its column (the full one is the title).
	Short        string
	Y, Width     int
	TextY        int
	LabelX, BarX int
	CountX       int
	BarHeight    int
}

// Chart is a question's bars laid out for an SVG of Width × Height.
type Chart struct {
	Width, Height int
	Bars          []ChartBar
}

// LayOut places bars in rows; a bar's length is its percentage of the longest
// possible bar (100 %), so charts of one survey compare.
func LayOut(bars []Bar) Chart {
	c := Chart{Width: ChartWidth, Height: len(bars)*chartRow + 4}
	for i, b := range bars {
		w := b.Percent * chartBarMax / 100
		if b.Count > 0 && w < 2 {
			w = 2
		}
		short := b.Label
		if r := []rune(short); len(r) > chartLabelRunes {
			short = string(r[:chartLabelRunes-1]) + "…"
		}
		y := i*chartRow + 4
		c.Bars = append(c.Bars, ChartBar{Bar: b, Short: short, Y: y, Width: w, TextY: y + chartBarHeight - 5,
			LabelX: chartLabelRight, BarX: chartBarLeft, CountX: chartBarLeft + chartBarMax + 8, BarHeight: chartBarHeight})
	}
	return c
}
