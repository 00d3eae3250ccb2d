package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/retention"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

func (s *Server) retentionPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.Retention.Policy(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := view.Form{Values: map[string]string{"message_days": strconv.Itoa(p.MessageDays), "absence_days": strconv.Itoa(p.AbsenceDays),
		"announcement_days": strconv.Itoa(p.AnnouncementDays), "survey_days": strconv.Itoa(p.SurveyDays), "delete_on_leave": onOff(p.DeleteOnLeave), "single_year": onOff(p.SingleYear)}}
	s.showRetention(w, r, f, "", http.StatusOK)
}

func (s *Server) showRetention(w http.ResponseWriter, r *http.Request, f view.Form, done string, status int) {
	loc := localizer(r)
	pg, err := s.Retention.OpenPage(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items, records := pg.Preview, pg.Records
	v := view.RetentionPage{From: pg.From.Format("2006-01-02"), To: pg.To.Format("2006-01-02"), Done: done}
	for _, it := range items {
		row := view.RetentionRow{Category: loc.T("retention.category." + it.Category), Policy: it.Category, Count: it.Count}
		if it.Reason != "retention" {
			row.Category += "（" + loc.T("retention.reason."+it.Reason) + "）"
			row.Policy = it.Reason + "-" + it.Category
		}
		v.Preview = append(v.Preview, row)
	}
	for i := len(records) - 1; i >= 0; i-- {
		x := records[i]
		by := "—"
		switch {
		case x.Actor == "system":
			by = loc.T("retention.by.system")
		case x.Actor == "operator":
			by = loc.T("retention.by.operator")
		case strings.HasPrefix(x.Actor, "board_admin:"):
			by = loc.T("retention.by.board_admin")
		}
		v.Records = append(v.Records, view.RetentionRecord{At: x.OccurredAt.In(school.Tokyo).Format("2006/01/02 15:04"),
			Category: loc.T("retention.category." + x.Category), Reason: loc.T("retention.reason." + x.Reason), Policy: x.Policy, Actor: by, Count: x.Count})
	}
	s.render(w, r, status, view.RetentionAdmin(s.page(r, "retention.title"), v, f))
}

func (s *Server) saveRetention(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "message_days", "absence_days", "announcement_days", "survey_days", "delete_on_leave", "single_year")
	p := retention.Policy{DeleteOnLeave: f.V("delete_on_leave") == "on", SingleYear: f.V("single_year") == "on"}
	p.MessageDays, _ = strconv.Atoi(f.V("message_days"))
	p.AbsenceDays, _ = strconv.Atoi(f.V("absence_days"))
	p.AnnouncementDays, _ = strconv.Atoi(f.V("announcement_days"))
	p.SurveyDays, _ = strconv.Atoi(f.V("survey_days"))
	if err := s.Retention.SavePolicy(r.Context(), p); err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showRetention(w, r, f, "", http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, "/admin/board/retention")
}

func (s *Server) runRetention(w http.ResponseWriter, r *http.Request) {
	items, err := s.Retention.RunNow(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := 0
	for _, it := range items {
		n += it.Count
	}
	// Post/redirect/get: the page shows the result as its notice (an htmx button
	// follows the redirect instead of nesting the page in itself).
	s.flashCount(r, "retention.ran", n)
	seeOther(w, r, "/admin/board/retention")
}

func (s *Server) retentionCertificate(w http.ResponseWriter, r *http.Request) {
	from, err1 := time.ParseInLocation("2006-01-02", r.URL.Query().Get("from"), school.Tokyo)
	to, err2 := time.ParseInLocation("2006-01-02", r.URL.Query().Get("to"), school.Tokyo)
	if err1 != nil || err2 != nil || to.Before(from) {
		s.fail(w, r, apperr.E(apperr.Invalid, "retention.period.invalid", nil))
		return
	}
	pdf, err := s.Retention.Certificate(r.Context(), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	servePDF(w, "消去証明書_"+from.Format("20060102")+"-"+to.Format("20060102")+".pdf", pdf)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return ""
}
