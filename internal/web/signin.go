package web

import (
	"encoding/base64"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/web/view"
)

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if authz.ActorFrom(r.Context()) != nil {
		http.Redirect(w, r, "/staff/", http.StatusSeeOther)
		return
	}
	p := s.page(r, "signin.title")
	s.render(w, r, http.StatusOK, view.SignIn(p, view.Form{}, safeNext(r.URL.Query().Get("next"))))
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "login")
	next := safeNext(r.PostFormValue("next"))
	res, err := s.Staff.PasswordSignIn(r.Context(), r.PostFormValue("login"), r.PostFormValue("password"), s.clientOf(r))
	if err != nil {
		status := http.StatusUnprocessableEntity
		switch apperr.KindOf(err) {
		case apperr.Invalid:
		case apperr.Forbidden:
			status = http.StatusTooManyRequests
		default:
			s.fail(w, r, err)
			return
		}
		f.Message = localizer(r).T(apperr.MessageIDOf(err))
		s.render(w, r, status, view.SignIn(s.page(r, "signin.title"), f, next))
		return
	}
	if err := s.beginSession(r.Context(), res); err != nil {
		s.fail(w, r, err)
		return
	}
	s.Sessions.Put(r.Context(), "next", next)
	s.continueSignIn(w, r, res.Stage)
}

func (s *Server) continueSignIn(w http.ResponseWriter, r *http.Request, stage staff.Stage) {
	switch stage {
	case staff.StageSecondFactor:
		http.Redirect(w, r, "/staff/login/code", http.StatusSeeOther)
	case staff.StageEnrol:
		http.Redirect(w, r, "/staff/totp", http.StatusSeeOther)
	default:
		http.Redirect(w, r, safeNext(s.Sessions.PopString(r.Context(), "next")), http.StatusSeeOther)
	}
}

// pendingStaff is the account a half-finished sign-in is for, at the given stage.
func (s *Server) pendingStaff(r *http.Request, stage staff.Stage) int64 {
	if s.Sessions.GetString(r.Context(), sessStage) != string(stage) {
		return 0
	}
	return s.Sessions.GetInt64(r.Context(), sessStaff)
}

func (s *Server) codePage(w http.ResponseWriter, r *http.Request) {
	if s.pendingStaff(r, staff.StageSecondFactor) == 0 {
		http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, view.SecondFactor(s.page(r, "totp.title"), view.Form{}))
}

func (s *Server) code(w http.ResponseWriter, r *http.Request) {
	id := s.pendingStaff(r, staff.StageSecondFactor)
	if id == 0 {
		http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
		return
	}
	res, err := s.Staff.SecondFactor(r.Context(), id, r.PostFormValue("code"), s.clientOf(r))
	if err != nil {
		f := view.Form{}
		if !formFailed(r, &f, err) {
			if apperr.KindOf(err) != apperr.Forbidden {
				s.fail(w, r, err)
				return
			}
			f.Message = localizer(r).T(apperr.MessageIDOf(err))
		}
		s.render(w, r, http.StatusUnprocessableEntity, view.SecondFactor(s.page(r, "totp.title"), f))
		return
	}
	next := s.Sessions.GetString(r.Context(), "next")
	if err := s.beginSession(r.Context(), res); err != nil {
		s.fail(w, r, err)
		return
	}
	s.Sessions.Put(r.Context(), "next", next)
	s.continueSignIn(w, r, res.Stage)
}

// enrolStaff is the account enrolling a second factor: one signing in at StageEnrol,
// or a signed-in person setting up or replacing theirs.
func (s *Server) enrolStaff(r *http.Request) (id int64, required bool) {
	if a := authz.ActorFrom(r.Context()); a != nil {
		return a.StaffID, false
	}
	return s.pendingStaff(r, staff.StageEnrol), true
}

func (s *Server) enrolPage(w http.ResponseWriter, r *http.Request) {
	id, required := s.enrolStaff(r)
	if id == 0 {
		http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
		return
	}
	enr, err := s.Staff.BeginEnrolment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderEnrol(w, r, enr, required, view.Form{}, http.StatusOK)
}

// renderEnrol shows a new second factor's QR code and secret with the form that
// confirms it.
func (s *Server) renderEnrol(w http.ResponseWriter, r *http.Request, enr credential.Enrolment, required bool, f view.Form, status int) {
	qr := "data:image/png;base64," + base64.StdEncoding.EncodeToString(enr.QRPNG)
	s.render(w, r, status, view.Enrol(s.page(r, "enrol.title"), f, qr, enr.Secret, required))
}

func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	id, required := s.enrolStaff(r)
	if id == 0 {
		http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
		return
	}
	done, err := s.Staff.ConfirmEnrolment(r.Context(), id, r.PostFormValue("code"), r.PostFormValue("current"), required, s.clientOf(r))
	if err != nil {
		f := view.Form{}
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.renderEnrol(w, r, done.Retry, required, f, http.StatusUnprocessableEntity)
		return
	}
	if done.SignIn != nil {
		if err := s.beginSession(r.Context(), *done.SignIn); err != nil {
			s.fail(w, r, err)
			return
		}
		r = r.WithContext(authz.WithActor(r.Context(), done.Actor))
	}
	s.render(w, r, http.StatusOK, view.RecoveryCodes(s.page(r, "recovery.title"), done.Codes))
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	_ = s.Staff.SignedOut(r.Context(), authz.ActorFrom(r.Context()), s.clientOf(r))
	s.endSession(r.Context())
	s.flash(r, "signin.signed_out")
	http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
}

func (s *Server) welcomePage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	if err := s.Staff.WelcomeValid(r.Context(), token); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.Welcome(s.page(r, "welcome.title"), view.Form{}, staff.WelcomePath(token)))
}

func (s *Server) welcome(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	_, err := s.Staff.SetPasswordFromLink(r.Context(), token, r.PostFormValue("password"), r.PostFormValue("confirm"), s.clientOf(r))
	if err != nil {
		f := view.Form{}
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, view.Welcome(s.page(r, "welcome.title"), f, staff.WelcomePath(token)))
		return
	}
	s.endSession(r.Context())
	s.flash(r, "welcome.done")
	http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
}
