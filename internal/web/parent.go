package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/web/view"
)

// parentCookie names the browser a parent link is bound to.
const parentCookie = "renraku_parent"

// parentOnly protects the parents' pages from cross-site posts; the link and the
// browser cookie (SameSite=Lax) bind every request to one parent.
func (s *Server) parentOnly(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, apperr.E(apperr.Forbidden, "error.csrf", nil))
	}))
	return cop.Handler(next)
}

func browserOf(r *http.Request) string {
	if c, err := r.Cookie(parentCookie); err == nil {
		return c.Value
	}
	return ""
}

func (s *Server) setBrowser(w http.ResponseWriter, v parentlink.Visit) {
	if !v.NewBrowser {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: parentCookie, Value: v.Browser, Path: "/p/", MaxAge: 400 * 24 * 3600, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.BaseURL != nil && s.BaseURL.Scheme == "https"})
}

// parentLanguage uses the LINE profile's language unless the parent chose one.
func (s *Server) parentLanguage(r *http.Request, lang string) *http.Request {
	if explicitLanguage(r) {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), localizerKey, s.Catalog.Localizer(lang)))
}

// explicitLanguage reports whether the person chose the page's language (in the address
// or a cookie) over the one their LINE uses.
func explicitLanguage(r *http.Request) bool {
	if r.URL.Query().Get("lang") != "" {
		return true
	}
	_, err := r.Cookie("lang")
	return err == nil
}

func (s *Server) registrationView(r *http.Request, purpose, token string, pg registration.Page) view.Registration {
	loc := localizer(r)
	v := view.Registration{Action: "/p/" + purpose + "/" + token, Update: pg.Guardian != nil, Reconsent: pg.Reconsent}
	for _, rel := range registration.Relationships {
		v.Relationships = append(v.Relationships, view.Option{Value: rel, Label: loc.T("reg.relationship." + rel)})
	}
	for _, sc := range pg.Choices.Schools {
		so := view.SchoolOptions{ID: strconv.FormatInt(sc.ID, 10), Name: sc.Name}
		for _, c := range sc.Classes {
			so.Classes = append(so.Classes, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Label})
		}
		for _, c := range sc.Clubs {
			so.Clubs = append(so.Clubs, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Label})
		}
		v.Schools = append(v.Schools, so)
	}
	if pg.Guardian != nil && purpose == parentlink.PurposeUpdate {
		v.WithdrawURL = "/p/update/" + token + "/withdraw"
	}
	return v
}

// storedForm is the form filled with a stored registration.
func storedForm(r *http.Request, g *registration.Guardian) (view.Form, []view.ChildForm) {
	f := view.Form{Values: map[string]string{"relationship": "mother"}}
	if g == nil {
		return f, []view.ChildForm{{Index: "0", No: "1", Clubs: map[string]bool{}}}
	}
	f.Values = map[string]string{"name": g.Name.Reveal(), "relationship": g.Relationship.Reveal(), "nickname": g.Nickname.Reveal()}
	if g.ConsentVersion >= registration.NoticeVersion {
		f.Values["consent"] = "yes"
	}
	var children []view.ChildForm
	for i, c := range g.Children {
		cf := view.ChildForm{Index: strconv.Itoa(i), Name: c.Name.Reveal(), School: strconv.FormatInt(c.SchoolID, 10),
			Class: strconv.FormatInt(c.ClassID, 10), Clubs: map[string]bool{}, Status: localizer(r).T("reg.status." + c.Status)}
		for _, id := range c.ClubIDs {
			cf.Clubs[strconv.FormatInt(id, 10)] = true
		}
		children = append(children, cf)
	}
	if len(children) == 0 {
		children = []view.ChildForm{{Clubs: map[string]bool{}}}
	}
	renumber(children)
	return f, children
}

// postedForm reads the form as typed: the guardian's fields and each child block.
func postedForm(r *http.Request) (view.Form, []view.ChildForm, registration.Form) {
	f := formOf(r, "name", "relationship", "nickname", "consent")
	rf := registration.Form{Consent: f.V("consent") == "yes", Name: f.V("name"), Relationship: f.V("relationship"), Nickname: f.V("nickname")}
	var idx []int
	for k := range r.PostForm {
		if rest, ok := strings.CutPrefix(k, "child."); ok {
			n, _, _ := strings.Cut(rest, ".")
			if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < 50 && !containsInt(idx, i) {
				idx = append(idx, i)
			}
		}
	}
	sort.Ints(idx)
	var children []view.ChildForm
	for _, i := range idx {
		p := "child." + strconv.Itoa(i) + "."
		cf := view.ChildForm{Name: strings.TrimSpace(textValue(r, p+"name")), School: r.PostFormValue(p + "school"),
			Class: r.PostFormValue(p + "class"), Code: strings.TrimSpace(textValue(r, p+"code")), Clubs: map[string]bool{}}
		for _, c := range r.PostForm[p+"clubs"] {
			cf.Clubs[c] = true
		}
		children = append(children, cf)
	}
	renumber(children)
	for _, cf := range children {
		c := registration.ChildForm{Name: cf.Name, Code: cf.Code}
		c.SchoolID, _ = strconv.ParseInt(cf.School, 10, 64)
		c.ClassID, _ = strconv.ParseInt(cf.Class, 10, 64)
		for id := range cf.Clubs {
			n, _ := strconv.ParseInt(id, 10, 64)
			c.ClubIDs = append(c.ClubIDs, n)
		}
		sort.Slice(c.ClubIDs, func(a, b int) bool { return c.ClubIDs[a] < c.ClubIDs[b] })
		rf.Children = append(rf.Children, c)
	}
	return f, children, rf
}

