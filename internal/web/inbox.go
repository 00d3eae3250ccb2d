package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

func conversationWho(c inbox.Conversation) string {
	who := c.Nickname.Reveal()
	if c.ChildName != "" {
		who += "（" + c.ChildName.Reveal() + " " + c.ClassLabel + "）"
	}
	return who
}

// inboxPage lists a staff member's conversations. The filter form posts: without search
// words it redirects to the list's address (state and scope only); with them it shows
// the first page of matches, so names typed into the search never become part of an
// address (browser history, proxies, logs).
func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, apperr.E(apperr.Invalid, "inbox.filter.invalid", err))
		return
	}
	q := inbox.Query{State: r.Form.Get("state"), Scope: r.Form.Get("scope"), Q: strings.TrimSpace(r.PostForm.Get("q"))}
	q.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	q.Page = max(q.Page, 1)
	if r.Method == http.MethodPost && q.Q == "" {
		seeOther(w, r, inboxURL(q, 1))
		return
	}
	list, err := s.Inbox.List(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	f := view.InboxFilter{State: q.State, Scope: q.Scope, Q: q.Q, Self: inboxURL(q, q.Page)}
	for _, sc := range list.Scopes {
		f.Scopes = append(f.Scopes, view.Option{Value: sc.Value, Label: sc.Label})
	}
	switch {
	case list.More && q.Q != "":
		f.TooMany = true
	case list.More:
		f.Next = inboxURL(q, q.Page+1)
	}
	if q.Page > 1 {
		f.Prev = inboxURL(q, q.Page-1)
	}
	var items []view.InboxItem
	for _, c := range list.Conversations {
		items = append(items, view.InboxItem{ID: strconv.FormatInt(c.ID, 10), Label: c.Label, Who: conversationWho(c),
			State: loc.T("inbox.state." + c.State), Unread: c.Unread, At: c.LastMessageAt.In(school.Tokyo).Format("1/2 15:04")})
	}
	s.render(w, r, http.StatusOK, view.Inbox(s.page(r, "inbox.title"), items, f))
}

// inboxURL is the inbox list's address for a query's state and scope and a page (never
// its search words).
func inboxURL(q inbox.Query, page int) string {
	v := url.Values{}
	for k, x := range map[string]string{"state": q.State, "scope": q.Scope} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/staff/inbox"
	}
	return "/staff/inbox?" + v.Encode()
}

