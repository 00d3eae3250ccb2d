package absence

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
)

// Service is absence reporting's use cases.
type Service struct {
	Tx        txn.Transactor
	Store     Store
	Guardians Guardians
	Links     Links
	Friends   Friends
	Outbox    Outbox
	// Schools are the schools offered on the statistics page.
	Schools Schools
	Audit   *audit.Log
	// Live tells open staff pages (and notifications) of new reports and
	// acknowledgements, in the transaction that makes them.
	Live live.Publisher
	// T translates a LINE message into a language.
	T func(lang, id string, data map[string]any) string
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
}

func (s *Service) now() time.Time {
	return s.Clock.Now().In(school.Tokyo)
}

// Today is the school day of t in Asia/Tokyo, at midnight.
func Today(t time.Time) time.Time { return school.Day(t) }

// Register answers 「遅刻・欠席連絡」 in LINE with the parent's link to the form.
func (s *Service) Register(l line.Router) {
	l.HandlePostback("menu.absence", s.onMenu)
}

func (s *Service) onMenu(ctx context.Context, in *line.Incoming) error {
	if in.Friend == nil || !in.Friend.Following {
		return nil
	}
	textID, purpose := "absence.line.link", parentlink.PurposeAbsence
	if g, err := s.Guardians.FindGuardianByFriend(ctx, in.Friend.ID); apperr.KindOf(err) == apperr.NotFound {
		textID, purpose = "reg.line.register", parentlink.PurposeRegister
	} else if err != nil {
		return err
	} else if awaitsSchool(g) {
		// Every child they could report for waits for the school: say so instead of
		// sending a form that would refuse them.
		_, err := s.Outbox.Queue(ctx, line.Send{Friend: *in.Friend, Purpose: "absence", Reply: in,
			Messages: []line.Message{{Text: s.T(in.Friend.Language, "absence.line.awaiting", nil)}}})
		return err
	}
	url, err := s.Links.Issue(ctx, in.Friend.ID, purpose)
	if err != nil {
		return err
	}
	lang := in.Friend.Language
	text := s.T(lang, textID, nil)
	label := s.T(lang, "absence.line.button", nil)
	if purpose == parentlink.PurposeRegister {
		label = s.T(lang, "reg.line.button_register", nil)
	}
	_, err = s.Outbox.Queue(ctx, line.Send{Friend: *in.Friend, Purpose: "absence", Reply: in,
		Messages: []line.Message{{Text: text, AltText: text, Buttons: []line.Action{{Kind: "uri", Label: label, URI: url}}}}})
	return err
}

// awaitsSchool reports whether a guardian has children waiting for the school and
// none they may report for.
func awaitsSchool(g registration.Guardian) bool {
	waiting, usable := 0, 0
	for _, c := range g.Children {
		switch {
		case c.AwaitsSchool():
			waiting++
		case c.Status != registration.Rejected:
			usable++
		}
	}
	return waiting > 0 && usable == 0
}

// ChildChoice is a child the parent may report for, with the school's settings.
type ChildChoice struct {
	registration.Child
	Settings Settings
}

// Page is what the parent's form shows.
type Page struct {
	Visit    parentlink.Visit
	Language string
	Today    time.Time
	Now      time.Time
	// FirstDay is the date the form suggests: the earliest of the children's schools'
	// next school days (FirstDay).
	FirstDay time.Time
	Children []ChildChoice
	// Waiting are children the parent may not report for yet: their registration
	// waits for the school while another guardian of the child is verified.
	Waiting []registration.Child
	Recent  []Report
}