func renumber(cs []view.ChildForm) {
	for i := range cs {
		cs[i].Index, cs[i].No = strconv.Itoa(i), strconv.Itoa(i+1)
	}
}

func containsInt(s []int, n int) bool {
	for _, x := range s {
		if x == n {
			return true
		}
	}
	return false
}

// registrationTitle is the registration page's title: a change for a parent who has
// registered (their update link, or a stored registration), else a registration.
func registrationTitle(purpose string, pg registration.Page) string {
	if purpose == parentlink.PurposeUpdate || pg.Guardian != nil {
		return "reg.page.title_update"
	}
	return "reg.page.title"
}

func (s *Server) registrationPage(purpose string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := chi.URLParam(r, "token")
		pg, err := s.Registration.Open(r.Context(), purpose, token, browserOf(r))
		if s.liffCheck(w, r, err, registrationTitle(purpose, registration.Page{}), purpose, token) {
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.setBrowser(w, pg.Visit)
		r = s.parentLanguage(r, pg.Language)
		f, children := storedForm(r, pg.Guardian)
		v := s.registrationView(r, purpose, token, pg)
		v.Children = children
		s.render(w, r, http.StatusOK, view.RegistrationPage(s.parentPage(w, r, registrationTitle(purpose, pg), purpose, token, pg), v, f))
	}
}

func (s *Server) registrationSubmit(purpose string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := chi.URLParam(r, "token")
		f, children, rf := postedForm(r)
		op := r.PostFormValue("op")
		if op == "add" || strings.HasPrefix(op, "remove.") {
			// A child's fields added or taken off: the form again, nothing saved.
			pg, err := s.Registration.Open(r.Context(), purpose, token, browserOf(r))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			r = s.parentLanguage(r, pg.Language)
			if n, ok := strings.CutPrefix(op, "remove."); ok {
				if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < len(children) {
					children = append(children[:i], children[i+1:]...)
				}
			} else if len(children) < registration.MaxChildren {
				children = append(children, view.ChildForm{Clubs: map[string]bool{}})
			}
			renumber(children)
			v := s.registrationView(r, purpose, token, pg)
			v.Children = children
			s.render(w, r, http.StatusOK, view.RegistrationPage(s.parentPage(w, r, registrationTitle(purpose, pg), purpose, token, pg), v, f))
			return
		}
		if explicitLanguage(r) {
			rf.Language = localizer(r).Lang()
		}
		pg, res, err := s.Registration.SubmitForm(r.Context(), purpose, token, browserOf(r), rf)
		if err != nil {
			fields := apperr.FieldsOf(err)
			if fields == nil {
				s.fail(w, r, err)
				return
			}
			r = s.parentLanguage(r, pg.Language)
			v := s.registrationView(r, purpose, token, pg)
			loc := localizer(r)
			f.Errors = map[string]string{}
			for name, id := range fields {
				if rest, ok := strings.CutPrefix(name, "child."); ok {
					n, field, _ := strings.Cut(rest, ".")
					if i, err := strconv.Atoi(n); err == nil && i < len(children) {
						if children[i].Errors == nil {
							children[i].Errors = map[string]string{}
						}
						children[i].Errors[field] = loc.T(id)
					}
					continue
				}
				f.Errors[name] = loc.T(id)
			}
			f.Message = loc.T("form.invalid")
			if len(children) == 0 {
				children = []view.ChildForm{{Clubs: map[string]bool{}}}
			}
			renumber(children)
			v.Children = children
			s.render(w, r, http.StatusUnprocessableEntity, view.RegistrationPage(s.parentPage(w, r, registrationTitle(purpose, pg), purpose, token, pg), v, f))
			return
		}
		r = s.parentLanguage(r, pg.Language)
		d := view.RegistrationDone{Verified: res.Verified, Pending: res.Pending, Contested: res.Contested, Changed: !res.First}
		for _, c := range res.Guardian.Children {
			d.Children = append(d.Children, view.DoneChild{Name: c.Name.Reveal(), Class: c.SchoolName + " " + c.ClassLabel, Status: localizer(r).T("reg.status." + c.Status)})
		}
		title := "reg.done.title"
		if d.Changed {
			title = "reg.done.title_update"
		}
		s.render(w, r, http.StatusOK, view.RegistrationDonePage(s.page(r, title), d))
	}
}

