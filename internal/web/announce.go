package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

// maxUploadBytes caps any upload before it is parsed: five handouts at the largest
// limit a board may set, and the form around them. Each board's own limit is checked
// per file by the service.
const maxUploadBytes = announce.MaxHandouts*50<<20 + 1<<20

func (s *Server) announcementsPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.Announce.OpenList(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	v := view.AnnounceList{CanCompose: list.CanCompose, CanSafety: list.CanSafety}
	for _, an := range list.Items {
		v.Items = append(v.Items, view.AnnounceItem{ID: strconv.FormatInt(an.ID, 10), Title: an.Title.Reveal(), Urgent: an.Kind == announce.Safety,
			Kind: loc.T("announce.kind." + an.Kind), Audience: an.AudienceLabel, State: announceState(r, an),
			When: an.CreatedAt.In(school.Tokyo).Format("2006/1/2 15:04"), Sent: an.Counts.Sent, Total: an.Counts.Total - an.Counts.Skipped,
			Opened: an.Counts.Opened, Handouts: len(an.Handouts) > 0})
	}
	s.render(w, r, http.StatusOK, view.AnnouncementsPage(s.page(r, "announce.title"), v))
}

// composeOptions turns the audiences the person may address into the compose form's
// choices.
func (s *Server) composeOptions(r *http.Request, kind string, opts announce.Options) view.AnnounceCompose {
	loc := localizer(r)
	if kind != announce.Safety {
		kind = announce.Notice
	}
	v := view.AnnounceCompose{Kind: kind, Board: opts.Board, SchoolName: opts.SchoolName, CanSchool: opts.CanSchool, MaxMB: opts.MaxBytes >> 20}
	for _, c := range opts.Schools {
		v.Schools = append(v.Schools, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Label})
	}
	for _, d := range opts.Districts {
		v.Districts = append(v.Districts, view.Option{Value: d, Label: d})
	}
	for _, g := range opts.Grades {
		v.Grades = append(v.Grades, view.Option{Value: strconv.Itoa(g), Label: loc.T("announce.grade", map[string]any{"Grade": g})})
	}
	if kind == announce.Notice {
		for _, c := range opts.Classes {
			v.Classes = append(v.Classes, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Label})
		}
		for _, c := range opts.Clubs {
			v.Clubs = append(v.Clubs, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Label})
		}
	}
	return v
}

func (s *Server) composePage(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	opts, err := s.Announce.Compose(r.Context(), kind)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.composeOptions(r, kind, opts)
	f := view.Form{Values: map[string]string{"kind": v.Kind}}
	if !v.Board && !v.CanSchool && len(v.Classes) == 1 && len(v.Clubs) == 0 {
		f.Values["class"] = v.Classes[0].Value
	}
	s.render(w, r, http.StatusOK, view.ComposePage(s.page(r, "announce.new."+v.Kind), v, f))
}

// audienceOf reads the audience the form chose; the service settles it against what
// the person may address and labels it.
func audienceOf(r *http.Request) announce.Audience {
	var a announce.Audience
	ids := func(name string) []int64 {
		var out []int64
		for _, x := range r.PostForm[name] {
			if n, err := strconv.ParseInt(x, 10, 64); err == nil && n > 0 && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	a.Schools = ids("school")
	for _, d := range r.PostForm["district"] {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(a.Districts, d) {
			a.Districts = append(a.Districts, d)
		}
	}
	a.Whole = r.PostFormValue("whole") == "on"
	for _, x := range r.PostForm["grade"] {
		if n, err := strconv.Atoi(x); err == nil && n > 0 && !slices.Contains(a.Grades, n) {
			a.Grades = append(a.Grades, n)
		}
	}
	a.Classes = ids("class")
	a.Clubs = ids("club")
	return a
}

// maxHandoutBytes is the largest handout any board may allow; each board's own limit
// is checked by the service.
const maxHandoutBytes = 50 << 20

// readCompose reads the compose form (new or edit) of an announcement of kind: the
// values to show again and what the sender wrote, with the form's own mistakes; err is
// a failure that is not the sender's to fix.
func readCompose(r *http.Request, kind string) (f view.Form, c announce.Form, err error) {
	f = formOf(r, "kind", "title", "body", "occurred_at", "place", "details", "response", "consent", "whole", "scheduled_at")
	for _, name := range []string{"grade", "class", "club", "school", "district", "remove"} {
		f.Values[name] = strings.Join(r.PostForm[name], " ")
	}
	if kind != announce.Safety {
		kind = announce.Notice
	}
	c = announce.Form{Lang: localizer(r).Lang(), Compose: announce.Compose{Kind: kind, Audience: audienceOf(r), Title: f.V("title"), Body: f.V("body"),
		Consent: f.V("consent") == "on",
		Safety:  announce.SafetyFields{OccurredAt: f.V("occurred_at"), Place: f.V("place"), Details: f.V("details"), Response: f.V("response")}}}
	c.Problems = apperr.Fields{}
	if at := f.V("scheduled_at"); at != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", at, school.Tokyo)
		if err != nil {
			c.Problems.Add("scheduled_at", "announce.schedule.invalid")
		}
		c.ScheduledAt = t
	}
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["files"] {
			if fh.Size == 0 && fh.Filename == "" {
				continue
			}
			file, err := fh.Open()
			if err != nil {
				return f, c, err
			}
			data, err := io.ReadAll(io.LimitReader(file, maxHandoutBytes+1))
			file.Close()
			if err != nil {
				return f, c, err
			}
			c.Files = append(c.Files, announce.Upload{Name: fh.Filename, Data: data})
		}
	}
	return f, c, nil
}