// parent opens the link and loads the guardian and their children.
func (s *Service) parent(ctx context.Context, token, browser string) (Page, registration.Guardian, error) {
	v, err := s.Links.Open(ctx, parentlink.PurposeAbsence, token, browser)
	if err != nil {
		return Page{}, registration.Guardian{}, err
	}
	g, err := s.Guardians.FindGuardianByFriend(ctx, v.FriendID)
	if err != nil {
		return Page{}, g, err
	}
	now := s.now()
	p := Page{Visit: v, Language: g.Language, Today: Today(now), Now: now}
	settings := map[int64]Settings{}
	for _, c := range g.Children {
		if c.Status == registration.Rejected {
			continue
		}
		if c.AwaitsSchool() {
			p.Waiting = append(p.Waiting, c)
			continue
		}
		st, ok := settings[c.SchoolID]
		if !ok {
			if st, err = s.Store.FindFormSettings(ctx, c.SchoolID, p.Today, p.Today.AddDate(0, 0, MaxDaysAhead)); err != nil {
				return Page{}, g, err
			}
			settings[c.SchoolID] = st
		}
		p.Children = append(p.Children, ChildChoice{Child: c, Settings: st})
	}
	p.FirstDay = p.Today
	for i, c := range p.Children {
		if d := FirstDay(c.Settings, now); i == 0 || d.Before(p.FirstDay) {
			p.FirstDay = d
		}
	}
	return p, g, nil
}

// Open opens the parent's absence form: their children and recent reports.
func (s *Service) Open(ctx context.Context, token, browser string) (Page, error) {
	var p Page
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var g registration.Guardian
		var err error
		if p, g, err = s.parent(ctx, token, browser); err != nil {
			return err
		}
		p.Recent, err = s.Store.FindGuardianReports(ctx, g.ID, p.Today.AddDate(0, 0, -14))
		return err
	})
	return p, err
}

// Submit stores a report for each child of the form (or corrects the day's report for
// that child), each in its own class's list, and confirms them in one LINE message that
// names every child. Nothing is stored unless every child's report is valid.
func (s *Service) Submit(ctx context.Context, token, browser string, f Form) ([]Report, error) {
	var out []Report
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, _, reports, events, err := s.submit(ctx, token, browser, f)
		if err != nil {
			return err
		}
		out = reports
		return s.record(ctx, events)
	})
	return out, err
}

