package web

import (
	"encoding/json"
	"io/fs"
	"net/http"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/notify"
	assets "github.com/renraku/renraku/web"
	"github.com/renraku/renraku/web/view"
)

// notifyView turns a person's notification settings into the account page's section.
func notifyView(p view.Page, st notify.Settings, f view.Form) *view.NotifySettings {
	n := &view.NotifySettings{Own: st.Own, Start: notify.Clock(st.Window.Start), End: notify.Clock(st.Window.End),
		Office: officeLabel(p, st.Office), PushKey: st.VAPIDKey, Devices: st.Devices, Form: f}
	for _, k := range notify.Kinds {
		n.Kinds = append(n.Kinds, view.NotifyKind{Value: string(k), Label: p.T("notify.kind." + string(k)), On: st.On[k]})
	}
	for _, d := range []string{"1", "2", "3", "4", "5", "6", "0"} {
		n.Days = append(n.Days, view.NotifyDay{Value: d, Label: p.T("notify.day." + d), On: containsDigit(st.Window.Days, d)})
	}
	if f.Values == nil {
		n.Form.Values = map[string]string{"start": n.Start, "end": n.End}
	} else {
		// A refused form shows what the person typed.
		n.Own = f.V("hours") == "own"
		n.Start, n.End = f.V("start"), f.V("end")
		for i := range n.Kinds {
			n.Kinds[i].On = f.V("kind."+n.Kinds[i].Value) != ""
		}
		for i := range n.Days {
			n.Days[i].On = f.V("day."+n.Days[i].Value) != ""
		}
	}
	return n
}

func containsDigit(days, d string) bool {
	for _, c := range days {
		if string(c) == d {
			return true
		}
	}
	return false
}

// officeLabel is the office hours as the page names them: 08:00〜17:00（月火水木金）.
func officeLabel(p view.Page, w notify.Window) string {
	days := ""
	for _, d := range []string{"1", "2", "3", "4", "5", "6", "0"} {
		if containsDigit(w.Days, d) {
			days += p.T("notify.day." + d)
		}
	}
	return p.T("notify.hours_window", map[string]any{"Start": notify.Clock(w.Start), "End": notify.Clock(w.End), "Days": days})
}

// saveNotifications stores the person's notification choices from the account page.
func (s *Server) saveNotifications(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, apperr.E(apperr.Invalid, "form.invalid", err))
		return
	}
	f := notify.Form{On: map[live.Kind]bool{}, Hours: r.PostFormValue("hours"), Start: r.PostFormValue("start"),
		End: r.PostFormValue("end")}
	values := map[string]string{"hours": f.Hours, "start": f.Start, "end": f.End}
	for _, k := range notify.Kinds {
		if r.PostFormValue("kind."+string(k)) != "" {
			f.On[k] = true
			values["kind."+string(k)] = "on"
		}
	}
	for _, d := range r.PostForm["day"] {
		f.Days = append(f.Days, d)
		values["day."+d] = "on"
	}
	if err := s.Notify.SavePreferences(r.Context(), f); err != nil {
		vf := view.Form{Values: values}
		if !formFailed(r, &vf, err) {
			s.fail(w, r, err)
			return
		}
		s.showAccountWith(w, r, view.Form{}, vf, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "notify.saved")
	http.Redirect(w, r, "/staff/account#notifications", http.StatusSeeOther)
}

// pushSubscription is what PushSubscription.toJSON() gives.
type pushSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// readSubscription reads the posted subscription; what does not parse reads as empty.
func readSubscription(r *http.Request) pushSubscription {
	var sub pushSubscription
	if json.NewDecoder(r.Body).Decode(&sub) != nil {
		return pushSubscription{}
	}
	return sub
}

// subscribe stores this browser's Web Push subscription (posted by notify.js).
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	// A body that does not parse leaves the subscription empty: the service refuses it
	// after its authorisation check.
	sub := readSubscription(r)
	if err := s.Notify.Subscribe(r.Context(), notify.Subscription{Endpoint: sub.Endpoint, P256dh: sub.Keys.P256dh, Auth: sub.Keys.Auth}); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// unsubscribe removes this browser's subscription (posted by notify.js).
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	sub := readSubscription(r)
	if err := s.Notify.Unsubscribe(r.Context(), sub.Endpoint); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// notifyEvents streams the signed-in person's notifications to their open pages, which
// show them as desktop notifications (notify.js).
func (s *Server) notifyEvents(w http.ResponseWriter, r *http.Request) {
	staffID, err := s.Notify.Watch(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subscribe := func() (<-chan notify.Notification, func()) { return s.NotifyHub.Subscribe(staffID) }
	streamEvents(w, r, subscribe, func(n notify.Notification) (string, any, bool) { return "notify", n, true })
}

// serviceWorker serves the service worker that shows Web Push notifications. It is
// served under /staff/ so its scope is the staff pages; it holds no data.
func (s *Server) serviceWorker(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(assets.Static, "static/sw.js")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Service-Worker-Allowed", "/staff/")
	_, _ = w.Write(b)
}
