package web

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/web/view"
)

// Staff pages of surveys before answers come in: the list, the create and edit form,
// the preview, sending and cancelling (issue 19). The results page is
// /staff/surveys/{surveyID}.

// defaultQuestionBlocks is how many question blocks a new form shows.
const defaultQuestionBlocks = 5

func surveyBase(id int64) string { return "/staff/surveys/" + strconv.FormatInt(id, 10) }

// surveyKindLabel names a survey's kind.
func surveyKindLabel(loc *i18n.Localizer, kind string) string {
	if kind == survey.KindAttendance {
		return loc.T("survey_staff.kind.attendance")
	}
	return loc.T("survey_staff.kind.survey")
}

// questionKinds are the kinds a question may have, in the form's order.
func questionKinds(loc *i18n.Localizer) []view.Option {
	return []view.Option{
		{Value: survey.Single, Label: loc.T("survey_staff.qkind.single")},
		{Value: survey.Multi, Label: loc.T("survey_staff.qkind.multi")},
		{Value: survey.Short, Label: loc.T("survey_staff.qkind.short")},
		{Value: survey.Long, Label: loc.T("survey_staff.qkind.long")},
		{Value: survey.Number, Label: loc.T("survey_staff.qkind.number")},
		{Value: survey.Date, Label: loc.T("survey_staff.qkind.date")},
		{Value: survey.Consent, Label: loc.T("survey_staff.qkind.consent")},
	}
}

// surveyState is a survey's state as staff read it: a send-now about to start is
// sending, and a cancellation by the year rollover says so.
func surveyState(loc *i18n.Localizer, sv survey.Survey) string {
	st := sv.State
	if st == survey.Scheduled && sv.ScheduledAt.IsZero() {
		st = survey.Sending
	}
	out := loc.T("announce.state." + st)
	if sv.State == survey.Cancelled && sv.CancelReason == "rollover" {
		out += "（" + loc.T("announce.cancelled_rollover") + "）"
	}
	return out
}

func surveyDeadline(t time.Time) string { return t.In(school.Tokyo).Format("2006/1/2 15:04") }

func (s *Server) surveysPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.Surveys.OpenList(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	v := view.SurveyList{CanCreate: list.CanCreate}
	for _, sv := range list.Items {
		url := surveyBase(sv.ID)
		if sv.State == survey.Draft || sv.State == survey.Scheduled {
			url += "/preview"
		}
		v.Items = append(v.Items, view.SurveyItem{URL: url, Title: sv.Title.Reveal(), Kind: surveyKindLabel(loc, sv.Kind),
			Audience: sv.AudienceLabel, State: surveyState(loc, sv), Deadline: surveyDeadline(sv.Deadline), Answered: sv.Counts.Answered,
			Units: sv.Counts.Units, Started: sv.State == survey.Sending || sv.State == survey.Sent})
	}
	s.render(w, r, http.StatusOK, view.SurveysPage(s.page(r, "survey_staff.title"), v))
}

// surveyCompose is the form's view: the audiences offered and the question blocks.
func (s *Server) surveyCompose(r *http.Request, opts announce.Options, blocks int) view.SurveyCompose {
	return view.SurveyCompose{Audience: s.composeOptions(r, announce.Notice, opts), Blocks: max(1, min(blocks, survey.MaxQuestions)),
		QuestionKinds: questionKinds(localizer(r))}
}

