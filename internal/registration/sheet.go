package registration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/qr"
	"github.com/go-pdf/fpdf"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/pdffont"
)

// sheetLanguage is the language of the letters a school sends home.
const sheetLanguage = "ja"

// SheetSchool is the school a code sheet is printed for, as the console loaded it.
type SheetSchool struct {
	BoardID, ID int64
	Name, Phone string
	// Year is the school year whose classes are printed.
	Year int
}

// AuditCodeSheet is the audit log's action for printing code sheets; its detail
// counts the classes, never a code.
const AuditCodeSheet = "class.code_sheet"

// CodeSheets prints the letter a school sends home on the first day, one A4 page per
// class: the class, its registration code, the address of the school's LINE official
// account with its QR code, and how parents register. With classID 0 it prints every
// class of sc.Year that has a code; otherwise that one class. Only those who may see
// the codes (the codes page's administrators) may print them, and printing is
// audited. A class without a code, a school without one, and a LINE channel that is
// not set or does not answer are Invalid with the message to show.
func (s *Service) CodeSheets(ctx context.Context, sc SheetSchool, classID int64) ([]byte, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageStructure, authz.Target{BoardID: sc.BoardID, SchoolID: sc.ID}); err != nil {
		return nil, err
	}
	url, err := s.Friends.FriendURL(ctx, sc.BoardID, sc.ID)
	if err != nil {
		return nil, err
	}
	code, err := qrPNG(url)
	if err != nil {
		return nil, err
	}
	font, err := pdffont.Load(s.FontPath)
	if err != nil {
		return nil, apperr.E(apperr.Internal, "codes.sheet.font", err)
	}
	var out []byte
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		all, err := s.Store.FindClassCodes(ctx, sc.ID, sc.Year)
		if err != nil {
			return err
		}
		var print []ClassCode
		for _, c := range all {
			switch {
			case classID != 0 && c.ClassID != classID:
			case c.Code.Reveal() != "":
				print = append(print, c)
			case classID != 0:
				return apperr.E(apperr.Invalid, "codes.sheet.no_code", errors.New("class without a code"))
			}
		}
		if classID != 0 && len(print) == 0 {
			return apperr.E(apperr.NotFound, "error.not_found.title", errors.New("class of another school or year"))
		}
		if len(print) == 0 {
			return apperr.E(apperr.Invalid, "codes.sheet.none", errors.New("no class has a code"))
		}
		t := func(id string, data map[string]any) string { return s.T(sheetLanguage, id, data) }
		if out, err = codeSheetPDF(t, font, sc, url, code, print); err != nil {
			return err
		}
		ev := audit.Event{Actor: staffActor(a), Action: AuditCodeSheet, ObjectKind: "school", ObjectID: strconv.FormatInt(sc.ID, 10),
			BoardID: sc.BoardID, SchoolID: sc.ID, Detail: map[string]any{"classes": len(print), "year": sc.Year}}
		if classID != 0 {
			ev.ObjectKind, ev.ObjectID = "class", strconv.FormatInt(classID, 10)
		}
		return s.Audit.Record(ctx, ev)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// qrModule is the size of one QR module in the PNG, in pixels, and qrQuiet the white
// border around the code in modules (the standard asks for four).
const (
	qrModule = 8
	qrQuiet  = 4
)

// qrPNG draws text as a QR code (error correction M, which survives a smudged
// photocopy) with its quiet zone, as a black-and-white PNG.
func qrPNG(text string) ([]byte, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("registration: qr code: %w", err)
	}
	n := code.Bounds().Dx()
	size := (n + 2*qrQuiet) * qrModule
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if r, _, _, _ := code.At(x, y).RGBA(); r > 0x7FFF {
				continue // a light module
			}
			for dy := 0; dy < qrModule; dy++ {
				row := ((y+qrQuiet)*qrModule + dy) * img.Stride
				for dx := 0; dx < qrModule; dx++ {
					img.Pix[row+(x+qrQuiet)*qrModule+dx] = 0
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("registration: qr png: %w", err)
	}
	return b.Bytes(), nil
}

// sheetText is the text of one class's page, in the order it is printed; the test
// compares the PDF's extracted text with it.
type sheetText struct {
	School, Title, Greeting, Lead      string
	ClassLabel, Class, CodeLabel, Code string
	StepsTitle                         string
	Steps                              []string
	URLLabel, URL, Search              string
	NotesTitle                         string
	Notes                              []string
}

// sheetOf writes one class's page in the catalogue's words.
func sheetOf(t func(string, map[string]any) string, sc SheetSchool, url string, c ClassCode) sheetText {
	contact := t("codes.sheet.note_contact", nil)
	if sc.Phone != "" {
		contact = t("codes.sheet.note_contact_phone", map[string]any{"Phone": sc.Phone})
	}
	return sheetText{
		School:     sc.Name,
		Title:      t("codes.sheet.title", nil),
		Greeting:   t("codes.sheet.greeting", nil),
		Lead:       t("codes.sheet.lead", map[string]any{"School": sc.Name}),
		ClassLabel: t("codes.sheet.class", nil),
		Class:      c.Label,
		CodeLabel:  t("codes.sheet.code", nil),
		Code:       FormatCode(c.Code.Reveal()),
		StepsTitle: t("codes.sheet.steps", nil),
		Steps: []string{t("codes.sheet.step1", nil), t("codes.sheet.step2", nil),
			t("codes.sheet.step3", nil), t("codes.sheet.step4", nil)},
		URLLabel:   t("codes.sheet.url", nil),
		URL:        url,
		Search:     t("codes.sheet.search", map[string]any{"ID": strings.TrimPrefix(url, line.FriendURLPrefix)}),
		NotesTitle: t("codes.sheet.notes", nil),
		Notes:      []string{t("codes.sheet.note_secret", nil), t("codes.sheet.note_nocode", nil), contact},
	}
}

