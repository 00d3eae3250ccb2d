package notify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/live"
)

// at is a moment in Tokyo; 2026-12-07 is a Monday.
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 12, day, hour, minute, 0, 0, Tokyo)
}

func TestWindowContains(t *testing.T) {
	t.Parallel()
	office := Window{Start: 8 * 60, End: 17 * 60, Days: "12345"}
	night := Window{Start: 22 * 60, End: 6 * 60, Days: "5"} // Friday 22:00 to Saturday 06:00
	tests := []struct {
		name string
		w    Window
		t    time.Time
		want bool
	}{
		{"monday morning inside", office, at(7, 8, 0), true},
		{"before opening", office, at(7, 7, 40), false},
		{"closing minute is outside", office, at(7, 17, 0), false},
		{"last minute inside", office, at(7, 16, 59), true},
		{"saturday is no office day", office, at(12, 10, 0), false},
		{"sunday is no office day", office, at(13, 10, 0), false},
		{"friday inside", office, at(11, 12, 0), true},
		{"UTC time read in Tokyo", office, time.Date(2026, 12, 6, 23, 30, 0, 0, time.UTC), true}, // Monday 08:30 JST
		{"overnight, evening of its day", night, at(11, 23, 0), true},
		{"overnight, morning after its day", night, at(12, 5, 59), true},
		{"overnight ends", night, at(12, 6, 0), false},
		{"overnight, evening of another day", night, at(10, 23, 0), false},
		{"overnight, morning after another day", night, at(11, 5, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.w.Contains(tc.t); got != tc.want {
				t.Errorf("Contains(%s) = %v, want %v", tc.t, got, tc.want)
			}
		})
	}
}

func TestWindowNext(t *testing.T) {
	t.Parallel()
	office := Window{Start: 8 * 60, End: 17 * 60, Days: "12345"}
	night := Window{Start: 22 * 60, End: 6 * 60, Days: "5"}
	tests := []struct {
		name string
		w    Window
		t    time.Time
		want time.Time
	}{
		{"inside: now", office, at(7, 9, 15), at(7, 9, 15)},
		{"early morning: opening", office, at(7, 7, 40), at(7, 8, 0)},
		{"evening: next morning", office, at(7, 19, 0), at(8, 8, 0)},
		{"friday evening: monday", office, at(11, 18, 0), at(14, 8, 0)},
		{"saturday: monday", office, at(12, 9, 0), at(14, 8, 0)},
		{"overnight from monday: friday night", night, at(7, 12, 0), at(11, 22, 0)},
		{"never opens", Window{Start: 480, End: 1020}, at(7, 9, 0), time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.w.Next(tc.t); !got.Equal(tc.want) {
				t.Errorf("Next(%s) = %s, want %s", tc.t, got, tc.want)
			}
		})
	}
}

