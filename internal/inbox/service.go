package inbox

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
	"github.com/renraku/renraku/internal/usertext"
	"github.com/renraku/renraku/internal/vault"
)

// Service is the conversations' use cases.
type Service struct {
	Tx        txn.Transactor
	Store     Store
	Guardians Guardians
	Friends   Friends
	Outbox    Outbox
	Contents  Contents
	// Jobs queues the downloads of what parents sent.
	Jobs  *jobs.Queue
	Audit *audit.Log
	// Live tells open pages (and the staff's notifications) of new messages, replies
	// and changes of state, in the transaction that makes them.
	Live live.Publisher
	// T translates a LINE message into a language.
	T func(lang, id string, data map[string]any) string
	// Names is the instance's index of the names a search matches (nil: every search
	// reads and decrypts them all).
	Names *NameIndex
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
}

func (s *Service) now() time.Time {
	return s.Clock.Now().In(school.Tokyo)
}

// Register makes the inbox answer 「連絡する」, the choice of whom to write to, and the
// parents' messages.
func (s *Service) Register(l line.Router) {
	l.HandlePostback("menu.contact", s.onContact)
	l.HandlePostback("contact.pick", s.onPick)
	l.Handle("message", s.onMessage)
}

func (s *Service) guardian(ctx context.Context, in *line.Incoming) (registration.Guardian, bool, error) {
	if in.Friend == nil || in.NewFriend {
		return registration.Guardian{}, false, nil
	}
	g, err := s.Guardians.FindGuardianByFriend(ctx, in.Friend.ID)
	if apperr.KindOf(err) == apperr.NotFound {
		return g, false, nil
	}
	return g, err == nil, err
}

func (s *Service) reply(ctx context.Context, in *line.Incoming, m line.Message) error {
	if !in.Friend.Following {
		return nil
	}
	_, err := s.Outbox.Queue(ctx, line.Send{Friend: *in.Friend, Purpose: "contact", Messages: []line.Message{m}, Reply: in})
	return err
}

// choices asks whom to write to (prompt: the message's ID), with a quick reply per
// possible conversation.
func (s *Service) choices(ctx context.Context, in *line.Incoming, g registration.Guardian, prompt string) error {
	cs, err := s.Store.FindChoices(ctx, g.ID)
	if err != nil {
		return err
	}
	text := s.T(g.Language, prompt, nil)
	// A child whose registration the school has not confirmed yet (with or without
	// another guardian verified) has no teacher to choose: the parent is told why.
	for _, c := range g.Children {
		if c.Status == registration.Pending {
			text += "\n" + s.T(g.Language, "inbox.line.awaiting_note", map[string]any{"Child": c.Name.Reveal()})
		}
	}
	m := line.Message{Text: text}
	for _, c := range cs {
		if len(m.QuickReply) == lineapi.MaxQuickReplyItems {
			break
		}
		args := c.Target + ":" + strconv.FormatInt(c.ChildID, 10) + ":" + strconv.FormatInt(c.ClubID, 10) + ":" + strconv.FormatInt(c.SchoolID, 10)
		label := c.Label
		if lineapi.UTF16Len(label) > lineapi.MaxLabelLength {
			label = string([]rune(label)[:lineapi.MaxLabelLength-1]) + "…"
		}
		m.QuickReply = append(m.QuickReply, line.Action{Kind: "postback", Label: label, Data: line.PostbackData("contact.pick", args), DisplayText: c.Label})
	}
	if len(m.QuickReply) == 0 {
		m = line.Message{Text: s.T(g.Language, "inbox.line.no_choice", nil)}
	}
	return s.reply(ctx, in, m)
}

func (s *Service) onContact(ctx context.Context, in *line.Incoming) error {
	g, ok, err := s.guardian(ctx, in)
	if err != nil {
		return err
	}
	if !ok {
		return s.Guardians.SendRegisterLink(ctx, in)
	}
	return s.choices(ctx, in, g, "inbox.line.choose")
}

