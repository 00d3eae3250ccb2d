package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

// auditQuery reads the viewer's filters from the query string; a malformed filter is
// shown beside its field and ignored.
func auditQuery(r *http.Request, schoolID int64) (audit.Query, view.Form) {
	q := r.URL.Query()
	f := view.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"school", "actor", "action", "from", "to"} {
		f.Values[k] = q.Get(k)
	}
	loc := localizer(r)
	aq := audit.Query{SchoolID: schoolID, Action: f.V("action")}
	if aq.SchoolID == 0 && f.V("school") != "" {
		aq.SchoolID, _ = strconv.ParseInt(f.V("school"), 10, 64)
	}
	if v := f.V("actor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			f.Errors["actor"] = loc.T("audit.page.actor_invalid")
		}
		aq.ActorID = n
	}
	for _, k := range []string{"from", "to"} {
		if v := f.V(k); v != "" {
			d, err := time.ParseInLocation("2006-01-02", v, school.Tokyo)
			if err != nil {
				f.Errors[k] = loc.T("audit.page.date_invalid")
				continue
			}
			if k == "from" {
				aq.From = d
			} else {
				aq.To = d
			}
		}
	}
	aq.Page, _ = strconv.Atoi(q.Get("page"))
	if aq.Page < 1 {
		aq.Page = 1
	}
	return aq, f
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	s.showAudit(w, r, nil, "/admin/audit")
}

func (s *Server) schoolAuditPage(w http.ResponseWriter, r *http.Request) {
	_, head, err := s.schoolHead(r, view.TabAudit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showAudit(w, r, &head, schoolURL(head.ID, "/audit"))
}

func (s *Server) showAudit(w http.ResponseWriter, r *http.Request, head *view.SchoolHead, base string) {
	var schoolID int64
	if head != nil {
		schoolID = head.ID
	}
	q, f := auditQuery(r, schoolID)
	res, err := s.AuditLog.OpenPage(r.Context(), q, head == nil)
	if err != nil {
		if apperr.FieldsOf(err) == nil && apperr.KindOf(err) != apperr.Invalid {
			s.fail(w, r, err)
			return
		}
		formFailed(r, &f, err)
	}
	loc := localizer(r)
	v := view.AuditPage{Head: head, Total: res.Total, Page: res.Page, Pages: max(res.Pages, 1), Actions: s.auditActions(loc)}
	for _, e := range res.Entries {
		words := audit.Describe(e, loc.T)
		ve := view.AuditEntry{At: e.At.In(school.Tokyo).Format("2006/01/02 15:04:05"), Actor: words.Actor, Role: words.Role,
			Action: words.Action, ActionCode: e.Action, Object: words.Object, Remote: e.RemoteAddr}
		if e.ActorKind == string(audit.Staff) && e.ActorID != 0 {
			ve.ActorHref = base + "?" + url.Values{"actor": {strconv.FormatInt(e.ActorID, 10)}}.Encode()
		}
		for _, l := range words.Detail {
			ve.Detail = append(ve.Detail, view.Option{Value: l.Value, Label: l.Key})
		}
		v.Entries = append(v.Entries, ve)
	}
	params := url.Values{}
	for k, val := range f.Values {
		if val != "" {
			params.Set(k, val)
		}
	}
	link := func(path string, page int) string {
		p := url.Values{}
		for k, v := range params {
			p[k] = v
		}
		if page > 0 {
			p.Set("page", strconv.Itoa(page))
		}
		if len(p) == 0 {
			return path
		}
		return path + "?" + p.Encode()
	}
	v.ExportHref = link(base+"/export", 0)
	if head == nil {
		v.ExportHref = link("/admin/audit/export", 0)
	}
	if res.Page > 1 {
		v.PrevHref = link(base, res.Page-1)
	}
	if res.Page < res.Pages {
		v.NextHref = link(base, res.Page+1)
	}
	if res.SchoolFilter {
		v.Schools = []view.Option{{Value: "", Label: loc.T("audit.page.all_schools")}}
		for _, sc := range res.Schools {
			v.Schools = append(v.Schools, view.Option{Value: strconv.FormatInt(sc.ID, 10), Label: sc.Name})
		}
	}
	s.render(w, r, http.StatusOK, view.Audit(s.page(r, "admin.tab.audit"), v, f))
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request) {
	q, _ := auditQuery(r, 0)
	s.writeAuditCSV(w, r, q)
}

func (s *Server) schoolAuditExport(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, _ := auditQuery(r, id)
	s.writeAuditCSV(w, r, q)
}

func (s *Server) writeAuditCSV(w http.ResponseWriter, r *http.Request, q audit.Query) {
	enc := csvexport.Encoding(r.URL.Query().Get("encoding"))
	if !enc.Valid() {
		enc = csvexport.UTF8BOM
	}
	f, _, err := s.AuditLog.Export(r.Context(), q, enc, localizer(r).T)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sendCSV(w, r, "audit-log.csv", f)
}

// auditActions are the choices of the action filter: every action of the catalogue,
// under the area it belongs to, whose first choice takes the whole area ("staff.").
func (s *Server) auditActions(loc *i18n.Localizer) []view.Option {
	out := []view.Option{{Value: "", Label: loc.T("audit.page.all_actions")}}
	area := ""
	for _, id := range s.Catalog.MessageIDs(loc.Lang()) {
		code, ok := strings.CutPrefix(id, "audit.action.")
		if !ok {
			continue
		}
		if a, _, _ := strings.Cut(code, "."); a != area {
			area = a
			out = append(out, view.Option{Value: a + ".", Label: loc.T("audit.page.all_of", map[string]any{"Area": loc.T("audit.area." + a)})})
		}
		out = append(out, view.Option{Value: code, Label: "\u3000" + loc.T(id)})
	}
	return out
}
