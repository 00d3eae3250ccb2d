package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/live"
)

// EventArgs is the job that finds who a change concerns and adds it to what waits for
// each of them.
type EventArgs struct {
	Event live.Event `json:"event"`
}

// Kind names the job.
func (EventArgs) Kind() string { return "notify.event" }

// InsertOpts puts it on the events queue.
func (EventArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueEvents} }

// SendArgs is the job that turns what waits for one person and kind into one
// notification.
type SendArgs struct {
	Staff int64     `json:"staff"`
	What  live.Kind `json:"kind"`
}

// Kind names the job.
func (SendArgs) Kind() string { return "notify.send" }

// InsertOpts puts it on the delivery queue.
func (SendArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueDelivery} }

// PushArgs is the job that sends one notification to one browser. It carries the
// notification itself (what and where, no personal data) and the subscription's ID.
type PushArgs struct {
	Subscription int64        `json:"subscription"`
	Notification Notification `json:"notification"`
}

// Kind names the job.
func (PushArgs) Kind() string { return "notify.push" }

// InsertOpts puts it on the delivery queue; a push service that keeps failing is
// given up after a day or so of back-off.
func (PushArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDelivery, MaxAttempts: maxPushAttempts}
}

const maxPushAttempts = 12

// Workers registers the notifications' jobs.
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &eventWorker{s: s})
	river.AddWorker(w, &sendWorker{s: s})
	river.AddWorker(w, &pushWorker{s: s})
}

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	s *Service
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	return w.s.Add(ctx, job.Args.Event)
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	s *Service
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	return w.s.Send(ctx, job.Args.Staff, job.Args.What)
}

type pushWorker struct {
	river.WorkerDefaults[PushArgs]
	s *Service
}

func (w *pushWorker) Work(ctx context.Context, job *river.Job[PushArgs]) error {
	return w.s.Push(ctx, job.Args, job.Attempt)
}

// concerned is one person a change concerns, and where it is for them.
type concerned struct {
	staffID int64
	place   Place
}

// recipients finds who e concerns, by duty, and where it is for each: the class's
// homeroom and sub-homeroom teachers (a message to the homeroom, an absence report, a
// registration to approve — or, for a class with neither, the school's administrators,
// who may approve it too), a club's advisors, the school office's staff, or the creator
// of a safety alert whose delivery finished. The person who made the change is left
// out; disabled accounts are never listed.
func (s *Service) recipients(ctx context.Context, e live.Event) ([]concerned, error) {
	var out []concerned
	if e.Kind == live.Delivery {
		if e.Staff == 0 || e.Announcement == 0 {
			return nil, nil
		}
		kind, err := s.Announcements.AnnouncementKind(ctx, e.Announcement)
		if err != nil || kind != announce.Safety {
			return nil, ignoreNotFound(err)
		}
		label := s.ja("notify.place.board", nil)
		if e.School != 0 {
			sc, err := s.Schools.FindSchoolByID(ctx, e.School)
			if err != nil {
				return nil, err
			}
			label = sc.Name
		}
		return []concerned{{staffID: e.Staff, place: Place{Label: label, Link: "/staff/announcements/" + strconv.FormatInt(e.Announcement, 10)}}}, nil
	}
	if e.School == 0 {
		return nil, nil
	}
	year := e.Year
	if year == 0 {
		sc, err := s.Schools.FindSchoolByID(ctx, e.School)
		if err != nil {
			return nil, ignoreNotFound(err)
		}
		year = sc.CurrentYear
	}
	classID, clubID := e.Class, e.Club
	link := kindLink(e.Kind)
	switch e.Kind {
	case live.Message:
		switch e.Target {
		case "advisor":
			classID = 0
		case "office":
			classID, clubID = 0, 0
		default:
			clubID = 0
		}
		if e.Conversation != 0 {
			link = "/staff/inbox/" + strconv.FormatInt(e.Conversation, 10)
		}
	case live.Absence, live.Registration:
		if classID == 0 {
			return nil, nil
		}
		clubID = 0
		if e.Kind == live.Absence {
			link = "/staff/absences?class=" + strconv.FormatInt(classID, 10)
		}
	}
	duties, err := s.Staff.DutyHolders(ctx, e.School, year, classID, clubID)
	if err != nil {
		return nil, err
	}
	for _, d := range duties {
		label := s.ja("notify.duty."+string(d.Duty), nil)
		if d.Target != "" {
			label = d.Target + " " + label
		}
		out = append(out, concerned{staffID: d.StaffID, place: Place{Label: label, Link: link}})
	}
	if e.Kind == live.Registration && len(out) == 0 {
		admins, err := s.Staff.SchoolAdmins(ctx, e.School)
		if err != nil {
			return nil, err
		}
		label := s.ja("notify.place.school_admin", nil)
		for _, id := range admins {
			out = append(out, concerned{staffID: id, place: Place{Label: label, Link: link}})
		}
	}
	// Leave out who made the change, and name each person once.
	seen := map[int64]bool{e.Staff: e.Staff != 0}
	kept := out[:0]
	for _, c := range out {
		if !seen[c.staffID] {
			seen[c.staffID] = true
			kept = append(kept, c)
		}
	}
	return kept, nil
}

func ignoreNotFound(err error) error {
	if apperr.KindOf(err) == apperr.NotFound {
		return nil
	}
	return err
}