// record records audit events in the caller's transaction: they commit with its work
// (pending, with its COMMIT) and are sealed into the chain right after.
func (s *Service) record(ctx context.Context, events []audit.Event) error {
	for _, e := range events {
		if err := s.Audit.Record(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// submit is Submit's work in the caller's transaction, but for the audit events,
// which it returns for the caller to record last. It returns the form's page as read
// to check the submission (its Recent left out) and the guardian.
func (s *Service) submit(ctx context.Context, token, browser string, f Form) (Page, registration.Guardian, []Report, []audit.Event, error) {
	var out []Report
	var events []audit.Event
	var p Page
	var g registration.Guardian
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		out = nil
		var err error
		p, g, err = s.parent(ctx, token, browser)
		if err != nil {
			return err
		}
		var picked []ChildChoice
		for _, id := range f.Children {
			i := slices.IndexFunc(p.Children, func(c ChildChoice) bool { return c.ID == id })
			if i < 0 && slices.ContainsFunc(p.Waiting, func(c registration.Child) bool { return c.ID == id }) {
				return apperr.Fields{"child": "absence.child.awaiting"}.Err()
			}
			if i < 0 {
				return apperr.Fields{"child": "absence.child.invalid"}.Err()
			}
			if !slices.ContainsFunc(picked, func(c ChildChoice) bool { return c.ID == id }) {
				picked = append(picked, p.Children[i])
			}
		}
		if len(picked) == 0 {
			return apperr.Fields{"child": "absence.child.invalid"}.Err()
		}
		// Every child's report is checked against their own school's settings
		// (siblings may be at different schools) before any is stored.
		reports := make([]Report, len(picked))
		for i, c := range picked {
			fc := f
			fc.ChildID = c.ID
			r, fields := Check(fc, c.Settings, p.Today)
			if len(fields) > 0 {
				return fields.Err()
			}
			// The report returned names its child, for the confirmation page.
			r.GuardianID, r.ClassID, r.ChildName = g.ID, c.ClassID, c.Name
			reports[i] = r
		}
		if len(f.Key) < 16 {
			return apperr.Fields{"key": "absence.form.stale"}.Err()
		}
		var names []string
		events = nil
		for i := range reports {
			r, c := &reports[i], picked[i]
			// One key per child: a double tap stores each child's report once.
			key := sha256.Sum256([]byte(f.Key + "\x00" + strconv.FormatInt(c.ID, 10)))
			created, err := s.Store.SaveReport(ctx, r, key[:])
			if err != nil {
				return err
			}
			action := "absence.report"
			if !created {
				action = "absence.correct"
			}
			// The event leaves the year out (the school's current one): reading the
			// class's would add a query per report to the morning peak, and neither
			// the stream's filter nor the notifications need more than the school's.
			if err := s.Live.Publish(ctx, live.Event{Kind: live.Absence, Board: c.Settings.BoardID, School: r.SchoolID,
				Class: r.ClassID}); err != nil {
				return err
			}
			events = append(events, audit.Event{Actor: audit.Actor{Kind: audit.Guardian, ID: g.ID}, Action: action,
				ObjectKind: "absence_report", ObjectID: strconv.FormatInt(r.ID, 10), BoardID: c.Settings.BoardID, SchoolID: r.SchoolID,
				Detail: map[string]any{"kind": r.Kind, "revision": r.Revision}})
			// A double tap reads the stored report back: keep the child's name.
			r.ChildName = c.Name
			names = append(names, c.Name.Reveal())
			out = append(out, *r)
		}
		fr, err := s.Friends.FindFriend(ctx, p.Visit.FriendID)
		if err != nil {
			return err
		}
		r := reports[0]
		msg := s.T(g.Language, "absence.line.received", map[string]any{"Child": JoinNames(s.T, g.Language, names), "Kind": s.T(g.Language, "absence.kind."+r.Kind, nil),
			"Date": r.From.Format("1/2"), "Reason": s.T(g.Language, "absence.reason."+r.Detail.Reason, nil)})
		if _, err := s.Outbox.Queue(ctx, line.Send{Friend: fr, Purpose: "absence", Messages: []line.Message{{Text: msg}}}); err != nil {
			return err
		}
		return nil
	})
	return p, g, out, events, err
}

// Submitted is the parent's form after a submission: the reports stored (none when the
// form was refused) and the page shown next.
type Submitted struct {
	Page    Page
	Reports []Report
}

// SubmitForm is the parent's form sent: Submit, and the page that confirms it read in
// the same transaction, so the parent never sees an error for reports that were stored
// (and sends them again), nor a confirmation of reports that were not. When Submit
// fails nothing is stored, and the page is read again to show the form with the
// reason (in the parent's language); the error is returned with it. If that page cannot
// be read either, a refused form's error gives way to the failure that stops the page.
func (s *Service) SubmitForm(ctx context.Context, token, browser string, f Form) (Submitted, error) {
	var out Submitted
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, g, reports, events, err := s.submit(ctx, token, browser, f)
		if err != nil {
			return err
		}
		// The page is the one submit checked the form against (link, guardian,
		// children, schools' settings: nothing the submission changes), with the
		// guardian's recent reports read after it.
		if p.Recent, err = s.Store.FindGuardianReports(ctx, g.ID, p.Today.AddDate(0, 0, -14)); err != nil {
			return err
		}
		out.Page, out.Reports = p, reports
		// Audited after the page is read, in the same transaction.
		return s.record(ctx, events)
	})
	if err == nil {
		return out, nil
	}
	p, perr := s.Open(ctx, token, browser)
	if perr != nil {
		if refused(err) {
			return Submitted{}, perr
		}
		return Submitted{}, err
	}
	return Submitted{Page: p}, err
}

// refused reports whether err refuses what a parent sent (a form to show again with
// its reason) rather than failing.
func refused(err error) bool {
	k := apperr.KindOf(err)
	return k == apperr.Invalid || k == apperr.Conflict
}

// JoinNames joins children's names for a sentence that names them as one (the
// catalogue's absence.names.join goes between them: "さん、" in Japanese, so that
// "{{.Child}}さん" reads 「一郎さん、花子さん」).
func JoinNames(t func(lang, id string, data map[string]any) string, lang string, names []string) string {
	return strings.Join(names, t(lang, "absence.names.join", nil))
}

