package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/web/view"
	"strconv"
)

// maxCSVBytes bounds a CSV upload.
const maxCSVBytes = roster.MaxFileBytes

// rosterView is the roster tab of the school p names.
func rosterView(r *http.Request, p roster.Page) view.RosterPage {
	loc := localizer(r)
	v := view.RosterPage{Head: view.SchoolHead{ID: p.School.ID, Name: p.School.Name, Tab: view.TabRoster}, Year: p.Year}
	for _, k := range roster.Kinds {
		v.Kinds = append(v.Kinds, view.Option{Value: string(k), Label: loc.T(k.MessageID())})
	}
	for _, e := range roster.Encodings {
		v.Encodings = append(v.Encodings, view.Option{Value: string(e), Label: loc.T(roster.EncodingMessageID(e))})
	}
	return v
}

func (s *Server) rosterPage(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.Roster.Open(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.Roster(s.page(r, "admin.tab.roster"), rosterView(r, p)))
}

// rowErrorText is one bad line as the page lists it: 「3行目（学年）: …」.
func rowErrorText(r *http.Request, e roster.RowError) string {
	loc := localizer(r)
	msg := loc.T(e.MessageID, e.Args)
	switch {
	case e.Line > 0 && e.Column != "":
		return loc.T("roster.page.line_column", map[string]any{"Line": e.Line, "Column": e.Column}) + msg
	case e.Line > 0:
		return loc.T("roster.page.line", map[string]any{"Line": e.Line}) + msg
	}
	return msg
}

// rosterImport checks an uploaded file and either imports it or, with mode=preview,
// shows what importing it would do, line by line, with a button that posts the same
// file again (as content) to import it.
func (s *Server) rosterImport(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	kind := roster.Kind(r.FormValue("kind"))
	data, err := uploadedCSV(r)
	var tooBig *http.MaxBytesError
	up := roster.Upload{Kind: kind, File: data, TooBig: errors.As(err, &tooBig), Preview: r.FormValue("mode") == "preview"}
	if err != nil {
		up.File = nil // unreadable: no file
	}
	p, res, err := s.Roster.Send(r.Context(), id, up)
	if err != nil && (apperr.KindOf(err) != apperr.Invalid || p.School.ID == 0) {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	v := rosterView(r, p)
	v.ImportKind = string(kind)
	if err != nil {
		v.RowErrors = []string{loc.T(apperr.MessageIDOf(err))}
	}
	for _, e := range res.Errors {
		v.RowErrors = append(v.RowErrors, rowErrorText(r, e))
	}
	if len(v.RowErrors) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, view.Roster(s.page(r, "admin.tab.roster"), v))
		return
	}
	v.Columns = res.Columns
	tally := map[roster.Outcome]int{}
	for _, l := range res.Lines {
		tally[l.Outcome]++
		line := view.ImportLine{Line: l.Line, Cells: l.Cells, Outcome: string(l.Outcome), OutcomeLabel: loc.T(l.Outcome.MessageID())}
		for _, c := range l.Changes {
			line.Changes = append(line.Changes, loc.T("roster.page.change", map[string]any{"Column": c.Column, "From": c.From, "To": c.To}))
		}
		v.Lines = append(v.Lines, line)
	}
	v.Summary = loc.T("roster.page.summary", map[string]any{"New": tally[roster.OutcomeNew], "Update": tally[roster.OutcomeUpdate], "Same": tally[roster.OutcomeSame]})
	if up.Preview {
		v.Preview = true
		v.Content = base64.StdEncoding.EncodeToString(data)
		s.render(w, r, http.StatusOK, view.Roster(s.page(r, "admin.tab.roster"), v))
		return
	}
	v.Imported = loc.T("roster.page.imported", map[string]any{"Rows": res.Rows})
	if res.Updated > 0 || res.Unchanged > 0 {
		v.Imported = loc.T("roster.page.imported_enrolment", map[string]any{"Created": res.Rows, "Updated": res.Updated, "Unchanged": res.Unchanged})
	}
	for _, inv := range res.Invites {
		v.Invites = append(v.Invites, view.Invite{Name: inv.Staff.Name.Reveal(), Login: inv.Staff.Login.Reveal(),
			URL: s.absoluteURL(staff.WelcomePath(inv.Token)), Expires: inv.Expires.In(school.Tokyo)})
	}
	s.render(w, r, http.StatusOK, view.Roster(s.page(r, "admin.tab.roster"), v))
}

// uploadedCSV reads the import form's file: the chosen file, or the content of a
// previewed one posted again (base64) by the preview's import button.
func uploadedCSV(r *http.Request) ([]byte, error) {
	if content := r.FormValue("content"); content != "" {
		if base64.StdEncoding.DecodedLen(len(content)) > maxCSVBytes+3 {
			return nil, &http.MaxBytesError{Limit: maxCSVBytes}
		}
		return base64.StdEncoding.DecodeString(content)
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(io.LimitReader(file, maxCSVBytes+1))
}

// rosterTemplate sends a template for a kind of roster file in the chosen encoding.
func (s *Server) rosterTemplate(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	kind, enc := roster.Kind(q.Get("kind")), roster.Encoding(q.Get("encoding"))
	if !enc.Valid() {
		enc = roster.UTF8BOM
	}
	f, err := s.Roster.Template(r.Context(), id, kind, enc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sendCSV(w, r, fmt.Sprintf("template-%s.csv", kind), f)
}

func (s *Server) rosterExport(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	year, err := school.ParseYear(q.Get("year"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	kind, enc := roster.Kind(q.Get("kind")), roster.Encoding(q.Get("encoding"))
	if !enc.Valid() {
		enc = roster.UTF8BOM
	}
	f, err := s.Roster.Export(r.Context(), id, kind, year, enc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sendCSV(w, r, fmt.Sprintf("%s-%d-%d.csv", kind, id, year), f)
}

// SubstitutedHeader names the response header that counts the characters of a
// Shift_JIS download that the encoding lacked and csvexport wrote as 〓.
const SubstitutedHeader = "X-Renraku-Substituted"

// sendCSV sends an encoded CSV file as a download; it is never cached. When Shift_JIS
// could not hold some characters, the response says how many in SubstitutedHeader and
// the next page the person opens tells them, with the way to keep them (UTF-8).
func (s *Server) sendCSV(w http.ResponseWriter, r *http.Request, filename string, f csvexport.File) {
	w.Header().Set("Content-Type", "text/csv; charset="+f.Encoding.Charset())
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	if f.Substituted > 0 {
		w.Header().Set(SubstitutedHeader, strconv.Itoa(f.Substituted))
		s.flashCount(r, "export.substituted", f.Substituted)
	}
	_, _ = w.Write(f.Data)
}