func (s *Service) onPick(ctx context.Context, in *line.Incoming) error {
	g, ok, err := s.guardian(ctx, in)
	if err != nil || !ok {
		return err
	}
	_, args, _ := line.ParsePostbackData(in.Postback.Data)
	parts := strings.Split(args, ":")
	if len(parts) != 4 {
		return s.choices(ctx, in, g, "inbox.line.choose")
	}
	childID, _ := strconv.ParseInt(parts[1], 10, 64)
	clubID, _ := strconv.ParseInt(parts[2], 10, 64)
	schoolID, _ := strconv.ParseInt(parts[3], 10, 64)
	// Only a choice the guardian has now counts: the postback is the parent's, but old
	// buttons stay in the chat.
	cs, err := s.Store.FindChoices(ctx, g.ID)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Target == parts[0] && c.ChildID == childID && c.ClubID == clubID && c.SchoolID == schoolID {
			id, err := s.Store.OpenConversation(ctx, g.ID, c)
			if err != nil {
				return err
			}
			if err := s.Store.SetCurrent(ctx, g.ID, id, s.now()); err != nil {
				return err
			}
			return s.reply(ctx, in, line.Message{Text: s.T(g.Language, "inbox.line.chosen", map[string]any{"Label": c.Label})})
		}
	}
	return s.choices(ctx, in, g, "inbox.line.choose")
}

// onMessage stores a registered parent's text, image or sticker in their current
// conversation, asks whom it is for when there is none (or the school's inactivity
// period has passed), and answers out of office hours once a day. Other messages go to
// LINE's default handling.
func (s *Service) onMessage(ctx context.Context, in *line.Incoming) error {
	g, ok, err := s.guardian(ctx, in)
	if err != nil {
		return err
	}
	var m Message
	if c := in.Message; c != nil {
		switch c.Kind {
		case lineapi.MessageText:
			m = Message{Direction: "in", Kind: "text", Body: vault.Personal(usertext.Clean(c.Text))}
		case lineapi.MessageImage:
			m = Message{Direction: "in", Kind: "image", LineMessageID: c.ID, ContentState: "pending"}
		case lineapi.MessageSticker:
			// A message sticker carries the parent's own words; other stickers none.
			m = Message{Direction: "in", Kind: "sticker", Body: vault.Personal(usertext.Clean(c.Text))}
		}
	}
	if !ok || m.Kind == "" {
		return s.Outbox.DefaultMessage(ctx, in)
	}
	convID, at, err := s.Store.FindCurrent(ctx, g.ID)
	if err != nil || convID == 0 {
		if err != nil {
			return err
		}
		return s.choices(ctx, in, g, "inbox.line.choose_resend")
	}
	c, err := s.Store.FindConversation(ctx, convID)
	if err != nil {
		return err
	}
	if c.ChildID != 0 {
		switch status := statusFor(g, c.ChildID); {
		case status == "":
			// No longer this guardian's child (the registration changed): whom the
			// message is for must be chosen again.
			return s.choices(ctx, in, g, "inbox.line.choose_resend")
		case status != registration.Verified:
			// The registration waits for the school again (another guardian of the
			// child said it was not them): nothing is filed.
			return s.reply(ctx, in, line.Message{Text: s.T(g.Language, "inbox.line.awaiting", nil)})
		}
	}
	hours, err := s.Store.FindOffice(ctx, c.SchoolID)
	if err != nil {
		return err
	}
	now := s.now()
	if now.Sub(at) > hours.Inactivity {
		// The message is not filed: whom it is for may have changed. The parent is told
		// to send it again after choosing.
		return s.choices(ctx, in, g, "inbox.line.choose_resend")
	}
	if err := s.Store.AddMessage(ctx, convID, &m, 0); err != nil {
		return err
	}
	if err := s.Live.Publish(ctx, liveEvent(live.Message, c, 0)); err != nil {
		return err
	}
	if m.Kind == "image" {
		if _, err := s.Jobs.Insert(ctx, FetchContentArgs{MessageID: m.ID}, nil); err != nil {
			return err
		}
	}
	if err := s.Store.SetCurrent(ctx, g.ID, convID, now); err != nil {
		return err
	}
	if !hours.Closed(now) {
		return nil
	}
	first, err := s.Store.FirstAutoReply(ctx, convID, now)
	if err != nil || !first {
		return err
	}
	reply := hours.AutoReply
	if reply == "" {
		reply = s.T(g.Language, "inbox.line.closed", nil)
	}
	return s.reply(ctx, in, line.Message{Text: reply})
}

