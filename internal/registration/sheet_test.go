package registration

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/pdffont"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/web"
)

// decodeQR reads the QR code in img.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("no QR code read: %v", err)
	}
	return res.GetText()
}

func TestQRCodeHoldsTheAddress(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"https://line.me/R/ti/p/@123abcd", "https://line.me/R/ti/p/@a-very.long_premium-id-of-a-school"} {
		b, err := qrPNG(url)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeQR(t, img); got != url {
			t.Errorf("QR code reads %q, want %q", got, url)
		}
	}
}

// printed is a page's text in the order it is drawn.
func (p sheetText) printed() string {
	parts := []string{p.School, p.Title, p.Greeting, p.Lead, p.ClassLabel, p.Class, p.CodeLabel, p.Code, p.StepsTitle}
	for i, s := range p.Steps {
		parts = append(parts, strconv.Itoa(i+1)+".", s)
	}
	parts = append(parts, p.URLLabel, p.URL, p.Search, p.NotesTitle)
	for _, n := range p.Notes {
		parts = append(parts, "・", n)
	}
	return strings.Join(parts, "")
}

// TestCodeSheetKeepsEveryCharacter: the letter parents take home holds, on one page
// per class, every character of what the catalogue says (no character lost where a
// line wraps), the class, its code and the address, and its QR code reads as the
// address.
func TestCodeSheetKeepsEveryCharacter(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run `make test`, which installs poppler-utils", tool)
		}
	}
	font, err := pdffont.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	loc := cat.Localizer("ja")
	tr := func(id string, data map[string]any) string { return loc.T(id, data) }
	const url = "https://line.me/R/ti/p/@123abcd"
	sc := SheetSchool{BoardID: 1, ID: 2, Name: "さくら市立ひがしやま第二小学校", Phone: "0123-45-6789", Year: 2026}
	classes := []ClassCode{
		{ClassID: 11, Label: "1年1組", Code: vault.Personal("K7M2P9QX")},
		{ClassID: 12, Label: "6年ひまわり組", Code: vault.Personal("ABCD2345")},
	}
	code, err := qrPNG(url)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := codeSheetPDF(tr, font, sc, url, code, classes)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sheets.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-raw", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	pages := strings.Split(strings.TrimSuffix(string(out), "\f"), "\f")
	if len(pages) != len(classes) {
		t.Fatalf("%d pages, want one per class (%d)", len(pages), len(classes))
	}
	for i, c := range classes {
		want := sheetOf(tr, sc, url, c)
		if got := squeeze(pages[i]); got != squeeze(want.printed()) {
			t.Errorf("page %d reads\n%s\nwant\n%s", i+1, got, squeeze(want.printed()))
		}
		for _, s := range []string{c.Label, FormatCode(c.Code.Reveal()), url, "電話 0123-45-6789", "@123abcd", sc.Name} {
			if !strings.Contains(pages[i], s) {
				t.Errorf("page %d lacks %q", i+1, s)
			}
		}
	}
	if b, err := exec.Command("pdftoppm", "-png", "-r", "150", "-f", "2", "-l", "2", "-singlefile", path, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQR(t, img); got != url {
		t.Errorf("the printed QR code reads %q, want %q", got, url)
	}
	if d := os.Getenv("RENRAKU_SCREENSHOT_DIR"); d != "" {
		if err := os.WriteFile(filepath.Join(d, "code-sheet.pdf"), pdf, 0o644); err != nil {
			t.Fatalf("keeping the code sheet in RENRAKU_SCREENSHOT_DIR: %v", err)
		}
	}
}

// squeeze removes all white space, so text wrapped over lines compares whole.
func squeeze(s string) string {
	return strings.Join(strings.Fields(s), "")
}