func (s *Server) withdraw(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	pg, err := s.Registration.WithdrawForm(r.Context(), token, browserOf(r), r.PostFormValue("confirm") == "yes")
	if apperr.KindOf(err) == apperr.Invalid && pg.Guardian != nil {
		r = s.parentLanguage(r, pg.Language)
		f, children := storedForm(r, pg.Guardian)
		f.Message = localizer(r).T(apperr.MessageIDOf(err))
		v := s.registrationView(r, parentlink.PurposeUpdate, token, pg)
		v.Children = children
		s.render(w, r, http.StatusUnprocessableEntity, view.RegistrationPage(s.parentPage(w, r, registrationTitle(parentlink.PurposeUpdate, pg), parentlink.PurposeUpdate, token, pg), v, f))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	r = s.parentLanguage(r, pg.Language)
	s.render(w, r, http.StatusOK, view.WithdrawnPage(s.page(r, "reg.withdrawn.title")))
}

// liffCSP lets the LIFF SDK reach LINE from the registration page; everything else stays
// as strict as on every other page.
const liffCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https://*.line-scdn.net; " +
	"connect-src 'self' https://*.line.me https://*.line-scdn.net https://*.line-apps.com; frame-src https://*.line.me; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// liffCheck answers a link opened in a browser it is not bound to with the LIFF check
// page when the channel has a LIFF app (LINE's browser can still prove it is the
// parent's), and says whether it did.
func (s *Server) liffCheck(w http.ResponseWriter, r *http.Request, err error, titleID, purpose, token string) bool {
	if apperr.MessageIDOf(err) != "reg.link.foreign" {
		return false
	}
	id, lerr := s.Registration.LIFFFor(r.Context(), purpose, token)
	if lerr != nil || id == "" {
		return false
	}
	p := s.parentPage(w, r, titleID, purpose, token, registration.Page{LIFFID: id})
	s.render(w, r, http.StatusOK, view.LIFFCheck(p))
	return true
}

// parentPage is the page data of a registration page, with LIFF when the channel has it.
func (s *Server) parentPage(w http.ResponseWriter, r *http.Request, titleID, purpose, token string, pg registration.Page) view.Page {
	p := s.page(r, titleID)
	if pg.LIFFID != "" {
		p.LIFF = &view.LIFF{ID: pg.LIFFID, VerifyURL: "/p/" + purpose + "/" + token + "/liff"}
		w.Header().Set("Content-Security-Policy", liffCSP)
	}
	return p
}

// liffEntry is a rich menu page opened through the channel's LIFF app: it proves the
// parent with LIFF and goes on to their page (liffOpen).
func (s *Server) liffEntry(w http.ResponseWriter, r *http.Request) {
	s.renderLIFFEntry(w, r, chi.URLParam(r, "channelID"), chi.URLParam(r, "page"))
}

// renderLIFFEntry renders the LIFF entry page of a channel's page, or not found.
func (s *Server) renderLIFFEntry(w http.ResponseWriter, r *http.Request, channelID, page string) {
	id, err := s.Registration.LIFFApp(r.Context(), channelID, page)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "reg.liff.entry_title")
	p.LIFF = &view.LIFF{ID: id, VerifyURL: "/p/liff/" + url.PathEscape(channelID) + "/" + url.PathEscape(page), Open: true}
	w.Header().Set("Content-Security-Policy", liffCSP)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, view.LIFFEntry(p))
}

// liffOpen takes the LIFF ID token of a rich menu page and answers with the parent's
// page to open, bound to this browser.
func (s *Server) liffOpen(w http.ResponseWriter, r *http.Request) {
	next, v, err := s.Registration.OpenWithLIFF(r.Context(), chi.URLParam(r, "channelID"), chi.URLParam(r, "page"), r.PostFormValue("id_token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"next": next})
}

// liffForward is LINE's first redirect of a LIFF URL, to the app's endpoint (the base
// URL) with the page in liff.state: a rich menu page's is answered with its entry page,
// whose liff.init goes on to it; anything else is not a LIFF page of renraku's.
func (s *Server) liffForward(w http.ResponseWriter, r *http.Request, state string) bool {
	u, err := url.Parse(state)
	if err != nil {
		return false
	}
	rest, ok := strings.CutPrefix(u.Path, "/p/liff/")
	if !ok {
		return false
	}
	channelID, page, ok := strings.Cut(rest, "/")
	if !ok || channelID == "" || page == "" || strings.Contains(page, "/") {
		return false
	}
	s.renderLIFFEntry(w, r, channelID, page)
	return true
}

func (s *Server) verifyLIFF(purpose string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := s.Registration.VerifyLIFF(r.Context(), purpose, chi.URLParam(r, "token"), r.PostFormValue("id_token"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.setBrowser(w, v)
		w.WriteHeader(http.StatusNoContent)
	}
}