// Add adds e to what waits for each person it concerns who wants it, and queues the
// send job of each (at most one a minute, inside the person's window).
func (s *Service) Add(ctx context.Context, e live.Event) error {
	if !Notifies(e.Kind) {
		return nil
	}
	cs, err := s.recipients(ctx, e)
	if err != nil || len(cs) == 0 {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		for _, c := range cs {
			r, err := s.Store.FindRecipient(ctx, c.staffID)
			if err != nil {
				return err
			}
			if r.Disabled || !r.Prefs.On(e.Kind) {
				continue
			}
			p, err := s.Store.AddPending(ctx, c.staffID, e.Kind, c.place)
			if err != nil {
				return err
			}
			if !p.Due.IsZero() {
				continue // a send job is queued already: it takes this one too
			}
			if err := s.schedule(ctx, r, e.Kind, DueAt(now, p.LastSent, r.Window(), s.pace())); err != nil {
				return err
			}
		}
		return nil
	})
}

// schedule queues the send job at due, or forgets what waits when the window never
// opens.
func (s *Service) schedule(ctx context.Context, r Recipient, kind live.Kind, due time.Time) error {
	if due.IsZero() {
		return s.Store.ClearPending(ctx, r.StaffID, kind, time.Time{})
	}
	if err := s.Store.SetDue(ctx, r.StaffID, kind, due); err != nil {
		return err
	}
	// A job due now is inserted available: scheduled ones wait for River's scheduler.
	var opts *river.InsertOpts
	if due.After(s.now()) {
		opts = &river.InsertOpts{ScheduledAt: due}
	}
	_, err := s.Jobs.Insert(ctx, SendArgs{Staff: r.StaffID, What: kind}, opts)
	return err
}

// Send turns what waits for a person and kind into one notification: a push job per
// subscribed browser and a signal to their open pages. Outside the person's window it
// waits for the window to open; what the person switched off meanwhile is dropped.
func (s *Service) Send(ctx context.Context, staffID int64, kind live.Kind) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Store.LockPending(ctx, staffID, kind)
		if err != nil {
			return ignoreNotFound(err)
		}
		r, err := s.Store.FindRecipient(ctx, staffID)
		if err != nil {
			return ignoreNotFound(err)
		}
		if p.Count == 0 || r.Disabled || !r.Prefs.On(kind) {
			return s.Store.ClearPending(ctx, staffID, kind, time.Time{})
		}
		now := s.now()
		if due := DueAt(now, p.LastSent, r.Window(), s.pace()); !due.Equal(now) {
			return s.schedule(ctx, r, kind, due)
		}
		n := Compose(p, s.ja)
		if err := s.Store.ClearPending(ctx, staffID, kind, now); err != nil {
			return err
		}
		subs, err := s.Store.FindSubscriptionIDs(ctx, staffID)
		if err != nil {
			return err
		}
		if len(subs) > 0 {
			params := make([]river.InsertManyParams, 0, len(subs))
			for _, id := range subs {
				params = append(params, river.InsertManyParams{Args: PushArgs{Subscription: id, Notification: n}})
			}
			if _, err := s.Jobs.InsertMany(ctx, params); err != nil {
				return err
			}
		}
		return s.Store.Signal(ctx, staffID, n)
	})
}

// Push sends one notification to one browser through its push service (Web Push:
// RFC 8291 encryption, VAPID). 404 and 410 mean the subscription has ended: it is
// removed. 429 and 5xx are tried again later (after Retry-After when given, else with
// River's back-off).
func (s *Service) Push(ctx context.Context, a PushArgs, attempt int) error {
	var sub Subscription
	var key VAPID
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if sub, err = s.Store.FindSubscription(ctx, a.Subscription); err != nil {
			return err
		}
		key, err = s.Store.FindVAPID(ctx)
		return err
	})
	if err != nil {
		return ignoreNotFound(err) // removed meanwhile, or Web Push switched off
	}
	payload, err := json.Marshal(a.Notification)
	if err != nil {
		return err
	}
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := webpush.SendNotificationWithContext(ctx, payload, &webpush.Subscription{
		Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth},
	}, &webpush.Options{
		HTTPClient: client, Subscriber: s.Subscriber, Topic: string(a.Notification.Kind), TTL: 4 * 3600,
		Urgency: webpush.UrgencyNormal, VAPIDPublicKey: key.Public, VAPIDPrivateKey: key.Private,
	})
	if err != nil {
		// An HTTP client error quotes the endpoint, which identifies a browser (stored
		// encrypted): keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
		}
		return fmt.Errorf("notify: push to subscription %d: %w", a.Subscription, err)
	}
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Store.DeleteSubscriptionByID(ctx, a.Subscription) })
	case code == http.StatusTooManyRequests || code >= 500:
		if attempt >= maxPushAttempts {
			return river.JobCancel(fmt.Errorf("notify: push service answered %d %d times", code, attempt))
		}
		if wait, ok := retryAfter(resp.Header.Get("Retry-After"), s.now()); ok {
			return river.JobSnooze(wait)
		}
		return fmt.Errorf("notify: push service answered %d", code)
	default:
		// 400, 403, 413: retrying the same request cannot help.
		s.Log.Warn("push refused", "subscription", a.Subscription, "status", code)
		return river.JobCancel(fmt.Errorf("notify: push service answered %d", code))
	}
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped at an hour.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, time.Second), time.Hour), true
}
