package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

func formKey() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// absenceItem turns a report into a list row in the reader's language.
func absenceItem(r *http.Request, rep absence.Report) view.AbsenceItem {
	loc := localizer(r)
	var symptoms []string
	for _, s := range rep.Detail.Symptoms {
		symptoms = append(symptoms, loc.T("absence.symptom."+s))
	}
	reason := ""
	if rep.Detail.Reason != "" {
		reason = loc.T("absence.reason." + rep.Detail.Reason)
	}
	if rep.Detail.Disease != "" {
		reason += "（" + loc.T("absence.disease."+rep.Detail.Disease) + "）"
	}
	dates := rep.From.Format("1/2")
	if !rep.To.Equal(rep.From) {
		dates += "〜" + rep.To.Format("1/2")
	}
	return view.AbsenceItem{ID: strconv.FormatInt(rep.ID, 10), Child: rep.ChildName.Reveal(), Kind: loc.T("absence.kind." + rep.Kind), Dates: dates,
		Reason: reason, Symptoms: strings.Join(symptoms, "・"), Temperature: rep.Detail.Temperature, Time: rep.Detail.Time, Note: rep.Detail.Note,
		At: rep.CreatedAt.In(school.Tokyo).Format("1/2 15:04"), Guardian: rep.Nickname.Reveal(), Verified: rep.Verified,
		Status: loc.T("absence.status." + rep.Status), StatusCode: rep.Status, Revised: rep.Revision > 1}
}

func (s *Server) absenceView(r *http.Request, token string, pg absence.Page) view.AbsenceForm {
	loc := localizer(r)
	a := view.AbsenceForm{Action: "/p/absence/" + token, Key: formKey(), Today: pg.Today.Format("2006-01-02"),
		Max: pg.Today.AddDate(0, 0, absence.MaxDaysAhead).Format("2006-01-02")}
	if !pg.FirstDay.Equal(pg.Today) {
		d := pg.FirstDay
		a.FirstDay = loc.T("absence.page.first_day", map[string]any{"Date": loc.T("absence.page.day", map[string]any{"Month": int(d.Month()), "Day": d.Day(),
			"Weekday": loc.T("weekday." + strconv.Itoa(int(d.Weekday())))})})
	}
	var reasons, symptoms []string
	for _, c := range pg.Waiting {
		a.Waiting = append(a.Waiting, loc.T("absence.form.awaiting", map[string]any{"Child": c.Name.Reveal()}))
	}
	for _, c := range pg.Children {
		a.Children = append(a.Children, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Name.Reveal() + "（" + c.SchoolName + " " + c.ClassLabel + "）"})
		for _, x := range c.Settings.Reasons {
			if !slices.Contains(reasons, x) {
				reasons = append(reasons, x)
			}
		}
		for _, x := range c.Settings.Symptoms {
			if !slices.Contains(symptoms, x) {
				symptoms = append(symptoms, x)
			}
		}
		if absence.AfterCutoff(c.Settings, pg.Now, pg.Today) {
			a.AfterCutoff, a.Phone = true, c.Settings.Phone
		}
	}
	for _, x := range reasons {
		a.Reasons = append(a.Reasons, view.Option{Value: x, Label: loc.T("absence.reason." + x)})
	}
	for _, x := range symptoms {
		a.Symptoms = append(a.Symptoms, view.Option{Value: x, Label: loc.T("absence.symptom." + x)})
	}
	a.Diseases = []view.Option{{Value: "", Label: loc.T("absence.page.disease_none")}}
	for _, x := range absence.Diseases {
		a.Diseases = append(a.Diseases, view.Option{Value: x, Label: loc.T("absence.disease." + x)})
	}
	for _, rep := range pg.Recent {
		it := absenceItem(r, rep)
		if rep.Status == absence.Sent && !rep.To.Before(pg.Today) {
			it.CancelURL = "/p/absence/" + token + "/cancel/" + it.ID
		}
		a.Recent = append(a.Recent, it)
	}
	return a
}

