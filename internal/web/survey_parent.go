package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/web/view"
)

// Parents' surveys (アンケート・出欠確認): the list, the form of one survey and its
// handouts, under the parent's personal link.

func (s *Server) surveyParentList(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	pg, err := s.Surveys.ParentList(r.Context(), token, browserOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	r = s.parentLanguage(r, pg.Language)
	loc := localizer(r)
	lang := loc.Lang()
	item := func(ps survey.ParentSurvey) view.SurveyParentItem {
		sv := ps.Survey
		it := view.SurveyParentItem{URL: "/p/survey/" + token + "/s/" + strconv.FormatInt(sv.ID, 10), Kind: loc.T("survey.parent.kind_" + sv.Kind),
			Title: sv.Title.Reveal(), Deadline: s.Surveys.Deadline(lang, sv.Deadline)}
		for _, u := range ps.Units {
			it.Units = append(it.Units, view.SurveyParentStatus{Name: u.ChildName.Reveal(), Answered: !u.AnsweredAt.IsZero()})
		}
		return it
	}
	var v view.SurveyParentList
	for _, ps := range pg.Open {
		v.Open = append(v.Open, item(ps))
	}
	for _, ps := range pg.Closed {
		v.Closed = append(v.Closed, item(ps))
	}
	s.render(w, r, http.StatusOK, view.SurveyParentListPage(s.page(r, "survey.parent.title"), v))
}

func (s *Server) surveyParentPage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, err := s.Surveys.ParentSurvey(r.Context(), token, browserOf(r), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	r = s.parentLanguage(r, pg.Language)
	v := s.surveyParentView(r, token, pg, nil, nil)
	s.render(w, r, http.StatusOK, view.SurveyParentPage(s.page(r, "survey.parent.title"), v))
}

// postedSurvey reads the form's fields per unit: "u<unit>.<question>".
func postedSurvey(r *http.Request) survey.ParentForm {
	f := survey.ParentForm{Op: r.PostFormValue("op"), Fields: map[int64]map[string][]string{}}
	for k, vs := range r.PostForm {
		rest, ok := strings.CutPrefix(k, "u")
		if !ok {
			continue
		}
		unit, q, ok := strings.Cut(rest, ".")
		id, err := strconv.ParseInt(unit, 10, 64)
		if !ok || err != nil || id <= 0 || len(q) > 4 {
			continue
		}
		if f.Fields[id] == nil {
			f.Fields[id] = map[string][]string{}
		}
		for _, v := range vs {
			f.Fields[id][q] = append(f.Fields[id][q], textOf(v))
		}
	}
	return f
}

// textOf keeps what was typed as typed (line ends as the browser sends them become \n).
func textOf(v string) string { return strings.ReplaceAll(v, "\r\n", "\n") }

func (s *Server) surveyParentSubmit(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := postedSurvey(r)
	pg, err := s.Surveys.ParentSubmit(r.Context(), token, browserOf(r), id, f)
	if pg.Survey == nil {
		if err == nil {
			err = apperr.E(apperr.NotFound, "error.not_found.title", nil)
		}
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	r = s.parentLanguage(r, pg.Language)
	loc := localizer(r)
	if err != nil {
		fields := apperr.FieldsOf(err)
		if fields == nil && apperr.MessageIDOf(err) != "survey.parent.closed" {
			s.fail(w, r, err)
			return
		}
		var v view.SurveyParentForm
		if fields == nil {
			// Closed while the form was open: what is stored, read-only.
			v = s.surveyParentView(r, token, pg, nil, nil)
			v.Closed = true
		} else {
			v = s.surveyParentView(r, token, pg, f.Fields, fields)
		}
		s.render(w, r, http.StatusUnprocessableEntity, view.SurveyParentPage(s.page(r, "survey.parent.title"), v))
		return
	}
	v := s.surveyParentView(r, token, pg, nil, nil)
	if f.Op == survey.OpDraft {
		v.Done = loc.T("survey.parent.draft_saved")
	} else {
		v.Done = loc.T("survey.parent.done", map[string]any{"Deadline": s.Surveys.Deadline(loc.Lang(), pg.Survey.Deadline)})
	}
	s.render(w, r, http.StatusOK, view.SurveyParentPage(s.page(r, "survey.parent.title"), v))
}

func (s *Server) surveyParentHandout(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hid, err := idParam(r, "handoutID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, h, data, err := s.Surveys.ParentHandout(r.Context(), token, browserOf(r), id, hid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	servePDF(w, h.Name.Reveal(), data)
}

// surveyParentView builds the form of one survey: each unit's questions filled with what
// was typed (posted, after a refusal) or else the draft or the stored answers, with
// the problems under their questions and named in the message at the top.
func (s *Server) surveyParentView(r *http.Request, token string, pg survey.ParentPage, posted map[int64]map[string][]string, problems apperr.Fields) view.SurveyParentForm {
	loc := localizer(r)
	lang := loc.Lang()
	sv := pg.Survey
	base := "/p/survey/" + token + "/s/" + strconv.FormatInt(sv.ID, 10)
	v := view.SurveyParentForm{Back: "/p/survey/" + token, Action: base, Kind: loc.T("survey.parent.kind_" + sv.Kind), Title: sv.Title.Reveal(),
		Body: sv.Body.Reveal(), Deadline: s.Surveys.Deadline(lang, sv.Deadline), Closed: pg.SurveyClosed()}
	for _, h := range sv.Handouts {
		v.Handouts = append(v.Handouts, view.Option{Value: base + "/files/" + strconv.FormatInt(h.ID, 10), Label: h.Name.Reveal() + "（" + sizeLabel(h.Size) + "）"})
	}
	var wrong []string
	for _, u := range pg.Units {
		vu := view.SurveyParentUnit{Name: u.ChildName.Reveal(), Answered: !u.AnsweredAt.IsZero()}
		saved := u.Answers
		switch {
		case u.Draft != nil && !v.Closed:
			saved = u.Draft
			vu.State = loc.T("survey.parent.draft_note")
		case vu.Answered:
			vu.State = loc.T("survey.parent.answered_at", map[string]any{"At": u.AnsweredAt.In(school.Tokyo).Format("1/2 15:04")})
		default:
			vu.State = loc.T("survey.parent.unanswered")
		}
		values := survey.FormValues(sv.Questions, saved)
		if posted != nil {
			values = posted[u.ID]
		}
		for i, q := range sv.Questions {
			field := survey.UnitField(u.ID, q.Key)
			vq := view.SurveyParentQuestion{No: strconv.Itoa(i + 1), Field: field, Kind: q.Kind, Text: q.Text, Required: q.Required,
				Unit: q.Unit, ConsentText: q.ConsentText, Values: values[q.Key]}
			for _, c := range q.Choices {
				vq.Choices = append(vq.Choices, view.Option{Value: c.Key, Label: c.Label})
			}
			if q.Kind == survey.Number {
				vq.Range = numberRange(loc.T, q)
			}
			if id := problems[field]; id != "" {
				vq.Error = loc.T(id)
				no := loc.T("survey.parent.question_no", map[string]any{"No": i + 1})
				if vu.Name != "" && len(pg.Units) > 1 {
					no = vu.Name + " " + no
				}
				wrong = append(wrong, no)
			}
			if v.Closed {
				vq.Answer = answerText(loc.T, q, u.Answers[q.Key], u.Answers != nil)
			}
			vu.Questions = append(vu.Questions, vq)
		}
		v.Units = append(v.Units, vu)
	}
	if len(wrong) > 0 {
		v.Message = loc.T("survey.parent.check", map[string]any{"Questions": strings.Join(wrong, loc.T("survey.parent.join"))})
	} else if id := problems["form"]; id != "" {
		v.Message = loc.T(id)
	}
	return v
}

// numberRange is a number question's range and unit as a hint: 1〜10人.
func numberRange(t func(string, ...map[string]any) string, q survey.Question) string {
	unit := map[string]any{"Unit": q.Unit}
	switch {
	case q.Min != nil && q.Max != nil:
		unit["Min"], unit["Max"] = *q.Min, *q.Max
		return t("survey.parent.range", unit)
	case q.Min != nil:
		unit["Min"] = *q.Min
		return t("survey.parent.range_min", unit)
	case q.Max != nil:
		unit["Max"] = *q.Max
		return t("survey.parent.range_max", unit)
	}
	return ""
}

// answerText is an answer as text, for the read-only page after the deadline.
func answerText(t func(string, ...map[string]any) string, q survey.Question, v survey.Value, answered bool) string {
	none := t("survey.parent.no_answer")
	if !answered {
		return none
	}
	switch q.Kind {
	case survey.Single, survey.Multi:
		var labels []string
		for _, c := range q.Choices {
			for _, k := range v.Choices {
				if c.Key == k {
					labels = append(labels, c.Label)
				}
			}
		}
		if len(labels) == 0 {
			return none
		}
		return strings.Join(labels, t("survey.parent.join"))
	case survey.Number:
		if v.Number == nil {
			return none
		}
		return strconv.FormatInt(*v.Number, 10) + q.Unit
	case survey.Date:
		if v.Date == "" {
			return none
		}
		return v.Date
	case survey.Consent:
		if v.Agreed {
			return t("survey.parent.agreed")
		}
		return none
	}
	if v.Text == "" {
		return none
	}
	return v.Text
}