// codeSheetPDF lays out one A4 page per class.
func codeSheetPDF(t func(string, map[string]any) string, font []byte, sc SheetSchool, url string, qrImage []byte, classes []ClassCode) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("jp", "", font)
	pdf.SetTitle(t("codes.sheet.title", nil), true)
	pdf.SetCreator("renraku", true)
	const left, width = 20.0, 170.0
	pdf.SetMargins(left, 18, left)
	pdf.SetAutoPageBreak(false, 0)
	pdf.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(qrImage))
	// paragraph prints s wrapped at w mm from x, each character kept (pdffont.Wrap).
	paragraph := func(x, w, lineH float64, s string) {
		for _, l := range pdffont.Wrap(pdf, s, w) {
			pdf.SetX(x)
			pdf.CellFormat(w, lineH, l, "", 1, "L", false, 0, "")
		}
	}
	for _, c := range classes {
		p := sheetOf(t, sc, url, c)
		pdf.AddPage()
		pdf.SetFont("jp", "", 10)
		pdf.CellFormat(width, 6, p.School, "", 1, "R", false, 0, "")
		pdf.Ln(2)
		pdf.SetFont("jp", "", 18)
		pdf.CellFormat(width, 11, p.Title, "", 1, "C", false, 0, "")
		pdf.Ln(3)
		pdf.SetFont("jp", "", 11)
		pdf.CellFormat(width, 6.5, p.Greeting, "", 1, "L", false, 0, "")
		paragraph(left, width, 6.5, p.Lead)
		pdf.Ln(4)

		// The class and its code, boxed, large enough to copy without mistakes.
		top := pdf.GetY()
		pdf.SetDrawColor(60, 60, 60)
		pdf.SetLineWidth(0.5)
		pdf.Rect(left, top, width, 30, "D")
		pdf.SetXY(left+6, top+4)
		pdf.SetFont("jp", "", 12)
		pdf.CellFormat(34, 9, p.ClassLabel, "", 0, "L", false, 0, "")
		pdf.SetFont("jp", "", 16)
		pdf.CellFormat(120, 9, p.Class, "", 1, "L", false, 0, "")
		pdf.SetXY(left+6, top+16)
		pdf.SetFont("jp", "", 12)
		pdf.CellFormat(34, 11, p.CodeLabel, "", 0, "L", false, 0, "")
		pdf.SetFont("jp", "", 26)
		pdf.CellFormat(120, 11, p.Code, "", 1, "L", false, 0, "")
		pdf.SetY(top + 36)

		pdf.SetFont("jp", "", 13)
		pdf.CellFormat(width, 8, p.StepsTitle, "", 1, "L", false, 0, "")
		pdf.SetFont("jp", "", 11)
		for i, step := range p.Steps {
			y := pdf.GetY()
			pdf.CellFormat(7, 6.5, strconv.Itoa(i+1)+".", "", 0, "L", false, 0, "")
			pdf.SetY(y)
			paragraph(left+7, width-7, 6.5, step)
			pdf.Ln(1)
		}
		pdf.Ln(3)

		// The QR code beside the address it holds.
		const qrSize = 42.0
		top = pdf.GetY()
		pdf.ImageOptions("qr", left, top, qrSize, qrSize, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		x := left + qrSize + 6
		pdf.SetXY(x, top+4)
		pdf.SetFont("jp", "", 11)
		pdf.CellFormat(width-qrSize-6, 6.5, p.URLLabel, "", 1, "L", false, 0, "")
		pdf.SetX(x)
		pdf.SetFont("jp", "", 13)
		pdf.CellFormat(width-qrSize-6, 8, p.URL, "", 1, "L", false, 0, p.URL)
		pdf.Ln(1)
		pdf.SetFont("jp", "", 10)
		paragraph(x, width-qrSize-6, 5.5, p.Search)
		pdf.SetY(max(pdf.GetY(), top+qrSize) + 5)

		pdf.SetFont("jp", "", 13)
		pdf.CellFormat(width, 8, p.NotesTitle, "", 1, "L", false, 0, "")
		pdf.SetFont("jp", "", 10)
		for _, n := range p.Notes {
			y := pdf.GetY()
			pdf.CellFormat(5, 5.5, "・", "", 0, "L", false, 0, "")
			pdf.SetY(y)
			paragraph(left+5, width-5, 5.5, n)
			pdf.Ln(1)
		}
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("registration: code sheet: %w", err)
	}
	return out.Bytes(), nil
}