// parseCompose parses a compose form's body (multipart, with files).
func parseCompose(r *http.Request) error {
	if err := r.ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return apperr.E(apperr.Invalid, "announce.file.too_large", err)
	}
	return nil
}

func (s *Server) createAnnouncement(w http.ResponseWriter, r *http.Request) {
	if err := parseCompose(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f, c, err := readCompose(r, r.PostFormValue("kind"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, opts, err := s.Announce.CreateFromForm(r.Context(), c)
	if err != nil {
		s.composeFailed(w, r, s.composeOptions(r, c.Kind, opts), f, c.Compose, err)
		return
	}
	seeOther(w, r, "/staff/announcements/"+strconv.FormatInt(id, 10))
}

// composeFailed shows the compose form v again with the service's complaints, or the
// error page when the failure is not the sender's to fix.
func (s *Server) composeFailed(w http.ResponseWriter, r *http.Request, v view.AnnounceCompose, f view.Form, c announce.Compose, err error) {
	if !formFailed(r, &f, err) {
		s.fail(w, r, err)
		return
	}
	if f.E("files") != "" || len(c.Files) > 0 {
		// A browser never re-sends files: say so beside the field.
		if f.Errors == nil {
			f.Errors = map[string]string{}
		}
		if f.Errors["files"] == "" {
			f.Errors["files"] = localizer(r).T("announce.files.again")
		}
	}
	title := "announce.new."
	if v.Editing {
		title = "announce.edit."
	}
	s.render(w, r, http.StatusUnprocessableEntity, view.ComposePage(s.page(r, title+v.Kind), v, f))
}

// editView is the compose form for an announcement being edited: its kind's audiences,
// its handouts (each removable) and where the form goes.
func (s *Server) editView(r *http.Request, e announce.EditForm) view.AnnounceCompose {
	an := e.Announcement
	v := s.composeOptions(r, an.Kind, e.Options)
	base := "/staff/announcements/" + strconv.FormatInt(an.ID, 10)
	v.Action, v.Back, v.Editing, v.Scheduled = base+"/edit", base, true, an.State == announce.Scheduled
	for _, h := range an.Handouts {
		v.Handouts = append(v.Handouts, view.Option{Value: strconv.FormatInt(h.ID, 10), Label: fmt.Sprintf("%s（%s）", h.Name.Reveal(), sizeLabel(h.Size))})
	}
	return v
}

// editForm fills the compose form with a stored announcement.
func (s *Server) editForm(an announce.Announcement) view.Form {
	f := view.Form{Values: map[string]string{"kind": an.Kind, "title": an.Title.Reveal(), "body": an.Body.Reveal()}}
	if an.Kind == announce.Safety {
		if sf, extra, ok := announce.ParseSafetyBody(s.Announce.T, an.Body.Reveal()); ok {
			f.Values["occurred_at"], f.Values["place"], f.Values["details"], f.Values["response"] = sf.OccurredAt, sf.Place, sf.Details, sf.Response
			f.Values["body"] = extra
		} else {
			// Laid out by another template: the whole text becomes the 内容 to fix.
			f.Values["details"], f.Values["body"] = an.Body.Reveal(), ""
		}
	}
	au := an.Audience
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
	if an.Consent {
		f.Values["consent"] = "on"
	}
	if !an.ScheduledAt.IsZero() {
		f.Values["scheduled_at"] = an.ScheduledAt.In(school.Tokyo).Format("2006-01-02T15:04")
	}
	return f
}

func (s *Server) editAnnouncementPage(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "announcementID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.Announce.OpenEdit(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.editView(r, e)
	s.render(w, r, http.StatusOK, view.ComposePage(s.page(r, "announce.edit."+v.Kind), v, s.editForm(e.Announcement)))
}

func (s *Server) updateAnnouncement(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "announcementID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseCompose(r); err != nil {
		s.fail(w, r, err)
		return
	}
	// The kind is the stored one's: the service keeps it, whatever the form says.
	f, c, err := readCompose(r, r.PostFormValue("kind"))
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
	e, err := s.Announce.UpdateFromForm(r.Context(), id, c, remove)
	if apperr.KindOf(err) == apperr.Conflict {
		// Sent (or started) meanwhile: nothing changed; the announcement says so.
		f := view.Form{}
		formFailed(r, &f, err)
		s.showAnnouncement(w, r, f, http.StatusConflict)
		return
	}
	if err != nil {
		if e.Announcement.ID == 0 {
			s.fail(w, r, err)
			return
		}
		s.composeFailed(w, r, s.editView(r, e), f, c.Compose, err)
		return
	}
	s.flash(r, "announce.flash.updated")
	seeOther(w, r, "/staff/announcements/"+strconv.FormatInt(id, 10))
}

func (s *Server) announcementPage(w http.ResponseWriter, r *http.Request) {
	s.showAnnouncement(w, r, view.Form{}, http.StatusOK)
}

func (s *Server) showAnnouncement(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	id, err := idParam(r, "announcementID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.Announce.OpenAnnouncement(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	an := page.Announcement
	loc := localizer(r)
	base := "/staff/announcements/" + strconv.FormatInt(an.ID, 10)
	d := view.AnnounceDetail{ID: strconv.FormatInt(an.ID, 10), Base: base, Title: an.Title.Reveal(), Body: an.Body.Reveal(), Kind: an.Kind,
		KindLabel: loc.T("announce.kind." + an.Kind), Audience: an.AudienceLabel, State: announceState(r, an), StateCode: an.State,
		Total: an.Counts.Total, Queued: an.Counts.Queued, Sent: an.Counts.Sent, Failed: an.Counts.Failed, Skipped: an.Counts.Skipped,
		Opened: an.Counts.Opened, NamesChild: an.NamesChild, Editable: page.Editable}
	if !an.ScheduledAt.IsZero() {
		d.Scheduled = an.ScheduledAt.In(school.Tokyo).Format("2006/1/2 15:04")
	}
	for _, h := range an.Handouts {
		d.Handouts = append(d.Handouts, view.Option{Value: base + "/handouts/" + strconv.FormatInt(h.ID, 10),
			Label: fmt.Sprintf("%s（%s）", h.Name.Reveal(), sizeLabel(h.Size))})
	}
	for _, m := range page.LINE {
		d.LINE = append(d.LINE, m.Text)
		for _, b := range m.Buttons {
			d.LINEButton = b.Label
		}
	}
	if an.State == announce.Draft {
		p := page.Preview
		d.Reach = p.Guardians
		for _, q := range p.OverQuota {
			d.OverQuota = append(d.OverQuota, loc.T("announce.quota.short", map[string]any{"Needed": q.Needed, "Remains": q.Remains}))
		}
	}
	s.render(w, r, status, view.AnnouncementPage(s.page(r, "announce.title"), d, f))
}

func sizeLabel(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", max(1, n>>10))
}

// announcementAction runs send, cancel or retry and returns to the announcement, after
// notice has left the page's one-time notice (nil: back to the list, as after a deletion).
func (s *Server) announcementAction(do func(r *http.Request, id int64) error, notice func(r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := idParam(r, "announcementID")
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
			s.showAnnouncement(w, r, f, http.StatusUnprocessableEntity)
			return
		}
		if notice == nil {
			seeOther(w, r, "/staff/announcements")
			return
		}
		notice(r)
		seeOther(w, r, "/staff/announcements/"+strconv.FormatInt(id, 10))
	}
}

// sendAnnouncement sends an announcement now or at its scheduled time, and says which.
func (s *Server) sendAnnouncement(w http.ResponseWriter, r *http.Request) {
	var at time.Time
	s.announcementAction(func(r *http.Request, id int64) error {
		var err error
		at, err = s.Announce.Send(r.Context(), id, r.PostFormValue("quota_ok") == "on")
		return err
	}, func(r *http.Request) {
		if at.IsZero() {
			s.flash(r, "announce.flash.sent")
			return
		}
		s.flashAt(r, "announce.flash.scheduled", at.In(school.Tokyo).Format("2006/1/2 15:04"))
	})(w, r)
}

func (s *Server) cancelAnnouncement(w http.ResponseWriter, r *http.Request) {
	s.announcementAction(func(r *http.Request, id int64) error { return s.Announce.Cancel(r.Context(), id) }, nil)(w, r)
}

func (s *Server) retryAnnouncement(w http.ResponseWriter, r *http.Request) {
	s.announcementAction(func(r *http.Request, id int64) error { return s.Announce.Retry(r.Context(), id) },
		func(r *http.Request) { s.flash(r, "announce.flash.retried") })(w, r)
}

func (s *Server) announcementRecipients(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "announcementID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	which := r.URL.Query().Get("list")
	if which == "" {
		which = "unread"
	}
	page, err := s.Announce.OpenRecipients(r.Context(), id, which)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	v := view.RecipientsPage{Back: "/staff/announcements/" + strconv.FormatInt(id, 10), Title: page.Announcement.Title.Reveal(),
		Heading: loc.T("announce.recipients." + which)}
	for _, x := range page.Rows {
		var kids []string
		for _, c := range x.Children {
			kids = append(kids, c.Reveal())
		}
		v.Rows = append(v.Rows, view.RecipientRow{Nickname: x.Nickname.Reveal(), Children: strings.Join(kids, "、"), State: loc.T("announce.delivery." + x.State)})
	}
	s.render(w, r, http.StatusOK, view.RecipientsListPage(s.page(r, "announce.title"), v))
}

func (s *Server) staffHandout(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "announcementID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hid, err := idParam(r, "handoutID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, data, err := s.Announce.Handout(r.Context(), id, hid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	servePDF(w, h.Name.Reveal(), data)
}

// servePDF sends a handout to be shown in the browser, never cached by shared caches.
func servePDF(w http.ResponseWriter, name string, data []byte) {
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// Parents' 配布プリント.

func (s *Server) parentHandouts(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	pg, err := s.Announce.ParentList(r.Context(), token, browserOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	r = s.parentLanguage(r, pg.Language)
	loc := localizer(r)
	v := view.ParentHandouts{}
	for _, it := range pg.Items {
		v.Items = append(v.Items, view.ParentHandoutItem{URL: "/p/handouts/" + token + "/a/" + strconv.FormatInt(it.ID, 10), Title: it.Title.Reveal(),
			When: it.SentAt.In(school.Tokyo).Format("2006/1/2"), Urgent: it.Kind == announce.Safety, Opened: it.Opened, Handouts: it.Handouts,
			Kind: loc.T("announce.kind." + it.Kind)})
	}
	s.render(w, r, http.StatusOK, view.ParentHandoutsPage(s.page(r, "announce.parent.title"), v))
}

func (s *Server) parentAnnouncement(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	id, err := idParam(r, "announcementID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, err := s.Announce.ParentOpen(r.Context(), token, browserOf(r), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	r = s.parentLanguage(r, pg.Language)
	an := pg.Open
	base := "/p/handouts/" + token + "/a/" + strconv.FormatInt(an.ID, 10)
	v := view.ParentAnnouncement{Back: "/p/handouts/" + token, Title: an.Title.Reveal(), Body: an.Body.Reveal(), Urgent: an.Kind == announce.Safety,
		When: an.StartedAt.In(school.Tokyo).Format("2006/1/2 15:04")}
	for _, h := range an.Handouts {
		v.Handouts = append(v.Handouts, view.Option{Value: base + "/files/" + strconv.FormatInt(h.ID, 10), Label: h.Name.Reveal() + "（" + sizeLabel(h.Size) + "）"})
	}
	s.render(w, r, http.StatusOK, view.ParentAnnouncementPage(s.page(r, "announce.parent.title"), v))
}

func (s *Server) parentHandoutFile(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	id, err := idParam(r, "announcementID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hid, err := idParam(r, "handoutID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, h, data, err := s.Announce.ParentHandout(r.Context(), token, browserOf(r), id, hid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	servePDF(w, h.Name.Reveal(), data)
}

// announceState is an announcement's state as staff read it, with why it was cancelled
// when the year rollover did it.
func announceState(r *http.Request, an announce.Announcement) string {
	loc := localizer(r)
	st := loc.T("announce.state." + an.State)
	if an.State == announce.Cancelled && an.CancelReason == "rollover" {
		st += "（" + loc.T("announce.cancelled_rollover") + "）"
	}
	return st
}