func (s *Server) absencePage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	pg, err := s.Absence.Open(r.Context(), token, browserOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	r = s.parentLanguage(r, pg.Language)
	f := view.Form{Values: map[string]string{"kind": "absent", "from": pg.FirstDay.Format("2006-01-02"), "reason": "illness"}}
	s.render(w, r, http.StatusOK, view.AbsencePage(s.page(r, "absence.page.title"), s.absenceView(r, token, pg), f))
}

func (s *Server) absenceSubmit(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	f := formOf(r, "kind", "from", "to", "reason", "disease", "temperature", "note", "time", "key")
	f.Values["symptoms"] = strings.Join(r.PostForm["symptoms"], " ")
	f.Values["child"] = strings.Join(r.PostForm["child"], " ")
	in := absence.Form{Kind: f.V("kind"), From: f.V("from"), To: f.V("to"), Reason: f.V("reason"), Disease: f.V("disease"),
		Symptoms: r.PostForm["symptoms"], Temperature: f.V("temperature"), Note: f.V("note"), Time: f.V("time"), Key: f.V("key")}
	for _, x := range r.PostForm["child"] {
		if id, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			in.Children = append(in.Children, id)
		}
	}
	sub, err := s.Absence.SubmitForm(r.Context(), token, browserOf(r), in)
	r = s.parentLanguage(r, sub.Page.Language)
	if err != nil && !formFailed(r, &f, err) {
		s.fail(w, r, err)
		return
	}
	pg := sub.Page
	v := s.absenceView(r, token, pg)
	status := http.StatusOK
	if err != nil {
		v.Key, status = f.V("key"), http.StatusUnprocessableEntity
		if e := f.E("child"); e != "" && len(v.Children) < 2 {
			// No child list on the page to show the message under.
			f.Message = e
		}
	} else {
		var names []string
		for _, rep := range sub.Reports {
			names = append(names, rep.ChildName.Reveal())
		}
		item := absenceItem(r, sub.Reports[0])
		loc := localizer(r)
		v.Done = loc.T("absence.page.done", map[string]any{"Child": strings.Join(names, loc.T("absence.names.join")), "Kind": item.Kind, "Dates": item.Dates})
		f = view.Form{Values: map[string]string{"kind": "absent", "from": pg.FirstDay.Format("2006-01-02"), "reason": "illness"}}
	}
	s.render(w, r, status, view.AbsencePage(s.page(r, "absence.page.title"), v, f))
}

func (s *Server) absenceCancel(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	id, err := idParam(r, "reportID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Absence.Cancel(r.Context(), token, browserOf(r), id); err != nil && apperr.KindOf(err) != apperr.Conflict {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/p/absence/"+token, http.StatusSeeOther)
}

// absenceList reads the class and day of the list (the first of the person's classes and
// today by default) and loads it; a refresh of an open page is not audited again.
func (s *Server) absenceList(r *http.Request, refresh bool) (view.AbsenceList, error) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = r.PostForm
	}
	var classID int64
	if c := q.Get("class"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return view.AbsenceList{}, apperr.E(apperr.NotFound, "absence.list.no_class", err)
		}
		classID = id
	}
	var day time.Time
	if d, err := time.ParseInLocation("2006-01-02", q.Get("date"), school.Tokyo); err == nil {
		day = d
	}
	cl, err := s.Absence.OpenList(r.Context(), classID, day, refresh)
	if err != nil {
		return view.AbsenceList{}, err
	}
	l := view.AbsenceList{Class: strconv.FormatInt(cl.ClassID, 10), Date: cl.Day.Format("2006-01-02"), Label: cl.Label}
	for _, c := range cl.Classes {
		l.Classes = append(l.Classes, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Label})
	}
	for _, rep := range cl.Reports {
		if rep.Status == absence.Sent {
			l.Pending++
		}
		l.Items = append(l.Items, absenceItem(r, rep))
	}
	every := s.ListRefresh
	if every <= 0 {
		every = 30 * time.Second
	}
	l.Refresh = "every " + strconv.FormatInt(every.Milliseconds(), 10) + "ms"
	params := url.Values{"class": {l.Class}, "date": {l.Date}}
	l.RowsURL = "/staff/absences/rows?" + params.Encode()
	params.Set("encoding", string(csvexport.UTF8BOM))
	l.ExportBOM = "/staff/absences/export?" + params.Encode()
	params.Set("encoding", string(csvexport.ShiftJIS))
	l.ExportSJIS = "/staff/absences/export?" + params.Encode()
	return l, nil
}