// Cancel withdraws one of the parent's reports while the school has not acknowledged
// it.
func (s *Service) Cancel(ctx context.Context, token, browser string, reportID int64) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, g, err := s.parent(ctx, token, browser)
		if err != nil {
			return err
		}
		r, err := s.Store.FindReport(ctx, reportID)
		if err != nil || r.GuardianID != g.ID {
			return apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		if r.Status != Sent {
			return apperr.E(apperr.Conflict, "absence.cancel.too_late", errors.New("report already acknowledged or cancelled"))
		}
		if err := s.Store.CancelReport(ctx, r.ID); err != nil {
			return err
		}
		var boardID int64
		for _, c := range p.Children {
			if c.Child.SchoolID == r.SchoolID {
				boardID = c.Settings.BoardID
			}
		}
		_, year, err := s.Store.FindClassScope(ctx, r.ClassID)
		if err != nil {
			return err
		}
		if err := s.Live.Publish(ctx, live.Event{Kind: live.AbsenceCancel, Board: boardID, School: r.SchoolID, Year: year,
			Class: r.ClassID}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Guardian, ID: g.ID}, Action: "absence.cancel",
			ObjectKind: "absence_report", ObjectID: strconv.FormatInt(r.ID, 10), BoardID: boardID, SchoolID: r.SchoolID})
	})
}

// classTarget authorises a class's list for the actor: its homeroom and sub-homeroom
// teachers, and the school's and board's administrators.
func (s *Service) classTarget(ctx context.Context, classID int64) (*authz.Actor, Settings, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, Settings{}, err
	}
	schoolID, year, err := s.Store.FindClassScope(ctx, classID)
	if err != nil {
		return nil, Settings{}, err
	}
	st, err := s.Store.FindSettings(ctx, schoolID)
	if err != nil {
		return nil, Settings{}, err
	}
	t := authz.Target{BoardID: st.BoardID, SchoolID: schoolID, Year: year, ClassID: classID}
	if err := authz.Check(a, authz.ViewClassData, t); err != nil {
		if authz.Check(a, authz.ViewSchoolData, t) != nil {
			if authz.Check(a, authz.ViewSchool, t) != nil {
				return nil, Settings{}, apperr.E(apperr.NotFound, "error.not_found.title", err)
			}
			return nil, Settings{}, err
		}
	}
	return a, st, nil
}

// List is a class's reports for a day (the morning list). Viewing it is audited.
func (s *Service) List(ctx context.Context, classID int64, day time.Time) ([]Report, error) {
	return s.list(ctx, classID, day, true)
}

// Refresh is List for the open page's periodic refresh: authorised as List, but not
// audited again, since the page load that started it recorded the view (a list left
// open all morning would otherwise write an audit row every 30 seconds).
func (s *Service) Refresh(ctx context.Context, classID int64, day time.Time) ([]Report, error) {
	return s.list(ctx, classID, day, false)
}

func (s *Service) list(ctx context.Context, classID int64, day time.Time, audited bool) ([]Report, error) {
	var out []Report
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, st, err := s.classTarget(ctx, classID)
		if err != nil {
			return err
		}
		if out, err = s.Store.FindClassReports(ctx, classID, day); err != nil {
			return err
		}
		if !audited {
			return nil
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "absence.list_view",
			ObjectKind: "class", ObjectID: strconv.FormatInt(classID, 10), BoardID: st.BoardID, SchoolID: st.SchoolID,
			Detail: map[string]any{"day": day.Format("2006-01-02"), "rows": len(out)}})
	})
	return out, err
}

