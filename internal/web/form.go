package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/usertext"
	"github.com/renraku/renraku/web/view"
)

// maxFormBytes bounds every request body but those of the routes in largeBodies.
const maxFormBytes = 64 << 10

// formOf reads the named fields of a posted form, trimmed and without invisible
// format characters (textValue), so a re-rendered form shows what the person typed.
// Passwords and secrets are taken exactly as typed and never echoed back.
func formOf(r *http.Request, names ...string) view.Form {
	f := view.Form{Values: map[string]string{}}
	for _, n := range names {
		v := r.PostFormValue(n)
		if n != "password" && n != "confirm" && n != "current" && n != "secret" && n != "token" {
			v = strings.TrimSpace(usertext.Clean(v))
		}
		f.Values[n] = v
	}
	return f
}

// textValue reads a posted free-text field as it is stored: without the bidirectional
// and invisible format characters that could make it read as something else
// (usertext). Every text a person types reaches a service through formOf or this.
func textValue(r *http.Request, name string) string {
	return usertext.Clean(r.PostFormValue(name))
}

// formFailed turns a service error into the form's messages: per-field problems beside
// their fields, other expected problems above the form. It reports false for errors
// that are not the user's to fix (those go to s.fail).
func formFailed(r *http.Request, f *view.Form, err error) bool {
	loc := localizer(r)
	if fields := apperr.FieldsOf(err); fields != nil {
		f.Errors = map[string]string{}
		for name, id := range fields {
			f.Errors[name] = loc.T(id)
		}
		f.Message = loc.T("form.invalid")
		return true
	}
	switch apperr.KindOf(err) {
	case apperr.Invalid, apperr.Conflict:
		if id := apperr.MessageIDOf(err); id != "" {
			f.Message = loc.T(id)
			return true
		}
	}
	return false
}

// idParam reads a numeric route parameter; anything else is not found.
func idParam(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || n <= 0 {
		return 0, apperr.E(apperr.NotFound, "error.not_found.title", nil)
	}
	return n, nil
}

// seeOther redirects after a successful post (post/redirect/get), or tells htmx to.
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fieldRename moves a service's field problem to the form's field name, for forms
// that name a field differently (two forms on one page).
func fieldRename(err error, from, to string) error {
	f := apperr.FieldsOf(err)
	if f == nil {
		return nil
	}
	g := apperr.Fields{}
	for k, v := range f {
		if k == from {
			k = to
		}
		g[k] = v
	}
	return g.Err()
}
