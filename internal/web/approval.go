package web

import (
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
	var rows []view.CodeRow
	for _, c := range codes {
		rows = append(rows, view.CodeRow{ClassID: strconv.FormatInt(c.ClassID, 10), Label: c.Label, Code: registration.FormatCode(c.Code.Reveal())})
	}
	s.render(w, r, http.StatusOK, view.Codes(s.page(r, "codes.title"), head, rows))
}

func (s *Server) newCode(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "classID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, sc, err := s.Schools.ClassForConsole(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Registration.NewCode(r.Context(), sc.BoardID, sc.ID, c.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, schoolURL(sc.ID, "/codes"))
}