func (s *Server) newSurveyPage(w http.ResponseWriter, r *http.Request) {
	opts, err := s.Surveys.NewForm(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.surveyCompose(r, opts, defaultQuestionBlocks)
	f := view.Form{Values: map[string]string{"kind": survey.KindSurvey, "unit": "child", "deadline_time": "17:00"}}
	if !v.Audience.Board && !v.Audience.CanSchool && len(v.Audience.Classes) == 1 && len(v.Audience.Clubs) == 0 {
		f.Values["class"] = v.Audience.Classes[0].Value
	}
	s.render(w, r, http.StatusOK, view.SurveyComposePage(s.page(r, "survey_staff.new"), v, f))
}

// readSurveyForm reads the create or edit form: the values to show again (question
// blocks closed up, so that the service's problems, named by question, sit beside
// their blocks), what the sender wrote, with the form's own mistakes, and how many
// blocks to show; err is a failure that is not the sender's to fix.
func readSurveyForm(r *http.Request) (f view.Form, c survey.Form, blocks int, err error) {
	f = formOf(r, "kind", "title", "whole", "scheduled_at", "deadline_date", "deadline_time", "unit", "auto_remind", "ask_reason", "ask_count")
	f.Values["body"] = strings.TrimSpace(textValue(r, "body"))
	for _, name := range []string{"grade", "class", "club", "school", "district", "remove"} {
		f.Values[name] = strings.Join(r.PostForm[name], " ")
	}
	c = survey.Form{Lang: localizer(r).Lang(), Problems: apperr.Fields{}, AskReason: f.V("ask_reason") == "on", AskCount: f.V("ask_count") == "on",
		Compose: survey.Compose{Kind: f.V("kind"), Audience: audienceOf(r), Title: f.V("title"), Body: f.V("body"),
			PerChild: f.V("unit") != "family", AutoRemind: f.V("auto_remind") == "on"}}
	if at := f.V("scheduled_at"); at != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", at, school.Tokyo)
		if err != nil {
			c.Problems.Add("scheduled_at", "announce.schedule.invalid")
		}
		c.ScheduledAt = t
	}
	if d := f.V("deadline_date"); d != "" {
		t, err := time.ParseInLocation("2006-01-02 15:04", d+" "+f.V("deadline_time"), school.Tokyo)
		if err != nil {
			c.Problems.Add("deadline", "survey_staff.deadline.invalid")
		}
		c.Deadline = t
	}
	blocks, _ = strconv.Atoi(r.PostFormValue("questions"))
	blocks = max(1, min(blocks, survey.MaxQuestions))
	isSurvey := c.Kind != survey.KindAttendance
	for i := 1; i <= blocks; i++ {
		p := fmt.Sprintf("q%d.", i)
		raw := map[string]string{}
		for _, part := range []string{"kind", "text", "required", "unit", "min", "max"} {
			raw[part] = strings.TrimSpace(textValue(r, p+part))
		}
		raw["choices"] = strings.TrimSpace(textValue(r, p+"choices"))
		raw["consent"] = strings.TrimSpace(textValue(r, p+"consent"))
		if raw["text"] == "" && raw["choices"] == "" && raw["unit"] == "" && raw["min"] == "" && raw["max"] == "" && raw["consent"] == "" {
			continue // a blank block
		}
		n := len(c.Questions) + 1
		for part, v := range raw {
			f.Values[fmt.Sprintf("q%d.%s", n, part)] = v
		}
		q := questionOf(raw)
		if isSurvey {
			if raw["min"] != "" && q.Min == nil || raw["max"] != "" && q.Max == nil {
				c.Problems.Add(fmt.Sprintf("q%d.range", n), "survey_staff.question.number")
			}
		}
		c.Questions = append(c.Questions, q)
	}
	for i := len(c.Questions) + 1; i <= blocks; i++ {
		f.Values[fmt.Sprintf("q%d.kind", i)] = "single"
	}
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["files"] {
			if fh.Size == 0 && fh.Filename == "" {
				continue
			}
			file, err := fh.Open()
			if err != nil {
				return f, c, blocks, err
			}
			data, err := io.ReadAll(io.LimitReader(file, maxHandoutBytes+1))
			file.Close()
			if err != nil {
				return f, c, blocks, err
			}
			c.Files = append(c.Files, announce.Upload{Name: fh.Filename, Data: data})
		}
	}
	return f, c, blocks, nil
}

// questionOf is a question block's values as a question (choices one a line).
func questionOf(raw map[string]string) survey.Question {
	q := survey.Question{Kind: raw["kind"], Text: raw["text"], Required: raw["required"] == "on", Unit: raw["unit"], ConsentText: raw["consent"]}
	for _, line := range strings.Split(raw["choices"], "\n") {
		if line = strings.TrimSpace(line); line != "" {
			q.Choices = append(q.Choices, survey.Choice{Label: line})
		}
	}
	num := func(s string) *int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil
		}
		return &n
	}
	q.Min, q.Max = num(raw["min"]), num(raw["max"])
	return q
}