// statusFor returns the status of the guardian's registration of the child ("" when
// the child is not theirs).
func statusFor(g registration.Guardian, childID int64) string {
	for _, c := range g.Children {
		if c.ID == childID {
			return c.Status
		}
	}
	return ""
}

// Watch authorises a staff page's live updates (the events MaySee filters): the actor
// must be signed in with an enabled account.
func (s *Service) Watch(ctx context.Context) error {
	return authz.SignedIn(authz.ActorFrom(ctx))
}

// MaySee reports whether the actor's open pages hear a live event: a board
// administrator those of their board, school staff those of their school, and of a
// conversation's events (a message, a reply, a change of state) only those of the
// conversations their inbox shows. It reads nothing, so it can be asked for every
// event.
func (s *Service) MaySee(ctx context.Context, e live.Event) bool {
	a := authz.ActorFrom(ctx)
	if authz.SignedIn(a) != nil {
		return false
	}
	switch e.Kind {
	case live.Message, live.Reply, live.ConversationState:
		return visible(a, e)
	}
	return authz.Check(a, authz.ViewSchool, authz.Target{BoardID: e.Board, SchoolID: e.School}) == nil
}

// liveEvent is the live event of a change to a conversation, by staffID (0: the
// parent).
func liveEvent(kind live.Kind, c Conversation, staffID int64) live.Event {
	return live.Event{Kind: kind, Board: c.BoardID, School: c.SchoolID, Year: c.Year, Target: c.Target, Class: c.ClassID,
		Club: c.ClubID, Conversation: c.ID, Staff: staffID}
}

// visible reports whether the actor's inbox shows a conversation of the event.
func visible(a *authz.Actor, e live.Event) bool {
	c := Conversation{BoardID: e.Board, SchoolID: e.School, Target: e.Target, ClassID: e.Class, ClubID: e.Club, Year: e.Year}
	act, t := target(c)
	return authz.Check(a, act, t) == nil || authz.Check(a, authz.ViewSchoolData, t) == nil
}

// target is the authorisation target of a conversation and the action it needs.
func target(c Conversation) (authz.Action, authz.Target) {
	t := authz.Target{BoardID: c.BoardID, SchoolID: c.SchoolID, Year: c.Year, ClassID: c.ClassID, ClubID: c.ClubID}
	switch c.Target {
	case Homeroom:
		return authz.ViewClassData, t
	case Advisor:
		return authz.ViewClubData, t
	}
	return authz.ViewOfficeInbox, t
}

// conversation loads a conversation the actor may read; one outside their school is not
// found, one of their school but not their duty is forbidden.
func (s *Service) conversation(ctx context.Context, id int64) (*authz.Actor, Conversation, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, Conversation{}, err
	}
	c, err := s.Store.FindConversation(ctx, id)
	if err != nil {
		return nil, c, err
	}
	act, t := target(c)
	if err := authz.Check(a, act, t); err != nil {
		if authz.Check(a, authz.ViewSchoolData, t) == nil {
			return a, c, nil
		}
		if authz.Check(a, authz.ViewSchool, t) != nil {
			return nil, c, apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		return nil, c, err
	}
	return a, c, nil
}

