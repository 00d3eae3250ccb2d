// Package pdffont finds the Japanese TrueType font renraku prints PDFs with (the
// certificate of deletion, the monthly report).
package pdffont

import (
	"errors"
	"os"
	"strings"

	"github.com/go-pdf/fpdf"
)

// paths are where Debian's Japanese fonts live (fonts-ipafont-gothic; the container
// image copies IPA Gothic to the first).
var paths = []string{
	"/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
	"/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
	"/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
}

// ErrNoFont is returned when no Japanese font is found.
var ErrNoFont = errors.New("pdffont: no Japanese TrueType font (install fonts-ipafont-gothic or set RENRAKU_PDF_FONT)")

// Load reads the font at path, or the first of Debian's that exists when path is "".
func Load(path string) ([]byte, error) {
	try := paths
	if path != "" {
		try = []string{path}
	}
	for _, p := range try {
		if b, err := os.ReadFile(p); err == nil {
			return b, nil
		}
	}
	return nil, ErrNoFont
}

// Fit shortens s with an ellipsis until it fits width (mm) in pdf's current font.
func Fit(pdf *fpdf.Fpdf, s string, width float64) string {
	r := []rune(s)
	if pdf.GetStringWidth(s) <= width {
		return s
	}
	for len(r) > 1 && pdf.GetStringWidth(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// noLineStart are characters Japanese typesetting never begins a line with (行頭禁則):
// closing brackets and punctuation, the prolonged sound mark and small kana. Wrap keeps
// them at the end of the line before, a little past the width if need be.
const noLineStart = "、。，．・：；？！）」』】〕〉》］｝〟ー…‥ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ,.:;?!)]}%"

// Wrap breaks s into lines no wider than width (mm) in pdf's current font, keeping
// every character (fpdf's own MultiCell loses one at each break in text without
// spaces, as Japanese is). Lines break between any two characters, except before a
// character of noLineStart and inside a run of ASCII letters and digits that fits on a
// line; a newline in s always breaks.
func Wrap(pdf *fpdf.Fpdf, s string, width float64) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, wrapLine(pdf, []rune(para), width)...)
	}
	return out
}

func wrapLine(pdf *fpdf.Fpdf, r []rune, width float64) []string {
	var out []string
	for len(r) > 0 {
		n := 1
		for n < len(r) && pdf.GetStringWidth(string(r[:n+1])) <= width {
			n++
		}
		if n < len(r) {
			// Keep an ASCII word ("2026/12/06", "09:30") whole when it can start a line.
			if k := n; word(r[k]) && word(r[k-1]) {
				for k > 0 && word(r[k-1]) {
					k--
				}
				if k > 0 {
					n = k
				}
			}
			// Never end a line with an opening bracket (行末禁則).
			for n > 1 && strings.ContainsRune(noLineEnd, r[n-1]) {
				n--
			}
			for n < len(r) && strings.ContainsRune(noLineStart, r[n]) {
				n++
			}
		}
		out = append(out, strings.TrimRight(string(r[:n]), " "))
		r = r[n:]
		for len(r) > 0 && r[0] == ' ' {
			r = r[1:]
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

// noLineEnd are the opening brackets a line never ends with (行末禁則).
const noLineEnd = "（「『【〔〈《［｛〝([{"

// word reports whether c belongs to an ASCII word: printable and not a space.
func word(c rune) bool { return c > ' ' && c < 0x7f }