// surveyFormValues fills the form with a stored survey.
func surveyFormValues(sv survey.Survey) (view.Form, int) {
	f := view.Form{Values: map[string]string{"kind": sv.Kind, "title": sv.Title.Reveal(), "body": sv.Body.Reveal(), "unit": "family"}}
	if sv.PerChild {
		f.Values["unit"] = "child"
	}
	if sv.AutoRemind {
		f.Values["auto_remind"] = "on"
	}
	d := sv.Deadline.In(school.Tokyo)
	f.Values["deadline_date"], f.Values["deadline_time"] = d.Format("2006-01-02"), d.Format("15:04")
	if !sv.ScheduledAt.IsZero() {
		f.Values["scheduled_at"] = sv.ScheduledAt.In(school.Tokyo).Format("2006-01-02T15:04")
	}
	au := sv.Audience
	if au.Whole {
		f.Values["whole"] = "on"
	}
	join := func(ids []int64) string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = strconv.FormatInt(id, 10)
		}
		return strings.Join(out, " ")
	}
	grades := make([]string, len(au.Grades))
	for i, g := range au.Grades {
		grades[i] = strconv.Itoa(g)
	}
	f.Values["grade"], f.Values["class"], f.Values["club"], f.Values["school"] = strings.Join(grades, " "), join(au.Classes), join(au.Clubs), join(au.Schools)
	f.Values["district"] = strings.Join(au.Districts, " ")
	for i, q := range sv.Questions {
		p := fmt.Sprintf("q%d.", i+1)
		f.Values[p+"kind"], f.Values[p+"text"], f.Values[p+"unit"], f.Values[p+"consent"] = q.Kind, q.Text, q.Unit, q.ConsentText
		if q.Required {
			f.Values[p+"required"] = "on"
		}
		var labels []string
		for _, c := range q.Choices {
			labels = append(labels, c.Label)
		}
		f.Values[p+"choices"] = strings.Join(labels, "\n")
		if q.Min != nil {
			f.Values[p+"min"] = strconv.FormatInt(*q.Min, 10)
		}
		if q.Max != nil {
			f.Values[p+"max"] = strconv.FormatInt(*q.Max, 10)
		}
		switch q.Kind {
		case survey.Short:
			if sv.Kind == survey.KindAttendance {
				f.Values["ask_reason"] = "on"
			}
		case survey.Number:
			if sv.Kind == survey.KindAttendance {
				f.Values["ask_count"] = "on"
			}
		}
	}
	blocks := len(sv.Questions)
	if !sv.WordingOnly() {
		blocks = max(blocks, defaultQuestionBlocks)
		for i := len(sv.Questions) + 1; i <= blocks; i++ {
			f.Values[fmt.Sprintf("q%d.kind", i)] = survey.Single
		}
	}
	return f, blocks
}

// surveyFormFailed shows the form again with the service's complaints, or the error
// page when the failure is not the sender's to fix.
func (s *Server) surveyFormFailed(w http.ResponseWriter, r *http.Request, v view.SurveyCompose, f view.Form, c survey.Form, err error) {
	if !formFailed(r, &f, err) {
		s.fail(w, r, err)
		return
	}
	if len(c.Files) > 0 {
		// A browser never re-sends files: say so beside the field.
		if f.Errors["files"] == "" {
			f.Errors["files"] = localizer(r).T("announce.files.again")
		}
	}
	title := "survey_staff.new"
	if v.Editing {
		title = "survey_staff.edit.title"
	}
	s.render(w, r, http.StatusUnprocessableEntity, view.SurveyComposePage(s.page(r, title), v, f))
}

// addQuestion shows the form again with one question block more, keeping what was
// typed (files excepted: a browser never re-sends them).
func (s *Server) addQuestion(w http.ResponseWriter, r *http.Request, v view.SurveyCompose, f view.Form, c survey.Form) {
	v.Blocks = min(v.Blocks+1, survey.MaxQuestions)
	f.Values[fmt.Sprintf("q%d.kind", v.Blocks)] = survey.Single
	if len(c.Files) > 0 {
		f.Errors = map[string]string{"files": localizer(r).T("announce.files.again")}
	}
	title := "survey_staff.new"
	if v.Editing {
		title = "survey_staff.edit.title"
	}
	s.render(w, r, http.StatusOK, view.SurveyComposePage(s.page(r, title), v, f))
}