func (s *Server) showThread(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	id, err := idParam(r, "conversationID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	page, err := s.Inbox.OpenThread(r.Context(), id, max(before, 0))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, msgs, more := page.Conversation, page.Messages, page.More
	loc := localizer(r)
	t := view.Thread{ID: strconv.FormatInt(c.ID, 10), Label: c.Label, ReplyLabel: c.ReplyLabel(), Who: conversationWho(c), State: loc.T("inbox.state." + c.State),
		Assignee: c.AssigneeName.Reveal()}
	if more && len(msgs) > 0 {
		t.Older = "/staff/inbox/" + t.ID + "?before=" + strconv.FormatInt(msgs[0].ID, 10)
	}
	for _, cr := range page.Canned {
		t.Canned = append(t.Canned, view.Option{Value: strconv.FormatInt(cr.ID, 10), Label: cr.Title.Reveal()})
		if q := r.URL.Query().Get("canned"); q == strconv.FormatInt(cr.ID, 10) && f.V("body") == "" {
			if f.Values == nil {
				f.Values = map[string]string{}
			}
			f.Values["body"] = cr.Body.Reveal()
		}
	}
	for _, x := range page.Candidates {
		what := loc.T("role." + x.Role)
		if x.Duty != "" {
			what = loc.T("duty." + x.Duty)
		}
		t.Candidates = append(t.Candidates, view.Option{Value: strconv.FormatInt(x.ID, 10), Label: x.Name.Reveal() + "（" + what + "）"})
	}
	t.Messages = threadMessages(loc, c.ID, msgs)
	t.News = "/staff/inbox/" + t.ID + "/messages"
	p := s.page(r, "inbox.title")
	p.Title = t.Who
	s.render(w, r, status, view.ThreadPage(p, t, f))
}

// threadMessages are a thread's messages as shown.
func threadMessages(loc *i18n.Localizer, convID int64, msgs []inbox.Message) []view.ThreadMessage {
	base := "/staff/inbox/" + strconv.FormatInt(convID, 10)
	out := make([]view.ThreadMessage, 0, len(msgs))
	for _, m := range msgs {
		id := strconv.FormatInt(m.ID, 10)
		tm := view.ThreadMessage{ID: id, In: m.Direction == "in", Note: m.Direction == "note", Body: m.Body.Reveal(), Staff: m.StaffName.Reveal(),
			At: m.CreatedAt.In(school.Tokyo).Format("1/2 15:04")}
		if m.Delivery != "" {
			tm.Delivery = loc.T("inbox.delivery." + m.Delivery)
		}
		if m.Delivery == "failed" {
			tm.RetryURL = base + "/messages/" + id + "/retry"
		}
		if m.Kind == "sticker" {
			tm.Sticker = true
		}
		if m.Kind == "image" {
			if m.ContentState == "stored" {
				tm.Image = base + "/images/" + id
			} else {
				tm.ImageState = loc.T("inbox.image_" + m.ContentState)
			}
		}
		out = append(out, tm)
	}
	return out
}

// threadNews is what an open thread adds when it hears of a change (thread.js): the
// messages after the last one it shows (marked read as they are shown) and, when a
// colleague replied, handed the conversation on or changed its state, a notice that
// names them.
func (s *Server) threadNews(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "conversationID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	by, _ := strconv.ParseInt(q.Get("by"), 10, 64)
	n, err := s.Inbox.Since(r.Context(), id, after, by, q.Get("notice"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	news := view.ThreadNews{Messages: threadMessages(loc, n.Conversation.ID, n.Messages), Reload: "/staff/inbox/" + strconv.FormatInt(n.Conversation.ID, 10)}
	if n.Notice != "" {
		news.Notice = loc.T("inbox.live."+n.Notice, map[string]any{"Name": view.Isolate(n.Colleague.Reveal())})
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, view.ThreadNewsFragment(s.page(r, "inbox.title"), news))
}

func (s *Server) threadPage(w http.ResponseWriter, r *http.Request) {
	s.showThread(w, r, view.Form{}, http.StatusOK)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "conversationID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := view.Form{Values: map[string]string{"body": textValue(r, "body")}}
	if err := s.Inbox.Reply(r.Context(), id, f.V("body")); err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showThread(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	seeOther(w, r, "/staff/inbox/"+strconv.FormatInt(id, 10))
}

func (s *Server) conversationState(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "conversationID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Inbox.SetState(r.Context(), id, r.URL.Query().Get("state")); err != nil {
		s.fail(w, r, err)
		return
	}
	seeOther(w, r, "/staff/inbox/"+strconv.FormatInt(id, 10))
}

func (s *Server) inboxImage(w http.ResponseWriter, r *http.Request) {
	convID, err := idParam(r, "conversationID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msgID, err := idParam(r, "messageID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, ct, err := s.Inbox.Image(r.Context(), convID, msgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(data)
}

func (s *Server) note(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "conversationID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Inbox.Note(r.Context(), id, textValue(r, "note")); err != nil {
		f := view.Form{}
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showThread(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	seeOther(w, r, "/staff/inbox/"+strconv.FormatInt(id, 10))
}

func (s *Server) handOver(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "conversationID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to, _ := strconv.ParseInt(r.PostFormValue("assignee"), 10, 64)
	if err := s.Inbox.HandOver(r.Context(), id, to); err != nil {
		f := view.Form{}
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showThread(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "inbox.handed_over")
	seeOther(w, r, "/staff/inbox/"+strconv.FormatInt(id, 10))
}

func (s *Server) cannedPage(w http.ResponseWriter, r *http.Request) {
	s.showCanned(w, r, view.Form{}, http.StatusOK)
}

func (s *Server) showCanned(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	page, err := s.Inbox.OpenCanned(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c := view.CannedPage{CanSchool: page.CanSchool}
	for _, x := range page.Items {
		c.Items = append(c.Items, view.CannedItem{ID: strconv.FormatInt(x.ID, 10), Title: x.Title.Reveal(), Body: x.Body.Reveal(), School: x.StaffID == 0})
	}
	s.render(w, r, status, view.Canned(s.page(r, "canned.title"), c, f))
}

func (s *Server) addCanned(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "title", "body")
	if err := s.Inbox.AddCanned(r.Context(), f.V("title"), f.V("body"), r.PostFormValue("school") == "on"); err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showCanned(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	seeOther(w, r, "/staff/canned")
}

func (s *Server) deleteCanned(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "cannedID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Inbox.DeleteCanned(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	seeOther(w, r, "/staff/canned")
}

func (s *Server) retryReply(w http.ResponseWriter, r *http.Request) {
	convID, err := idParam(r, "conversationID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msgID, err := idParam(r, "messageID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Inbox.Retry(r.Context(), convID, msgID); err != nil && apperr.KindOf(err) != apperr.Conflict {
		s.fail(w, r, err)
		return
	}
	seeOther(w, r, "/staff/inbox/"+strconv.FormatInt(convID, 10))
}
