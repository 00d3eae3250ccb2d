package web

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/web/view"
)

// surveyResultsPage is a survey's results; a survey not yet sent shows its preview.
func (s *Server) surveyResultsPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.surveyResults(w, r)
	if ok {
		s.render(w, r, http.StatusOK, view.SurveyResultsPage(s.page(r, "survey_results.title"), v))
	}
}

// surveyResultsFragment is the results page's live section, fetched again by
// survey_results.js when an answer arrives.
func (s *Server) surveyResultsFragment(w http.ResponseWriter, r *http.Request) {
	v, ok := s.surveyResults(w, r)
	if ok {
		s.render(w, r, http.StatusOK, view.SurveyResultsSection(s.page(r, "survey_results.title"), v))
	}
}

func (s *Server) surveyResults(w http.ResponseWriter, r *http.Request) (view.SurveyResults, bool) {
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return view.SurveyResults{}, false
	}
	res, err := s.Surveys.OpenResults(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return view.SurveyResults{}, false
	}
	base := "/staff/surveys/" + strconv.FormatInt(id, 10)
	if st := res.Survey.State; st == survey.Draft || st == survey.Scheduled {
		http.Redirect(w, r, base+"/preview", http.StatusSeeOther)
		return view.SurveyResults{}, false
	}
	return s.surveyResultsView(r, base, res), true
}

func (s *Server) surveyResultsView(r *http.Request, base string, res survey.Results) view.SurveyResults {
	loc := localizer(r)
	lang := loc.Lang()
	sv := res.Survey
	v := view.SurveyResults{ID: strconv.FormatInt(sv.ID, 10), Base: base, Title: sv.Title.Reveal(), Kind: loc.T("survey_results.kind." + sv.Kind),
		Audience: sv.AudienceLabel, Deadline: s.Surveys.Deadline(lang, sv.Deadline), State: loc.T("survey_results.state." + sv.State),
		PerChild: sv.PerChild, CanRemind: sv.Open(s.Surveys.Clock.Now()) && len(res.Pending) > 0, Units: res.Units, Answered: res.Answered,
		Recipients: res.Recipients, Skipped: res.Skipped, RowsURL: base + "/units", Print: base + "/print.pdf",
		ExportBOM: base + "/export.csv?" + url.Values{"encoding": {"utf8"}}.Encode(), ExportSJIS: base + "/export.csv?" + url.Values{"encoding": {"sjis"}}.Encode()}
	if sv.State == survey.Sent && !sv.Open(s.Surveys.Clock.Now()) {
		v.State = loc.T("survey_results.state.closed")
	}
	if res.Units > 0 {
		v.Percent = (res.Answered*100 + res.Units/2) / res.Units
	}
	for _, qr := range res.Questions {
		q := qr.Question
		vq := view.SurveyQuestionResult{Key: q.Key, Text: q.Text, Kind: q.Kind, Answered: qr.Answered}
		bars := qr.Bars
		switch q.Kind {
		case survey.Number:
			vq.Summary = loc.T("survey_results.number", map[string]any{"Total": qr.Total, "Average": strconv.FormatFloat(qr.Average, 'f', 1, 64),
				"Unit": q.Unit, "Count": qr.Numbers})
		case survey.Consent:
			vq.Summary = loc.T("survey_results.consent.count", map[string]any{"Agreed": qr.Agreed, "Answered": qr.Answered})
			for i := range bars {
				bars[i].Label = loc.T("survey_results.consent.agreed")
			}
		}
		if len(bars) > 0 {
			c := survey.LayOut(bars)
			ch := &view.SurveyChart{Width: c.Width, Height: c.Height}
			var desc []string
			for _, b := range c.Bars {
				value := loc.T("survey_results.bar", map[string]any{"Count": b.Count, "Percent": b.Percent})
				ch.Bars = append(ch.Bars, view.SurveyBar{Key: b.Key, Label: b.Label, Short: b.Short, Value: value, Count: b.Count, Percent: b.Percent,
					Y: b.Y, Width: b.Width, TextY: b.TextY, LabelX: b.LabelX, BarX: b.BarX, CountX: b.CountX, BarHeight: b.BarHeight})
				desc = append(desc, b.Label+" "+value)
			}
			vq.Chart = ch
			vq.Label = q.Text + "：" + strings.Join(desc, "、")
		}
		v.Questions = append(v.Questions, vq)
		if (q.Kind == survey.Single || q.Kind == survey.Multi) && len(res.Classes) > 0 {
			t := view.SurveyClassTable{Question: q.Text}
			for _, c := range q.Choices {
				t.Choices = append(t.Choices, c.Label)
			}
			for _, cl := range res.Classes {
				row := view.SurveyClassRow{Class: cl.Label, Answered: cl.Answered, Units: cl.Units}
				for _, c := range q.Choices {
					row.Counts = append(row.Counts, cl.Choices[q.Key][c.Key])
				}
				t.Rows = append(t.Rows, row)
			}
			v.Classes = append(v.Classes, t)
		}
	}
	for _, u := range res.Answers {
		row := view.SurveyAnswerRow{Class: u.ClassLabel, Child: u.Child(), Nickname: u.Nickname().Reveal(),
			At: u.AnsweredAt.In(school.Tokyo).Format("1/2 15:04")}
		for _, q := range sv.Questions {
			text := ""
			if a, ok := u.Answers[q.Key]; ok {
				text = s.Surveys.Display(lang, q, a)
			}
			row.Values = append(row.Values, view.SurveyAnswerValue{Question: q.Text, Text: text})
		}
		v.Answers = append(v.Answers, row)
	}
	for _, u := range res.Pending {
		row := view.SurveyPendingRow{Class: u.ClassLabel, Child: u.Child(), Nickname: u.Nickname().Reveal()}
		if !u.RemindedAt.IsZero() {
			row.Reminded = u.RemindedAt.In(school.Tokyo).Format("1/2 15:04")
		}
		v.Pending = append(v.Pending, row)
	}
	return v
}