// List returns a page of the conversations the actor's duties give them, newest first,
// narrowed by the query. Viewing the list (nicknames, children's names) is audited.
func (s *Service) List(ctx context.Context, q Query) (Listing, error) {
	var out Listing
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return out, err
	}
	if a.SchoolID == 0 {
		return out, authz.Check(a, authz.ViewSchoolData, authz.Target{BoardID: a.BoardID})
	}
	f, _ := dutyFilter(a)
	base := f
	if err := narrow(&f, q); err != nil {
		return out, err
	}
	page := max(q.Page, 1)
	search := strings.TrimSpace(q.Q) != ""
	if !search {
		f.Limit, f.Offset = PageSize+1, (page-1)*PageSize
	}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		ids, err := s.Store.FindConversationIDs(ctx, f)
		if err != nil {
			return err
		}
		if search {
			// Names are encrypted: a search matches the names of every conversation
			// the person has (kept decrypted in the instance's index; those it lacks
			// are read and decrypted), and pages the matches.
			if ids, err = s.Names.Search(ctx, s.Store, ids, q.Q); err != nil {
				return err
			}
			ids = ids[min(len(ids), (page-1)*PageSize):]
			ids = ids[:min(len(ids), PageSize+1)]
		}
		all, err := s.Store.FindConversationsByID(ctx, ids)
		if err != nil {
			return err
		}
		var shown []Conversation
		for _, c := range all {
			act, t := target(c)
			if authz.Check(a, act, t) == nil || authz.Check(a, authz.ViewSchoolData, t) == nil {
				shown = append(shown, c)
			}
		}
		if out.More = len(shown) > PageSize; out.More {
			shown = shown[:PageSize]
		}
		out.Conversations = shown
		if out.Scopes, err = s.Store.FindScopes(ctx, base); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "inbox.list_view",
			BoardID: a.BoardID, SchoolID: a.SchoolID, Detail: map[string]any{"rows": len(shown)}})
	})
	return out, err
}

// narrow applies a query's state and scope to a filter.
func narrow(f *Filter, q Query) error {
	switch q.State {
	case "", Open, InProgress, Done:
		f.State = q.State
	default:
		return apperr.E(apperr.Invalid, "inbox.filter.invalid", errors.New("unknown state"))
	}
	kind, id, _ := strings.Cut(q.Scope, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	switch {
	case q.Scope == "":
	case q.Scope == Office:
		f.OfficeOnly = true
	case kind == "class" && err == nil && n > 0:
		f.ClassID = n
	case kind == "club" && err == nil && n > 0:
		f.ClubID = n
	default:
		return apperr.E(apperr.Invalid, "inbox.filter.invalid", errors.New("unknown scope"))
	}
	return nil
}

// Thread returns a conversation and a page of its messages (the newest, or those before
// the message before), marks read the parent's messages it shows (the newest page:
// every one so far; an older page shows none of the unread), and audits the view. more
// tells whether older messages remain.
func (s *Service) Thread(ctx context.Context, id, before int64) (c Conversation, ms []Message, more bool, err error) {
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		var a *authz.Actor
		var err error
		if a, c, err = s.conversation(ctx, id); err != nil {
			return err
		}
		if ms, err = s.Store.FindMessages(ctx, c.ID, before, ThreadPage+1); err != nil {
			return err
		}
		if more = len(ms) > ThreadPage; more {
			ms = ms[1:]
		}
		// The newest page shows every message so far; an older page shows none of the
		// unread ones.
		if before == 0 && len(ms) > 0 {
			if err := s.markRead(ctx, a, c, ms[len(ms)-1].ID); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "conversation.view",
			ObjectKind: "conversation", ObjectID: strconv.FormatInt(c.ID, 10), BoardID: c.BoardID, SchoolID: c.SchoolID})
	})
	return c, ms, more, err
}

// markRead counts the parent's messages through messageID as read (shown to the
// actor), telling open pages when that changed the conversation's unread count.
func (s *Service) markRead(ctx context.Context, a *authz.Actor, c Conversation, messageID int64) error {
	fell, err := s.Store.MarkReadThrough(ctx, c.ID, messageID)
	if err != nil || !fell {
		return err
	}
	e := liveEvent(live.ConversationState, c, a.StaffID)
	e.Change = live.ChangeRead
	return s.Live.Publish(ctx, e)
}

// What a colleague did, as an open thread tells it (Since).
const (
	NoticeReply    = "reply"
	NoticeState    = live.ChangeState
	NoticeHandOver = live.ChangeHandOver
)

// News is what an open thread adds as its conversation changes: the messages after the
// last one it shows, and what a colleague did (Notice, by Colleague; "" when nothing,
// or when it was the actor).
type News struct {
	Conversation Conversation
	Messages     []Message
	Notice       string
	Colleague    vault.Personal
}

