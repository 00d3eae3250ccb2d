package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/web/view"
)

func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.Registration.Queue(r.Context())
	if err != nil && apperr.KindOf(err) != apperr.Forbidden {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	var items []view.Approval
	for _, q := range list {
		a := view.Approval{ID: strconv.FormatInt(q.GuardianshipID, 10), Guardian: q.GuardianName.Reveal(),
			Relationship: loc.T("reg.relationship." + q.Relationship.Reveal()), Child: q.ChildName.Reveal(), Class: q.ClassLabel,
			At: dateTime(loc, q.CreatedAt), HasGuardian: q.HasGuardian, Disputed: q.Disputed}
		if nick := q.Nickname.Reveal(); nick != a.Guardian {
			a.Nickname = nick
		}
		items = append(items, a)
	}
	if err != nil {
		// No class of one's own: the queue is empty, not an error page.
		items = nil
	}
	s.render(w, r, http.StatusOK, view.Approvals(s.page(r, "queue.title"), items))
}

func (s *Server) decide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := idParam(r, "guardianshipID")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if _, err := s.Registration.Decide(r.Context(), id, approve); err != nil {
			if apperr.KindOf(err) != apperr.Conflict {
				s.fail(w, r, err)
				return
			}
		}
		if approve {
			s.flash(r, "queue.approved")
		} else {
			s.flash(r, "queue.rejected")
		}
		seeOther(w, r, "/staff/approvals")
	}
}

func (s *Server) codesPage(w http.ResponseWriter, r *http.Request) {
	s.showCodes(w, r, "", http.StatusOK)
}

// showCodes renders the codes page, with problem (a message ID) when a code sheet
// could not be printed.
func (s *Server) showCodes(w http.ResponseWriter, r *http.Request, problem string, status int) {
	sc, head, err := s.schoolHead(r, view.TabCodes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	codes, err := s.Registration.Codes(r.Context(), sc.BoardID, sc.ID, sc.CurrentYear)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := view.CodesPage{Head: head}
	if problem != "" {
		v.Error = localizer(r).T(problem)
	}
	for _, c := range codes {
		v.Rows = append(v.Rows, view.CodeRow{ClassID: strconv.FormatInt(c.ClassID, 10), Label: c.Label, Code: registration.FormatCode(c.Code.Reveal())})
	}
	s.render(w, r, status, view.Codes(s.page(r, "codes.title"), v))
}

// codeSheets sends the letters parents get on the first day, one A4 page per class:
// every class's, or with ?class= one class's. A refusal the administrator can act on
// (no code yet, no LINE channel, LINE not answering) shows the codes page with it.
func (s *Server) codeSheets(w http.ResponseWriter, r *http.Request) {
	sc, _, err := s.schoolHead(r, view.TabCodes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var classID int64
	if v := r.URL.Query().Get("class"); v != "" {
		if classID, err = strconv.ParseInt(v, 10, 64); err != nil || classID <= 0 {
			s.fail(w, r, apperr.E(apperr.NotFound, "error.not_found.title", errors.New("bad class")))
			return
		}
	}
	pdf, err := s.Registration.CodeSheets(r.Context(), registration.SheetSchool{BoardID: sc.BoardID, ID: sc.ID,
		Name: sc.Name, Phone: sc.Phone, Year: sc.CurrentYear}, classID)
	switch {
	case apperr.KindOf(err) == apperr.Invalid:
		s.showCodes(w, r, apperr.MessageIDOf(err), http.StatusUnprocessableEntity)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	name := "登録のお願い_" + sc.Name + ".pdf"
	if classID != 0 {
		name = "登録のお願い_" + sc.Name + "_" + strconv.FormatInt(classID, 10) + ".pdf"
	}
	servePDF(w, name, pdf)
}

func (s *Server) newCode(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "classID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sc, err := s.Registration.RenewClassCode(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, schoolURL(sc.ID, "/codes"))
}