// Acknowledge marks reports of a class's day as seen (確認済); with ids empty, all of
// them. When the school chose so, the parents are told in LINE.
func (s *Service) Acknowledge(ctx context.Context, classID int64, day time.Time, ids []int64) (int, error) {
	var n int
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, st, err := s.classTarget(ctx, classID)
		if err != nil {
			return err
		}
		reports, err := s.Store.FindClassReports(ctx, classID, day)
		if err != nil {
			return err
		}
		var pick []int64
		for _, r := range reports {
			if r.Status == Sent && (len(ids) == 0 || slices.Contains(ids, r.ID)) {
				pick = append(pick, r.ID)
			}
		}
		done, err := s.Store.AcknowledgeReports(ctx, pick, a.StaffID)
		if err != nil {
			return err
		}
		n = len(done)
		if st.Notify {
			if err := s.tellAcknowledged(ctx, done); err != nil {
				return err
			}
		}
		if n > 0 {
			_, year, err := s.Store.FindClassScope(ctx, classID)
			if err != nil {
				return err
			}
			if err := s.Live.Publish(ctx, live.Event{Kind: live.AbsenceAck, Board: st.BoardID, School: st.SchoolID, Year: year,
				Class: classID, Staff: a.StaffID}); err != nil {
				return err
			}
		}
		// Audited last, in the transaction of the work it records.
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "absence.acknowledge",
			ObjectKind: "class", ObjectID: strconv.FormatInt(classID, 10), BoardID: st.BoardID, SchoolID: st.SchoolID,
			Detail: map[string]any{"count": n}})
	})
	return n, err
}

// tellAcknowledged queues a LINE message to the guardian of each acknowledged report.
func (s *Service) tellAcknowledged(ctx context.Context, done []Report) error {
	for _, r := range done {
		if r.GuardianID == 0 {
			continue
		}
		friendID, lang, err := s.Store.FindGuardianFriend(ctx, r.GuardianID)
		if apperr.KindOf(err) == apperr.NotFound {
			continue // the guardian withdrew meanwhile
		} else if err != nil {
			return err
		}
		f, err := s.Friends.FindFriend(ctx, friendID)
		if err != nil {
			return err
		}
		msg := s.T(lang, "absence.line.acknowledged", map[string]any{"Child": r.ChildName.Reveal(), "Date": r.From.Format("1/2")})
		if _, err := s.Outbox.Queue(ctx, line.Send{Friend: f, Purpose: "absence_ack", Messages: []line.Message{{Text: msg}}}); err != nil {
			return err
		}
	}
	return nil
}

// Export returns a class's list of a day as a CSV file in enc with labels from label,
// and records the export with the number of characters Shift_JIS could not hold.
func (s *Service) Export(ctx context.Context, classID int64, day time.Time, label func(id string) string, enc csvexport.Encoding) (csvexport.File, error) {
	var f csvexport.File
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, st, err := s.classTarget(ctx, classID)
		if err != nil {
			return err
		}
		reports, err := s.Store.FindClassReports(ctx, classID, day)
		if err != nil {
			return err
		}
		t := csvexport.NewTable("日付", "学級", "児童生徒", "種別", "理由", "症状", "体温", "時刻", "連絡事項", "連絡日時", "保護者", "登録確認", "状態")
		for _, r := range reports {
			var symptoms []string
			for _, sy := range r.Detail.Symptoms {
				symptoms = append(symptoms, label("absence.symptom."+sy))
			}
			reason := label("absence.reason." + r.Detail.Reason)
			if r.Detail.Disease != "" {
				reason += "（" + label("absence.disease."+r.Detail.Disease) + "）"
			}
			verified := label("absence.list.unverified")
			if r.Verified {
				verified = label("absence.list.verified")
			}
			// The temperature and time are what the parent typed: text, neutralised.
			t.TextRow(day.Format("2006-01-02"), r.ClassLabel, r.ChildName.Reveal(), label("absence.kind."+r.Kind), reason,
				joinJa(symptoms), r.Detail.Temperature, r.Detail.Time, r.Detail.Note, r.CreatedAt.In(school.Tokyo).Format("2006-01-02 15:04"),
				r.Nickname.Reveal(), verified, label("absence.status."+r.Status))
		}
		if f, err = t.Encode(enc); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "absence.export",
			ObjectKind: "class", ObjectID: strconv.FormatInt(classID, 10), BoardID: st.BoardID, SchoolID: st.SchoolID,
			Detail: map[string]any{"day": day.Format("2006-01-02"), "rows": len(reports), "encoding": string(enc), "substituted": f.Substituted}})
	})
	if err != nil {
		return csvexport.File{}, err
	}
	return f, nil
}

func joinJa(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "・"
		}
		out += x
	}
	return out
}
