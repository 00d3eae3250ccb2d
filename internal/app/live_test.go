package app_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/live"
)

// TestFeaturesPublishLiveEvents follows a school administrator's live stream while
// the features do their work: a registration that waits for approval, its approval,
// a parent's absence report, its acknowledgement and an announcement's delivery each
// reach it once, as the kind of change and IDs only, with the member of staff who
// made it.
func TestFeaturesPublishLiveEvents(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	kocho := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho")
	kochoCtx := apptest.SignedInAs(t, w, "sakura.kocho")
	principal, err := s.Staff.FindByLogin(ctx, "sakura.kocho")
	if err != nil {
		t.Fatal(err)
	}
	stream := liveStream(t, kocho)
	staff := func(id int64) string { return `"staff":` + strconv.FormatInt(id, 10) + `}` }
	// next reads the stream up to the next event of kind, which must name staff.
	next := func(kind, staff string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case e := <-stream:
				if e[0] != kind {
					continue
				}
				if !strings.HasPrefix(e[1], `{"conversation":0,`) || !strings.HasSuffix(e[1], staff) {
					t.Errorf("%s event: %s, want IDs only ending %s", kind, e[1], staff)
				}
				return
			case <-timeout:
				t.Fatalf("no %s event", kind)
			}
		}
	}

	// The child's first guardian is verified by the class code; a second one waits for
	// the school, which approves.
	parent, pb := apptest.RegisteredParent(t, w, "青木 春子", "青木 一郎", code)
	apptest.RegisteredParent(t, w, "青木 秋男", "青木 一郎", code)
	next("registration", staff(0))
	var waiting int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM guardianship WHERE status = 'pending'`).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Registration.Decide(kochoCtx, waiting, true); err != nil {
		t.Fatal(err)
	}
	next("registration_decided", staff(principal.ID))

	// The first parent reports an absence for tomorrow; the school acknowledges it.
	day := absence.Today(time.Now()).AddDate(0, 0, 1)
	link := apptest.AbsenceLink(t, w, parent, 1)
	page := pb.Get(link)
	key, _ := page.Doc.Find(`input[name="key"]`).Attr("value")
	child, _ := page.Doc.Find(`input[name="child"]`).Attr("value")
	if r := pb.Post(link, url.Values{"kind": {"absent"}, "from": {day.Format("2006-01-02")}, "reason": {"family"}, "key": {key}, "child": {child}}); r.Status != http.StatusOK {
		t.Fatalf("absence report: %d %s", r.Status, apptest.Text(r))
	}
	next("absence", staff(0))
	// A second report, for the day after, which the parent cancels before the school
	// sees it.
	later := day.AddDate(0, 0, 1)
	page = pb.Get(link)
	key, _ = page.Doc.Find(`input[name="key"]`).Attr("value")
	if r := pb.Post(link, url.Values{"kind": {"late"}, "from": {later.Format("2006-01-02")}, "time": {"10:00"}, "reason": {"hospital"}, "key": {key}, "child": {child}}); r.Status != http.StatusOK {
		t.Fatalf("second report: %d %s", r.Status, apptest.Text(r))
	}
	next("absence", staff(0))
	var second int64
	if err := s.Pool.QueryRow(ctx, `SELECT max(id) FROM absence_report`).Scan(&second); err != nil {
		t.Fatal(err)
	}
	if r := pb.Post(link+"/cancel/"+strconv.FormatInt(second, 10), nil); r.Status >= 400 {
		t.Fatalf("cancel: %d %s", r.Status, apptest.Text(r))
	}
	next("absence_cancel", staff(0))
	if n, err := s.Absence.Acknowledge(kochoCtx, class11, day, nil); err != nil || n != 1 {
		t.Fatalf("acknowledge: %d %v", n, err)
	}
	next("absence_ack", staff(principal.ID))

	// The administrator sends a notice to the whole school: its delivery finishes.
	kocho.Get("/staff/announcements/new")
	r := kocho.Compose(url.Values{"kind": {"notice"}, "whole": {"on"}, "title": {"学校だより"}, "body": {"行事予定です。"}}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("compose: %d %s", r.Status, apptest.Text(r))
	}
	if r := kocho.Post(r.Location+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.Status, apptest.Text(r))
	}
	next("delivery", staff(principal.ID))

	// A control event published last: before it, nothing came twice.
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.Inbox.Live.Publish(ctx, live.Event{Kind: live.Delivery, Board: principal.BoardID, School: sakuraID, Staff: -1})
	}); err != nil {
		t.Fatal(err)
	}
	for timeout := time.After(30 * time.Second); ; {
		select {
		case e := <-stream:
			if strings.HasSuffix(e[1], staff(-1)) {
				return
			}
			t.Errorf("an event came again: %v", e)
		case <-timeout:
			t.Fatal("no control event")
		}
	}
}

// liveStream opens a staff member's live stream (/staff/live), once subscribed, and
// delivers each event as its kind and data.
func liveStream(t *testing.T, c *apptest.StaffClient) <-chan [2]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req := apptest.MustRequest(t, http.MethodGet, c.Base+"/staff/live", nil).WithContext(ctx)
	// The staff client's timeout would cut a stream that never ends by itself.
	resp, err := (&http.Client{Jar: c.HTTP.Jar}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("live stream: %v %v", resp, err)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || sc.Text() != ": ok" {
		t.Fatalf("live stream began with %q", sc.Text())
	}
	out := make(chan [2]string, 256)
	go func() {
		defer resp.Body.Close()
		var e [2]string
		for sc.Scan() {
			switch line := sc.Text(); {
			case strings.HasPrefix(line, "event: "):
				e[0] = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				e[1] = strings.TrimPrefix(line, "data: ")
			case line == "" && e[0] != "":
				out <- e
				e = [2]string{}
			}
		}
	}()
	return out
}