func (s *Server) createSurvey(w http.ResponseWriter, r *http.Request) {
	if err := parseCompose(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f, c, blocks, err := readSurveyForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.PostFormValue("op") == "add" {
		opts, err := s.Surveys.NewForm(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.addQuestion(w, r, s.surveyCompose(r, opts, blocks), f, c)
		return
	}
	id, opts, err := s.Surveys.CreateFromForm(r.Context(), c)
	if err != nil {
		s.surveyFormFailed(w, r, s.surveyCompose(r, opts, blocks), f, c, err)
		return
	}
	seeOther(w, r, surveyBase(id)+"/preview")
}

// surveyEditView is the form for a survey being edited.
func (s *Server) surveyEditView(r *http.Request, e survey.EditForm, blocks int) view.SurveyCompose {
	sv := e.Survey
	v := s.surveyCompose(r, e.Options, blocks)
	base := surveyBase(sv.ID)
	v.Action, v.Back, v.Editing, v.Kind, v.WordingOnly = base+"/edit", base+"/preview", true, sv.Kind, e.WordingOnly
	v.Scheduled = sv.State == survey.Scheduled && !sv.ScheduledAt.IsZero()
	for _, h := range sv.Handouts {
		v.Handouts = append(v.Handouts, view.Option{Value: strconv.FormatInt(h.ID, 10), Label: fmt.Sprintf("%s（%s）", h.Name.Reveal(), sizeLabel(h.Size))})
	}
	return v
}

func (s *Server) editSurveyPage(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.Surveys.OpenEdit(r.Context(), id)
	if apperr.KindOf(err) == apperr.Conflict {
		s.surveyRefused(w, r, id, err)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, blocks := surveyFormValues(e.Survey)
	s.render(w, r, http.StatusOK, view.SurveyComposePage(s.page(r, "survey_staff.edit.title"), s.surveyEditView(r, e, blocks), f))
}

// surveyRefused shows the survey's preview with why it could not be changed.
func (s *Server) surveyRefused(w http.ResponseWriter, r *http.Request, id int64, err error) {
	f := view.Form{}
	if !formFailed(r, &f, err) {
		s.fail(w, r, err)
		return
	}
	s.showSurveyPreview(w, r, id, f, http.StatusConflict)
}

func (s *Server) updateSurvey(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseCompose(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f, c, blocks, err := readSurveyForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var remove []int64
	for _, x := range r.PostForm["remove"] {
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			remove = append(remove, n)
		}
	}
	if r.PostFormValue("op") == "add" {
		e, err := s.Surveys.OpenEdit(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.addQuestion(w, r, s.surveyEditView(r, e, blocks), f, c)
		return
	}
	e, err := s.Surveys.UpdateFromForm(r.Context(), id, c, remove)
	if apperr.KindOf(err) == apperr.Conflict {
		// Answered (or started) meanwhile: nothing changed; the preview says so.
		s.surveyRefused(w, r, id, err)
		return
	}
	if err != nil {
		if e.Survey.ID == 0 {
			s.fail(w, r, err)
			return
		}
		s.surveyFormFailed(w, r, s.surveyEditView(r, e, blocks), f, c, err)
		return
	}
	s.flash(r, "survey_staff.flash.updated")
	seeOther(w, r, surveyBase(id)+"/preview")
}

func (s *Server) surveyPreviewPage(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showSurveyPreview(w, r, id, view.Form{}, http.StatusOK)
}

func (s *Server) showSurveyPreview(w http.ResponseWriter, r *http.Request, id int64, f view.Form, status int) {
	loc := localizer(r)
	pg, err := s.Surveys.OpenPreview(r.Context(), id, loc.Lang())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sv := pg.Survey
	d := view.SurveyPreview{Base: surveyBase(sv.ID), Title: sv.Title.Reveal(), Body: sv.Body.Reveal(), KindLabel: surveyKindLabel(loc, sv.Kind),
		Audience: sv.AudienceLabel, State: surveyState(loc, sv), StateCode: sv.State, Deadline: surveyDeadline(sv.Deadline),
		Unit: loc.T("survey_staff.unit.family"), AutoRemind: sv.AutoRemind, Reach: pg.Guardians, Editable: pg.Editable}
	if sv.PerChild {
		d.Unit = loc.T("survey_staff.unit.child")
	}
	if !sv.ScheduledAt.IsZero() {
		d.Scheduled = surveyDeadline(sv.ScheduledAt)
	}
	for _, h := range sv.Handouts {
		d.Handouts = append(d.Handouts, view.Option{Value: d.Base + "/handouts/" + strconv.FormatInt(h.ID, 10),
			Label: fmt.Sprintf("%s（%s）", h.Name.Reveal(), sizeLabel(h.Size))})
	}
	for _, m := range pg.LINE {
		b := view.LINEBubble{Text: m.Text}
		for _, a := range m.Buttons {
			b.Buttons = append(b.Buttons, a.Label)
		}
		d.LINE = append(d.LINE, b)
	}
	for _, q := range sv.Questions {
		pq := view.PreviewQuestion{Key: q.Key, Kind: q.Kind, Text: q.Text, Required: q.Required, Unit: q.Unit, ConsentText: q.ConsentText}
		for _, c := range q.Choices {
			pq.Choices = append(pq.Choices, c.Label)
		}
		switch {
		case q.Min != nil && q.Max != nil:
			pq.Range = loc.T("survey_staff.range.both", map[string]any{"Min": *q.Min, "Max": *q.Max})
		case q.Min != nil:
			pq.Range = loc.T("survey_staff.range.min", map[string]any{"Min": *q.Min})
		case q.Max != nil:
			pq.Range = loc.T("survey_staff.range.max", map[string]any{"Max": *q.Max})
		}
		d.Questions = append(d.Questions, pq)
	}
	for _, q := range pg.OverQuota {
		d.OverQuota = append(d.OverQuota, loc.T("announce.quota.short", map[string]any{"Needed": q.Needed, "Remains": q.Remains}))
	}
	s.render(w, r, status, view.SurveyPreviewPage(s.page(r, "survey_staff.title"), d, f))
}

// surveyAction runs send or cancel and returns to the list with a notice; a refusal
// shows the preview with the reason.
func (s *Server) surveyAction(do func(r *http.Request, id int64) error, notice func(r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := idParam(r, "surveyID")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := do(r, id); err != nil {
			f := view.Form{}
			if !formFailed(r, &f, err) {
				s.fail(w, r, err)
				return
			}
			s.showSurveyPreview(w, r, id, f, http.StatusUnprocessableEntity)
			return
		}
		notice(r)
		seeOther(w, r, "/staff/surveys")
	}
}

// sendSurvey sends a survey now or at its scheduled time, and says which.
func (s *Server) sendSurvey(w http.ResponseWriter, r *http.Request) {
	var at time.Time
	s.surveyAction(func(r *http.Request, id int64) error {
		var err error
		at, err = s.Surveys.Send(r.Context(), id, r.PostFormValue("quota_ok") == "on")
		return err
	}, func(r *http.Request) {
		if at.IsZero() {
			s.flash(r, "survey_staff.flash.sent")
			return
		}
		s.flashAt(r, "survey_staff.flash.scheduled", surveyDeadline(at))
	})(w, r)
}

func (s *Server) cancelSurvey(w http.ResponseWriter, r *http.Request) {
	s.surveyAction(func(r *http.Request, id int64) error { return s.Surveys.Cancel(r.Context(), id) },
		func(r *http.Request) { s.flash(r, "survey_staff.flash.cancelled") })(w, r)
}

// surveyHandout shows a survey's handout to staff who may see the survey.
func (s *Server) surveyHandout(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "surveyID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hid, err := idParam(r, "fileID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, data, err := s.Surveys.Handout(r.Context(), id, hid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	servePDF(w, h.Name.Reveal(), data)
}
