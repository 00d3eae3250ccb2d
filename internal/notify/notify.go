package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/live"
)

// Kinds are the changes a person may be notified of, in the order the account page
// lists them. Every other live.Kind is ignored.
var Kinds = []live.Kind{live.Message, live.Absence, live.Registration, live.Delivery}

// Notifies reports whether k is a kind of change people are notified of.
func Notifies(k live.Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Tokyo is the time zone windows are read in (schools' office hours are Asia/Tokyo).
var Tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return l
}()

// Window is the hours notifications may be sent (通知する時間帯): from Start to End
// (minutes after midnight, Asia/Tokyo) on Days (weekday digits, 0 = Sunday). A Start
// after End is a window across midnight, which belongs to the day it opens on.
type Window struct {
	Start, End int
	Days       string
}

// BoardWindow is the window of a person with no school (board administrators): 08:00 to
// 17:00, Monday to Friday.
var BoardWindow = Window{Start: 8 * 60, End: 17 * 60, Days: "12345"}

// ParseWindow reads a window from "HH:MM" times and weekday digits.
func ParseWindow(start, end, days string) (Window, error) {
	s, err1 := ParseClock(start)
	e, err2 := ParseClock(end)
	if err1 != nil || err2 != nil {
		return Window{}, fmt.Errorf("notify: window %q–%q: bad time", start, end)
	}
	return Window{Start: s, End: e, Days: days}, nil
}

// ParseClock reads "HH:MM" (or PostgreSQL's "HH:MM:SS") as minutes after midnight.
func ParseClock(s string) (int, error) {
	var h, m int
	if len(s) < 5 || s[2] != ':' {
		return 0, fmt.Errorf("notify: time %q", s)
	}
	if _, err := fmt.Sscanf(s[:5], "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, fmt.Errorf("notify: time %q", s)
	}
	return h*60 + m, nil
}

// Clock formats minutes after midnight as "HH:MM".
func Clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

func (w Window) openOn(day time.Weekday) bool {
	return strings.ContainsRune(w.Days, rune('0'+int(day)))
}

// Contains reports whether t is inside the window.
func (w Window) Contains(t time.Time) bool {
	t = t.In(Tokyo)
	m := t.Hour()*60 + t.Minute()
	if w.Start < w.End {
		return w.openOn(t.Weekday()) && m >= w.Start && m < w.End
	}
	// Across midnight: the evening part belongs to today, the morning part to the day
	// before.
	return (w.openOn(t.Weekday()) && m >= w.Start) || (w.openOn((t.Weekday()+6)%7) && m < w.End)
}

// Next returns t when t is inside the window, else the moment it next opens (the zero
// time when it never opens: no days).
func (w Window) Next(t time.Time) time.Time {
	if w.Contains(t) {
		return t
	}
	l := t.In(Tokyo)
	for d := 0; d <= 7; d++ {
		day := time.Date(l.Year(), l.Month(), l.Day()+d, 0, 0, 0, 0, Tokyo)
		if !w.openOn(day.Weekday()) {
			continue
		}
		open := day.Add(time.Duration(w.Start) * time.Minute)
		if open.After(t) {
			return open
		}
	}
	return time.Time{}
}

// Prefs are a person's notification choices.
type Prefs struct {
	// Off lists the kinds the person switched off; every kind is on by default.
	Off map[live.Kind]bool
	// Window is the person's own window; nil follows the school's office hours.
	Window *Window
}

// On reports whether the person wants notifications of kind k.
func (p Prefs) On(k live.Kind) bool { return Notifies(k) && !p.Off[k] }

// Recipient is a member of staff as the sender needs them: whether they may receive
// anything, their choices and the window that applies when they chose none.
type Recipient struct {
	StaffID  int64
	BoardID  int64
	SchoolID int64
	Disabled bool
	Prefs    Prefs
	// Office is the school's office hours (BoardWindow for a person with no school).
	Office Window
}

// Window is the window that applies to the recipient.
func (r Recipient) Window() Window {
	if r.Prefs.Window != nil {
		return *r.Prefs.Window
	}
	return r.Office
}

// Place is where an event happened, as a notification names it: a class or club with
// the person's duty, or the school, and the page that shows it. Never a person.
type Place struct {
	Label string `json:"label"`
	Link  string `json:"link"`
}

// Pending is what waits to be sent to one person for one kind.
type Pending struct {
	StaffID int64
	Kind    live.Kind
	Count   int
	Places  []Place
	// Due is when the queued send job runs (zero: none queued).
	Due      time.Time
	LastSent time.Time
}

// Pace is the least time between two sends of notifications of one kind to one
// person: a minute, and PushSlack more. A send queues its pushes as jobs, and River may
// start them up to a second later (it polls once a second when its insert signal is
// dropped, as it is for jobs queued in a burst), so the first push of a pair can leave
// late and the next on time: the slack keeps two notifications of a kind from reaching
// a device less than a minute apart (measured by cmd/workbench).
const Pace = time.Minute + PushSlack

// PushSlack is the most a push job is expected to wait in the queue after its send.
const PushSlack = 2 * time.Second

// DueAt is when a notification of events arriving at now may be sent: at least pace
// after the last one, inside the window (the zero time when the window never opens).
func DueAt(now, lastSent time.Time, w Window, pace time.Duration) time.Time {
	due := now
	if !lastSent.IsZero() && lastSent.Add(pace).After(due) {
		due = lastSent.Add(pace)
	}
	return w.Next(due)
}

// Notification is one notification as shown: what and where, and the page to open.
type Notification struct {
	Kind  live.Kind `json:"kind"`
	Title string    `json:"title"`
	Body  string    `json:"body"`
	Link  string    `json:"link"`
}

// Compose turns what waited into one notification. t translates catalogue IDs
// (Japanese). Several places are named by the first and 「ほか」; the link is the
// places' common page, or the kind's list when they differ.
func Compose(p Pending, t func(id string, data map[string]any) string) Notification {
	n := Notification{Kind: p.Kind, Link: kindLink(p.Kind)}
	if p.Count <= 1 {
		n.Title = t("notify.title."+string(p.Kind)+".one", nil)
	} else {
		n.Title = t("notify.title."+string(p.Kind)+".many", map[string]any{"Count": p.Count})
	}
	if len(p.Places) > 0 {
		n.Body = p.Places[0].Label
		n.Link = p.Places[0].Link
		for _, pl := range p.Places[1:] {
			if pl.Label != p.Places[0].Label {
				n.Body = t("notify.place.more", map[string]any{"Place": p.Places[0].Label})
			}
			if pl.Link != p.Places[0].Link {
				n.Link = kindLink(p.Kind)
			}
		}
	}
	return n
}

// kindLink is the page that lists every change of a kind the person may see.
func kindLink(k live.Kind) string {
	switch k {
	case live.Absence:
		return "/staff/absences"
	case live.Registration:
		return "/staff/approvals"
	case live.Delivery:
		return "/staff/announcements"
	}
	return "/staff/inbox"
}

// Settings are a person's choices as the account page shows and saves them.
type Settings struct {
	// On says, per kind, whether the person is notified.
	On map[live.Kind]bool
	// Own is true when the person set their own window; Window is the one in force.
	Own    bool
	Window Window
	// Office is the school's office hours (the default).
	Office Window
	// VAPIDKey is the server's public key for PushManager.subscribe; "" when Web Push
	// is off (no key pair: `renraku keys vapid`).
	VAPIDKey string
	// Devices counts the person's subscribed browsers.
	Devices int
}

// Form is the account page's notification form.
type Form struct {
	// On holds the kinds ticked.
	On map[live.Kind]bool
	// Hours is "office" (the school's office hours) or "own".
	Hours      string
	Start, End string
	Days       []string
}

// check validates the form and returns the choices to store.
func (f Form) check() (Prefs, error) {
	p := Prefs{Off: map[live.Kind]bool{}}
	for _, k := range Kinds {
		if !f.On[k] {
			p.Off[k] = true
		}
	}
	switch f.Hours {
	case "office", "":
		return p, nil
	case "own":
	default:
		return p, apperr.Fields{"hours": "notify.hours_invalid"}
	}
	fs := apperr.Fields{}
	s, err := ParseClock(strings.TrimSpace(f.Start))
	if err != nil {
		fs.Add("start", "notify.time.invalid")
	}
	e, err := ParseClock(strings.TrimSpace(f.End))
	if err != nil {
		fs.Add("end", "notify.time.invalid")
	}
	if len(fs) == 0 && s == e {
		fs.Add("end", "notify.window.empty")
	}
	days := ""
	for d := 0; d < 7; d++ {
		for _, x := range f.Days {
			if x == string(rune('0'+d)) && !strings.ContainsRune(days, rune('0'+d)) {
				days += x
			}
		}
	}
	if days == "" {
		fs.Add("days", "notify.days.required")
	}
	if err := fs.Err(); err != nil {
		return p, err
	}
	p.Window = &Window{Start: s, End: e, Days: days}
	return p, nil
}

// Subscription is a browser's Web Push subscription as PushManager gives it.
type Subscription struct {
	Endpoint string
	P256dh   string
	Auth     string
}
