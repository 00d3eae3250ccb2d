package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/worklist"
	"github.com/renraku/renraku/web/view"
)

// staffWork answers the work queue alone, for the home page to fetch again when
// something changes (htmx, on the live event work-changed); the X-Work-Total header
// and the fragment's data-work-total carry the number waiting.
func (s *Server) staffWork(w http.ResponseWriter, r *http.Request) {
	q, err := s.Worklist.Queue(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := workView(localizer(r), q)
	w.Header().Set("X-Work-Total", strconv.Itoa(v.Total))
	s.render(w, r, http.StatusOK, view.WorkQueueFragment(s.page(r, "home.title_short"), v))
}

// ageText is how long ago something began to wait (「35分前」「2日前」).
func ageText(loc *i18n.Localizer, q worklist.Queue, l worklist.Line) string {
	n, unit := worklist.Age(l.Since, q.Now)
	return loc.T("work.age."+unit, map[string]any{"N": n})
}

// workView turns a queue into its lines in the reader's language, each linking to the
// page that resolves it, already filtered.
func workView(loc *i18n.Localizer, q worklist.Queue) view.WorkQueue {
	v := view.WorkQueue{Total: q.Total, Board: q.Role == worklist.Board}
	for _, l := range q.Lines {
		since := loc.T("work.since", map[string]any{"Age": ageText(loc, q, l)})
		wl := view.WorkLine{Kind: l.Kind, Late: l.Late}
		switch l.Kind {
		case worklist.KindRegistrations:
			wl.Text = loc.T("work.registration", map[string]any{"Class": l.Label, "Count": l.Count})
			wl.Note, wl.Href = since, "/staff/approvals"
		case worklist.KindAbsences:
			wl.Text = loc.T("work.absence", map[string]any{"Class": l.Label, "Count": l.Count})
			wl.Note = since
			if l.Late {
				wl.Note = loc.T("work.absence_late", map[string]any{"Cutoff": q.Cutoff}) + " · " + since
			}
			wl.Href = "/staff/absences?" + url.Values{"class": {strconv.FormatInt(l.ClassID, 10)}, "date": {l.Day.Format("2006-01-02")}}.Encode()
		case worklist.KindConversations:
			wl.Text = loc.T("work.conversation."+l.State, map[string]any{"Label": l.Label, "Count": l.Count})
			wl.Note, wl.Href = since, inboxHref(l, l.State)
		case worklist.KindOverdue:
			wl.Text = loc.T("work.overdue", map[string]any{"Label": l.Label, "Count": l.Count, "Days": q.Window})
			wl.Note, wl.Href, wl.Late = since, inboxHref(l, ""), true
		case worklist.KindDeliveries:
			wl.Text = loc.T("work.delivery."+l.AnnouncementKind, map[string]any{"Audience": l.Audience, "Count": l.Count})
			wl.Note = loc.T("work.delivery_sent", map[string]any{"At": l.Since.In(school.Tokyo).Format("1/2 15:04")})
			wl.Href = "/staff/announcements/" + strconv.FormatInt(l.AnnouncementID, 10)
		case worklist.KindQuota:
			wl.Text = quotaText(loc, "work.quota", l.Quota.Limited, l.Quota.Used, l.Quota.Limit)
			wl.Href = schoolURL(l.SchoolID, "/channel")
		case worklist.KindClosure:
			id := "work.closure_near"
			if l.Late {
				id = "work.closure_over"
			}
			wl.Text = loc.T(id, map[string]any{"Class": l.Label, "Count": l.Closure, "Enrolment": l.Enrolment, "Percent": l.Percent})
			wl.Href = "/staff/absences/stats"
		}
		v.Lines = append(v.Lines, wl)
	}
	for _, r := range q.Schools {
		id := strconv.FormatInt(r.School.ID, 10)
		cov := loc.T("work.board.coverage_value", map[string]any{"Families": r.Coverage.Families, "Children": r.Coverage.Children,
			"Enrolment": r.Coverage.Enrolment})
		if r.Coverage.Unset > 0 {
			cov += " " + loc.T("work.board.coverage_unset", map[string]any{"Count": r.Coverage.Unset})
		}
		quota := loc.T("work.board.quota_unknown")
		if r.QuotaKnown {
			quota = quotaText(loc, "work.board.quota_value", r.Quota.Limited, r.Quota.Used, r.Quota.Limit)
		}
		v.Schools = append(v.Schools, view.WorkSchool{Name: r.School.Name, Href: schoolURL(r.School.ID, ""), Cells: []view.WorkCell{
			{Kind: "coverage", Text: cov, Href: schoolURL(r.School.ID, "/structure")},
			{Kind: "absences", Text: loc.T("work.board.absences_value", map[string]any{"Absent": r.Absences.Absent, "Late": r.Absences.Late,
				"Early": r.Absences.Early}), Href: "/staff/absences/stats?" + url.Values{"school": {id}}.Encode()},
			{Kind: "overdue", Text: loc.T("work.board.count", map[string]any{"Count": r.Overdue}), Href: schoolURL(r.School.ID, ""), Alert: r.Overdue > 0},
			{Kind: "quota", Text: quota, Href: schoolURL(r.School.ID, "/channel")},
			{Kind: "failed", Text: loc.T("work.board.count", map[string]any{"Count": r.Failed}), Href: "/staff/announcements", Alert: r.Failed > 0},
		}})
	}
	return v
}

// inboxHref is the inbox list narrowed to a line's class, club or office (and state).
func inboxHref(l worklist.Line, state string) string {
	q := url.Values{}
	switch {
	case l.ClassID != 0:
		q.Set("scope", "class:"+strconv.FormatInt(l.ClassID, 10))
	case l.ClubID != 0:
		q.Set("scope", "club:"+strconv.FormatInt(l.ClubID, 10))
	case l.Office:
		q.Set("scope", "office")
	}
	if state != "" {
		q.Set("state", state)
	}
	return "/staff/inbox?" + q.Encode()
}

// quotaText is a channel's messages this month against its quota.
func quotaText(loc *i18n.Localizer, id string, limited bool, used, limit int64) string {
	if !limited {
		return loc.T(id+"_unlimited", map[string]any{"Used": used})
	}
	return loc.T(id, map[string]any{"Used": used, "Limit": limit})
}
