// Package pdffont finds the Japanese TrueType font renraku prints PDFs with (the
// certificate of deletion, the monthly report).
package pdffont

import (
	"errors"
	"os"

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