// Since returns an open thread's news: the conversation's messages after the message
// after (at most a page), of which only the parent's messages returned are marked read
// (messages are read when shown, not when they arrive); a view that shows anything is
// audited. by and
// notice are a colleague's change the page heard of (a live event: NoticeReply,
// NoticeState, NoticeHandOver): their name comes back for the notice, unless by is
// the actor or not staff of the conversation's school or board.
func (s *Service) Since(ctx context.Context, id, after, by int64, notice string) (News, error) {
	var n News
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, c, err := s.conversation(ctx, id)
		if err != nil {
			return err
		}
		n = News{Conversation: c}
		if n.Messages, err = s.Store.FindMessagesAfter(ctx, c.ID, max(after, 0), ThreadPage); err != nil {
			return err
		}
		if len(n.Messages) > 0 {
			if err := s.markRead(ctx, a, c, n.Messages[len(n.Messages)-1].ID); err != nil {
				return err
			}
		}
		switch notice {
		case NoticeReply, NoticeState, NoticeHandOver:
			if by == 0 || by == a.StaffID {
				break
			}
			name, boardID, schoolID, err := s.Store.FindStaffName(ctx, by)
			if err != nil && apperr.KindOf(err) != apperr.NotFound {
				return err
			}
			if err == nil && boardID == c.BoardID && (schoolID == 0 || schoolID == c.SchoolID) {
				n.Notice, n.Colleague = notice, name
			}
		}
		if len(n.Messages) == 0 && n.Notice == "" {
			return nil // nothing shown: no view to record
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "conversation.view",
			ObjectKind: "conversation", ObjectID: strconv.FormatInt(c.ID, 10), BoardID: c.BoardID, SchoolID: c.SchoolID,
			Detail: map[string]any{"after": after, "rows": len(n.Messages)}})
	})
	return n, err
}

// Reply queues a staff answer: it reaches the parent in LINE prefixed with the role
// (【1年1組 担任】, with the school's name where the channel serves several), durably, through the outbox (retries with LINE's retry key, no
// duplicate, no loss on restart).
func (s *Service) Reply(ctx context.Context, id int64, text string) error {
	text = strings.TrimSpace(text)
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, c, err := s.conversation(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case text == "":
			return apperr.Fields{"body": "inbox.reply.empty"}.Err()
		case lineapi.UTF16Len(text) > MaxReply:
			return apperr.Fields{"body": "inbox.reply.too_long"}.Err()
		}
		f, err := s.Friends.FindFriend(ctx, c.FriendID)
		if err != nil {
			return err
		}
		body := "【" + c.ReplyLabel() + "】\n" + text
		outID, err := s.Outbox.Queue(ctx, line.Send{Friend: f, Purpose: "staff_reply", Messages: []line.Message{{Text: body}}})
		if err != nil {
			return err
		}
		m := Message{Direction: "out", Body: vault.Personal(text), StaffID: a.StaffID}
		if err := s.Store.AddMessage(ctx, c.ID, &m, outID); err != nil {
			return err
		}
		if c.State == Open {
			if err := s.Store.SetState(ctx, c.ID, InProgress); err != nil {
				return err
			}
		}
		if err := s.Live.Publish(ctx, liveEvent(live.Reply, c, a.StaffID)); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "conversation.reply",
			ObjectKind: "conversation", ObjectID: strconv.FormatInt(c.ID, 10), BoardID: c.BoardID, SchoolID: c.SchoolID})
	})
}

// SetState marks a conversation 未対応, 対応中 or 完了.
func (s *Service) SetState(ctx context.Context, id int64, state string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, c, err := s.conversation(ctx, id)
		if err != nil {
			return err
		}
		if state != Open && state != InProgress && state != Done {
			return apperr.E(apperr.Invalid, "inbox.state.invalid", errors.New("unknown state"))
		}
		if err := s.Store.SetState(ctx, c.ID, state); err != nil {
			return err
		}
		e := liveEvent(live.ConversationState, c, a.StaffID)
		e.Change = live.ChangeState
		if err := s.Live.Publish(ctx, e); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "conversation.state",
			ObjectKind: "conversation", ObjectID: strconv.FormatInt(c.ID, 10), BoardID: c.BoardID, SchoolID: c.SchoolID,
			Detail: map[string]any{"state": state}})
	})
}