func (s *Server) absenceListPage(w http.ResponseWriter, r *http.Request) {
	l, err := s.absenceList(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.AbsenceListPage(s.page(r, "absence.list.title"), l))
}

func (s *Server) absenceRows(w http.ResponseWriter, r *http.Request) {
	l, err := s.absenceList(r, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, view.AbsenceRows(s.page(r, "absence.list.title"), l))
}

func (s *Server) absenceAcknowledge(w http.ResponseWriter, r *http.Request) {
	classID, err := strconv.ParseInt(r.PostFormValue("class"), 10, 64)
	if err != nil {
		s.fail(w, r, apperr.E(apperr.NotFound, "error.not_found.title", err))
		return
	}
	day, err := time.ParseInLocation("2006-01-02", r.PostFormValue("date"), school.Tokyo)
	if err != nil {
		s.fail(w, r, apperr.E(apperr.Invalid, "absence.date.invalid", err))
		return
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			ids = append(ids, n)
		}
	}
	if _, err := s.Absence.Acknowledge(r.Context(), classID, day, ids); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(r, "absence.list.acknowledged")
	seeOther(w, r, "/staff/absences?"+url.Values{"class": {r.PostFormValue("class")}, "date": {day.Format("2006-01-02")}}.Encode())
}

func (s *Server) absenceExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	classID, err := strconv.ParseInt(q.Get("class"), 10, 64)
	if err != nil {
		s.fail(w, r, apperr.E(apperr.NotFound, "error.not_found.title", err))
		return
	}
	day, err := time.ParseInLocation("2006-01-02", q.Get("date"), school.Tokyo)
	if err != nil {
		s.fail(w, r, apperr.E(apperr.Invalid, "absence.date.invalid", err))
		return
	}
	enc := csvexport.Encoding(q.Get("encoding"))
	if !enc.Valid() {
		enc = csvexport.UTF8BOM
	}
	f, err := s.Absence.Export(r.Context(), classID, day, func(id string) string { return localizer(r).T(id) }, enc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sendCSV(w, r, "absences-"+strconv.FormatInt(classID, 10)+"-"+day.Format("20060102")+".csv", f)
}

// trendPoints draws counts as an SVG polyline 140 × 30, scaled to the largest.
func trendPoints(counts []int) (string, int) {
	top := 1
	for _, c := range counts {
		top = max(top, c)
	}
	var b strings.Builder
	for i, c := range counts {
		x := 0
		if len(counts) > 1 {
			x = i * 140 / (len(counts) - 1)
		}
		y := 28 - c*26/top
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(x) + "," + strconv.Itoa(y))
	}
	return b.String(), top
}

func statsRow(label string, c absence.Counts) view.StatsRow {
	return view.StatsRow{Label: label, Absent: c.Absent, Late: c.Late, Early: c.Early, Fever: c.Fever, Suspension: c.Suspension}
}

// closureAlertText is a class's 学級閉鎖 alert: the count and its share of the
// enrolment.
func closureAlertText(loc *i18n.Localizer, c absence.ClassDay) string {
	return loc.T("absence.stats.alert", map[string]any{"Class": c.Label, "Count": c.Closure, "Enrolment": *c.Enrolment, "Percent": c.Percent})
}

