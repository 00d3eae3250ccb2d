package web

import (
	"net/http"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/web/view"
)

func (s *Server) channelPage(w http.ResponseWriter, r *http.Request) {
	s.showChannel(w, r, view.Form{}, "", false, http.StatusOK)
}

func (s *Server) showChannel(w http.ResponseWriter, r *http.Request, f view.Form, result string, ok bool, status int) {
	sc, head, err := s.schoolHead(r, view.TabChannel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, err := s.Channels.OpenChannelPage(r.Context(), sc.BoardID, sc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, u := pg.Status, pg.Usage
	if f.Values == nil {
		f.Values = map[string]string{"channel_id": st.ChannelID}
	}
	v := view.Channel{Head: head, Configured: st.Configured, ChannelID: st.ChannelID, TestResult: result, TestOK: ok}
	if st.Configured {
		loc := localizer(r)
		for _, x := range u.Sent {
			v.Usage = append(v.Usage, view.UsageRow{Purpose: loc.T("channel.purpose." + usagePurpose(x.Purpose)),
				Method: loc.T("channel.method." + usageMethod(x.Method)), Count: x.Count, Free: x.Method == "reply"})
		}
		if u.QuotaKnown {
			v.Quota = quotaText(loc, "channel.quota", u.Quota.Limited, u.Quota.Used, u.Quota.Limit)
		}
	}
	s.render(w, r, status, view.ChannelPage(s.page(r, "admin.tab.channel"), v, f))
}

func (s *Server) saveChannel(w http.ResponseWriter, r *http.Request) {
	sc, _, err := s.schoolHead(r, view.TabChannel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := formOf(r, "channel_id", "secret", "token")
	err = s.Channels.SaveChannel(r.Context(), sc.BoardID, sc.ID, f.V("channel_id"), f.V("secret"), f.V("token"))
	f.Values["secret"], f.Values["token"] = "", ""
	if err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showChannel(w, r, f, "", false, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, schoolURL(sc.ID, "/channel"))
}

func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) {
	sc, _, err := s.schoolHead(r, view.TabChannel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	info, err := s.Channels.TestChannel(r.Context(), sc.BoardID, sc.ID)
	if err != nil {
		if apperr.KindOf(err) != apperr.Invalid {
			s.fail(w, r, err)
			return
		}
		s.showChannel(w, r, view.Form{}, localizer(r).T(apperr.MessageIDOf(err)), false, http.StatusOK)
		return
	}
	msg := localizer(r).T("channel.test_ok", map[string]any{"Name": info.DisplayName, "BasicID": info.BasicID})
	s.showChannel(w, r, view.Form{}, msg, true, http.StatusOK)
}

// usagePurpose maps an outbox purpose to its label's key ("other" for new ones).
func usagePurpose(p string) string {
	switch p {
	case "welcome", "reply", "registration", "absence", "absence_ack", "contact", "staff_reply", "handouts", "notice", "safety", "rollover":
		return p
	}
	return "other"
}

// usageMethod maps how LINE was asked to send to its label's key ("other" for new ones).
func usageMethod(m string) string {
	switch m {
	case "push", "reply", "multicast":
		return m
	}
	return "other"
}