// surveyRemind confirms a reminder (how many guardians, the messages, the quota), then
// sends it (op=send).
func (s *Server) surveyRemind(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	base := "/staff/surveys/" + strconv.FormatInt(id, 10)
	if r.PostFormValue("op") == "send" {
		n, err := s.Surveys.Remind(r.Context(), id, r.PostFormValue("quota_ok") == "yes")
		if err == nil {
			s.flashCount(r, "survey_results.remind.sent", n)
			seeOther(w, r, base)
			return
		}
		if apperr.FieldsOf(err) == nil {
			s.fail(w, r, err)
			return
		}
	}
	p, err := s.Surveys.PlanReminder(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	v := view.SurveyRemind{Base: base, Title: p.Survey.Title.Reveal(), Guardians: p.Guardians, Units: p.Units}
	for _, q := range p.OverQuota {
		v.OverQuota = append(v.OverQuota, loc.T("announce.quota.short", map[string]any{"Needed": q.Needed, "Remains": q.Remains}))
	}
	for _, m := range p.Sample {
		lm := view.SurveyLineMessage{Text: m.Text}
		for _, b := range m.Buttons {
			lm.Buttons = append(lm.Buttons, b.Label)
		}
		v.Messages = append(v.Messages, lm)
	}
	s.render(w, r, http.StatusOK, view.SurveyRemindPage(s.page(r, "survey_results.remind.title"), v))
}

// surveyExport downloads the answers as CSV: encoding utf8 (with a BOM) or sjis.
func (s *Server) surveyExport(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	enc := csvexport.UTF8BOM
	switch e := r.URL.Query().Get("encoding"); e {
	case "sjis", string(csvexport.ShiftJIS):
		enc = csvexport.ShiftJIS
	case "utf8-nobom", string(csvexport.UTF8):
		enc = csvexport.UTF8
	}
	f, err := s.Surveys.Export(r.Context(), id, localizer(r).Lang(), enc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sendCSV(w, r, "survey-"+strconv.FormatInt(id, 10)+".csv", f)
}

// surveyPrint sends the answers laid out for printing (A4, one class a page).
func (s *Server) surveyPrint(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := s.Surveys.Print(r.Context(), id, localizer(r).Lang())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": "survey-" + strconv.FormatInt(id, 10) + ".pdf"}))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