func (s *Server) absenceStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := view.AbsenceStats{SchoolID: q.Get("school")}
	var schoolID int64
	if v.SchoolID != "" {
		id, err := strconv.ParseInt(v.SchoolID, 10, 64)
		if err != nil || id <= 0 {
			s.fail(w, r, apperr.E(apperr.NotFound, "error.not_found.title", fmt.Errorf("statistics of school %q", v.SchoolID)))
			return
		}
		schoolID = id
	}
	var day time.Time
	if d, err := time.ParseInLocation("2006-01-02", q.Get("date"), school.Tokyo); err == nil {
		day = d
	}
	st, err := s.Absence.OpenStats(r.Context(), schoolID, day)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, sc := range st.Schools {
		v.Schools = append(v.Schools, view.Option{Value: strconv.FormatInt(sc.ID, 10), Label: sc.Name})
	}
	schoolID, day = st.SchoolID, st.Day
	if v.SchoolID == "" && schoolID != 0 {
		v.SchoolID = strconv.FormatInt(schoolID, 10)
	}
	v.School = st.School.Name
	loc := localizer(r)
	enrolled := 0
	v.Date, v.AlertPercent, v.AlertMin, v.SchoolDay = day.Format("2006-01-02"), st.AlertPercent, st.AlertMin, st.SchoolDay
	v.StructureHref = schoolURL(schoolID, "/structure")
	if len(st.Days) > 0 {
		v.Days = st.Days[0].Format("1/2") + "〜" + st.Days[len(st.Days)-1].Format("1/2")
	}
	for _, c := range st.Classes {
		row := statsRow(c.Label, c.Counts)
		row.Registered, row.Percent, row.HasPercent, row.Alert = c.Registered, c.Percent, c.HasPercent, c.Alert
		row.Enrolment = c.Enrolment
		if c.Alert {
			row.AlertText = closureAlertText(loc, c)
		}
		if c.Enrolment == nil {
			v.EnrolmentUnset = true
		} else {
			enrolled += *c.Enrolment
		}
		row.Points, row.Max = trendPoints(c.Trend)
		v.Rows = append(v.Rows, row)
		v.Total.Registered += c.Registered
	}
	var grades []int
	for g := range st.Grades {
		grades = append(grades, g)
	}
	slices.Sort(grades)
	for _, g := range grades {
		v.Grades = append(v.Grades, statsRow(loc.T("structure.grade_n", map[string]any{"Grade": g}), *st.Grades[g]))
	}
	total := statsRow("", st.Total)
	total.Registered = v.Total.Registered
	if !v.EnrolmentUnset && len(st.Classes) > 0 {
		total.Enrolment = &enrolled
	}
	v.Total = total
	for _, b := range st.Board {
		row := statsRow(b.School.Name, b.Stats.Total)
		for _, c := range b.Stats.Classes {
			row.Registered += c.Registered
			row.Alert = row.Alert || c.Alert
		}
		v.Board = append(v.Board, row)
	}
	for _, sy := range absence.Symptoms {
		if n := st.Total.Symptoms[sy]; n > 0 {
			v.Symptoms = append(v.Symptoms, view.Option{Label: loc.T("absence.symptom." + sy), Value: strconv.Itoa(n)})
		}
	}
	s.render(w, r, http.StatusOK, view.AbsenceStatsPage(s.page(r, "absence.stats.title"), v))
}

func (s *Server) clubAbsences(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var clubID int64
	if c := q.Get("club"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			s.fail(w, r, apperr.E(apperr.NotFound, "absence.club.no_club", err))
			return
		}
		clubID = id
	}
	var day time.Time
	if d, err := time.ParseInLocation("2006-01-02", q.Get("date"), school.Tokyo); err == nil {
		day = d
	}
	cl, err := s.Absence.OpenClubList(r.Context(), clubID, day)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c := view.ClubAbsences{Club: strconv.FormatInt(cl.ClubID, 10), Date: cl.Day.Format("2006-01-02")}
	for _, k := range cl.Clubs {
		c.Clubs = append(c.Clubs, view.Option{Value: strconv.FormatInt(k.ID, 10), Label: k.Name})
	}
	for _, rep := range cl.Reports {
		c.Items = append(c.Items, absenceItem(r, rep))
	}
	s.render(w, r, http.StatusOK, view.ClubAbsencesPage(s.page(r, "absence.club.title"), c))
}