// TestPacing: at most one notification a minute per person and kind, inside the window.
func TestPacing(t *testing.T) {
	t.Parallel()
	office := Window{Start: 8 * 60, End: 17 * 60, Days: "12345"}
	tests := []struct {
		name     string
		now      time.Time
		lastSent time.Time
		want     time.Time
	}{
		{"first ever: now", at(7, 9, 0), time.Time{}, at(7, 9, 0)},
		{"last one long ago: now", at(7, 9, 0), at(7, 8, 30), at(7, 9, 0)},
		{"last one 20 s ago: a minute after it", at(7, 9, 0), at(7, 9, 0).Add(-20 * time.Second), at(7, 9, 0).Add(40 * time.Second)},
		{"a minute after it falls after closing: next morning", at(7, 16, 59).Add(30 * time.Second), at(7, 16, 59).Add(10 * time.Second), at(8, 8, 0)},
		{"7:40 before the window: when it opens", at(7, 7, 40), time.Time{}, at(7, 8, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := DueAt(tc.now, tc.lastSent, office, time.Minute); !got.Equal(tc.want) {
				t.Errorf("DueAt = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPaceLeavesRoomForTheQueue: the production pace is a minute plus the push jobs'
// time in the queue (River's one-second poll), so that two notifications of a kind
// never reach a device less than a minute apart.
func TestPaceLeavesRoomForTheQueue(t *testing.T) {
	if Pace < time.Minute+time.Second || PushSlack < time.Second {
		t.Errorf("Pace %s (slack %s): a push delayed by the queue's one-second poll could reach the device under a minute after the previous one", Pace, PushSlack)
	}
}

func ja(id string, data map[string]any) string {
	texts := map[string]string{
		"notify.title.message.one":  "新しい連絡があります",
		"notify.title.message.many": "新しい連絡が%v件あります",
		"notify.title.absence.one":  "欠席・遅刻の連絡があります",
		"notify.place.more":         "%v ほか",
	}
	s := texts[id]
	if data != nil {
		for _, k := range []string{"Count", "Place"} {
			if v, ok := data[k]; ok {
				s = fmt.Sprintf(s, v)
			}
		}
	}
	return s
}

// TestCompose: events grouped into one notification say how many and where, and link
// to the page that shows them.
func TestCompose(t *testing.T) {
	t.Parallel()
	c11 := Place{Label: "1年1組 担任", Link: "/staff/inbox/7"}
	c12 := Place{Label: "1年2組 副担任", Link: "/staff/inbox/9"}
	tests := []struct {
		name string
		p    Pending
		want Notification
	}{
		{"one message", Pending{Kind: live.Message, Count: 1, Places: []Place{c11}},
			Notification{Kind: live.Message, Title: "新しい連絡があります", Body: "1年1組 担任", Link: "/staff/inbox/7"}},
		{"three in one place", Pending{Kind: live.Message, Count: 3, Places: []Place{c11}},
			Notification{Kind: live.Message, Title: "新しい連絡が3件あります", Body: "1年1組 担任", Link: "/staff/inbox/7"}},
		{"two places: the kind's list", Pending{Kind: live.Message, Count: 2, Places: []Place{c11, c12}},
			Notification{Kind: live.Message, Title: "新しい連絡が2件あります", Body: "1年1組 担任 ほか", Link: "/staff/inbox"}},
		{"same class, two conversations", Pending{Kind: live.Message, Count: 2, Places: []Place{c11, {Label: c11.Label, Link: "/staff/inbox/8"}}},
			Notification{Kind: live.Message, Title: "新しい連絡が2件あります", Body: "1年1組 担任", Link: "/staff/inbox"}},
		{"absence", Pending{Kind: live.Absence, Count: 1, Places: []Place{{Label: "1年1組 担任", Link: "/staff/absences?class=3"}}},
			Notification{Kind: live.Absence, Title: "欠席・遅刻の連絡があります", Body: "1年1組 担任", Link: "/staff/absences?class=3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Compose(tc.p, ja); got != tc.want {
				t.Errorf("Compose = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestKindChoices: every kind is on by default; what the person switched off is off;
// kinds nobody is notified of are never on.
func TestKindChoices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Prefs
		k    live.Kind
		want bool
	}{
		{"message on by default", Prefs{}, live.Message, true},
		{"absence on by default", Prefs{}, live.Absence, true},
		{"registration on by default", Prefs{}, live.Registration, true},
		{"delivery on by default", Prefs{}, live.Delivery, true},
		{"switched off", Prefs{Off: map[live.Kind]bool{live.Absence: true}}, live.Absence, false},
		{"others stay on", Prefs{Off: map[live.Kind]bool{live.Absence: true}}, live.Message, true},
		{"a reply is never notified", Prefs{}, live.Reply, false},
		{"an acknowledgement is never notified", Prefs{}, live.AbsenceAck, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.p.On(tc.k); got != tc.want {
				t.Errorf("On(%s) = %v, want %v", tc.k, got, tc.want)
			}
		})
	}
}

func TestFormCheck(t *testing.T) {
	t.Parallel()
	all := map[live.Kind]bool{live.Message: true, live.Absence: true, live.Registration: true, live.Delivery: true}
	tests := []struct {
		name   string
		f      Form
		window *Window
		off    int
		errs   map[string]string
	}{
		{"office hours", Form{On: all, Hours: "office"}, nil, 0, nil},
		{"two kinds off", Form{On: map[live.Kind]bool{live.Message: true, live.Registration: true}, Hours: "office"}, nil, 2, nil},
		{"own hours", Form{On: all, Hours: "own", Start: "07:30", End: "18:00", Days: []string{"5", "1", "1"}},
			&Window{Start: 450, End: 1080, Days: "15"}, 0, nil},
		{"overnight", Form{On: all, Hours: "own", Start: "22:00", End: "06:00", Days: []string{"0"}}, &Window{Start: 1320, End: 360, Days: "0"}, 0, nil},
		{"bad times", Form{On: all, Hours: "own", Start: "25:00", End: "8時", Days: []string{"1"}}, nil, 0,
			map[string]string{"start": "notify.time.invalid", "end": "notify.time.invalid"}},
		{"empty window", Form{On: all, Hours: "own", Start: "08:00", End: "08:00", Days: []string{"1"}}, nil, 0, map[string]string{"end": "notify.window.empty"}},
		{"no days", Form{On: all, Hours: "own", Start: "08:00", End: "17:00", Days: []string{"8"}}, nil, 0, map[string]string{"days": "notify.days.required"}},
		{"unknown choice", Form{On: all, Hours: "always"}, nil, 0, map[string]string{"hours": "notify.hours_invalid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := tc.f.check()
			if tc.errs != nil {
				fs := apperr.FieldsOf(err)
				if len(fs) != len(tc.errs) {
					t.Fatalf("errors %v, want %v", err, tc.errs)
				}
				for k, v := range tc.errs {
					if fs[k] != v {
						t.Errorf("field %s: %q, want %q", k, fs[k], v)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Off) != tc.off {
				t.Errorf("off %v, want %d", p.Off, tc.off)
			}
			if (p.Window == nil) != (tc.window == nil) || (p.Window != nil && *p.Window != *tc.window) {
				t.Errorf("window %+v, want %+v", p.Window, tc.window)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := at(7, 9, 0)
	tests := []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{"0", time.Second, true},
		{"86400", time.Hour, true},
		{now.Add(2 * time.Minute).UTC().Format(http1123), 2 * time.Minute, true},
		{"soon", 0, false},
	}
	for _, tc := range tests {
		got, ok := retryAfter(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s %v, want %s %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
	if !strings.Contains(Clock(7*60+5), "07:05") {
		t.Error(Clock(7*60 + 5))
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
