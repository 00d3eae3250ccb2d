package postgres

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/vault"
)

// InboxStore implements inbox.Store. Message bodies are encrypted.
type InboxStore struct {
	Vault *vault.Vault
}

var _ inbox.Store = (*InboxStore)(nil)

func messageAD(id int64) vault.AD { return vault.NewADForID("message", "body", id) }

// officeLabel is how the school office signs its replies.
const officeLabel = "学校（事務・管理職）"

// FindChoices lists whom a guardian may write to: the homeroom teacher of each verified
// child's class, the advisor of each of their clubs, and each school's office.
func (s *InboxStore) FindChoices(ctx context.Context, guardianID int64) ([]inbox.Choice, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `
		SELECT c.id, c.school_id, c.class_id, cl.grade::text || '年' || cl.name, gs.status,
			COALESCE(array_agg(k.id ORDER BY k.name) FILTER (WHERE k.id IS NOT NULL), '{}'),
			COALESCE(array_agg(k.name ORDER BY k.name) FILTER (WHERE k.id IS NOT NULL), '{}')
		FROM guardianship gs JOIN child c ON c.id = gs.child_id JOIN class cl ON cl.id = c.class_id
		LEFT JOIN child_club cc ON cc.child_id = c.id LEFT JOIN club k ON k.id = cc.club_id
		WHERE gs.guardian_id = $1 AND gs.status <> 'rejected'
		GROUP BY c.id, cl.grade, cl.name, gs.status ORDER BY c.id`, guardianID)
	if err != nil {
		return nil, classify(err, "choices")
	}
	defer rows.Close()
	var out []inbox.Choice
	seen := map[[3]int64]bool{}
	offices := map[int64]bool{}
	var schools []int64
	for rows.Next() {
		var childID, schoolID, classID int64
		var label, status string
		var clubIDs []int64
		var clubNames []string
		if err := rows.Scan(&childID, &schoolID, &classID, &label, &status, &clubIDs, &clubNames); err != nil {
			return nil, classify(err, "choices")
		}
		if status == "verified" {
			if k := [3]int64{0, classID, 0}; !seen[k] {
				seen[k] = true
				out = append(out, inbox.Choice{Target: inbox.Homeroom, ChildID: childID, ClassID: classID, SchoolID: schoolID, Label: label + " 担任"})
			}
			for i, id := range clubIDs {
				if k := [3]int64{1, 0, id}; !seen[k] {
					seen[k] = true
					out = append(out, inbox.Choice{Target: inbox.Advisor, ChildID: childID, ClubID: id, SchoolID: schoolID, Label: clubNames[i] + " 顧問"})
				}
			}
		}
		if !offices[schoolID] {
			offices[schoolID] = true
			schools = append(schools, schoolID)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "choices")
	}
	for _, id := range schools {
		label := officeLabel
		if len(schools) > 1 {
			var name string
			if err := db.QueryRow(ctx, `SELECT name FROM school WHERE id = $1`, id).Scan(&name); err != nil {
				return nil, classify(err, "school name")
			}
			label = name + "（事務・管理職）"
		}
		out = append(out, inbox.Choice{Target: inbox.Office, SchoolID: id, Label: label})
	}
	return out, nil
}

// OpenConversation finds or creates a conversation.
func (s *InboxStore) OpenConversation(ctx context.Context, guardianID int64, c inbox.Choice) (int64, error) {
	db := pgtx.Tx(ctx)
	var id int64
	err := db.QueryRow(ctx, `
		INSERT INTO conversation (school_id, guardian_id, child_id, target, class_id, club_id)
		VALUES ($1, $2, NULLIF($3, 0), $4, NULLIF($5, 0), NULLIF($6, 0))
		ON CONFLICT (guardian_id, target, child_id, class_id, club_id) DO UPDATE SET target = EXCLUDED.target
		RETURNING id`, c.SchoolID, guardianID, c.ChildID, c.Target, c.ClassID, c.ClubID).Scan(&id)
	return id, classify(err, "open conversation")
}

// SetCurrent records where the guardian's next message goes.
func (s *InboxStore) SetCurrent(ctx context.Context, guardianID, conversationID int64, at time.Time) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE guardian SET conversation_id = $2, conversation_at = $3 WHERE id = $1`, guardianID, conversationID, at)
	return classify(err, "current conversation")
}

// FindCurrent returns the guardian's current conversation.
func (s *InboxStore) FindCurrent(ctx context.Context, guardianID int64) (int64, time.Time, error) {
	db := pgtx.Tx(ctx)
	var id *int64
	var at *time.Time
	err := db.QueryRow(ctx, `SELECT conversation_id, conversation_at FROM guardian WHERE id = $1`, guardianID).Scan(&id, &at)
	if err != nil || id == nil || at == nil {
		return 0, time.Time{}, classify(err, "current conversation")
	}
	return *id, *at, nil
}

// AddMessage stores a message (encrypted) and updates the conversation's counters.
func (s *InboxStore) AddMessage(ctx context.Context, conversationID int64, m *inbox.Message, outboundID int64) error {
	db := pgtx.Tx(ctx)
	if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('message', 'id'))`).Scan(&m.ID); err != nil {
		return classify(err, "message id")
	}
	enc, err := s.Vault.EncryptPersonal(m.Body, messageAD(m.ID))
	if err != nil {
		return err
	}
	kind := m.Kind
	if kind == "" {
		kind = "text"
	}
	if err := db.QueryRow(ctx, `INSERT INTO message (id, conversation_id, direction, body_enc, kind, line_message_id, content_state, staff_id, outbound_id)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, 0), NULLIF($9, 0)) RETURNING created_at`,
		m.ID, conversationID, m.Direction, enc, kind, m.LineMessageID, m.ContentState, m.StaffID, outboundID).Scan(&m.CreatedAt); err != nil {
		return classify(err, "add message")
	}
	_, err = db.Exec(ctx, `UPDATE conversation SET last_message_at = $2,
		unread = CASE WHEN $3 = 'in' THEN unread + 1 ELSE unread END,
		state = CASE WHEN $3 = 'in' AND state = 'done' THEN 'open' ELSE state END WHERE id = $1`, conversationID, m.CreatedAt, m.Direction)
	return classify(err, "conversation")
}

const conversationColumns = `cv.id, cv.school_id, sc.board_id, cv.guardian_id, gu.friend_id, COALESCE(cv.child_id, 0), cv.target,
	COALESCE(cv.class_id, 0), COALESCE(cv.club_id, 0), COALESCE(cl.year, k.year, sc.current_year), cv.state, cv.unread, cv.last_message_at,
	gu.nickname_enc, c.name_enc, COALESCE(ccl.grade::text || '年' || ccl.name, ''), COALESCE(cv.assignee_id, 0), asg.name_enc,
	CASE cv.target WHEN 'homeroom' THEN cl.grade::text || '年' || cl.name || ' 担任' WHEN 'advisor' THEN k.name || ' 顧問' ELSE '` + officeLabel + `' END,
	sc.name, EXISTS (SELECT 1 FROM school o WHERE o.line_channel_id = sc.line_channel_id AND o.id <> sc.id)`

const conversationFrom = ` FROM conversation cv JOIN school sc ON sc.id = cv.school_id JOIN guardian gu ON gu.id = cv.guardian_id
	LEFT JOIN child c ON c.id = cv.child_id LEFT JOIN class ccl ON ccl.id = c.class_id
	LEFT JOIN class cl ON cl.id = cv.class_id LEFT JOIN club k ON k.id = cv.club_id LEFT JOIN staff asg ON asg.id = cv.assignee_id `

func (s *InboxStore) scanConversation(r pgx.Row) (inbox.Conversation, error) {
	var c inbox.Conversation
	var nick, name, asg []byte
	if err := r.Scan(&c.ID, &c.SchoolID, &c.BoardID, &c.GuardianID, &c.FriendID, &c.ChildID, &c.Target, &c.ClassID, &c.ClubID, &c.Year,
		&c.State, &c.Unread, &c.LastMessageAt, &nick, &name, &c.ClassLabel, &c.AssigneeID, &asg, &c.Label,
		&c.SchoolName, &c.SharedChannel); err != nil {
		return c, err
	}
	var err error
	if c.Nickname, err = s.Vault.DecryptPersonal(nick, guardianAD(c.GuardianID, "nickname")); err != nil {
		return c, err
	}
	if name != nil {
		if c.ChildName, err = s.Vault.DecryptPersonal(name, vault.NewADForID("child", "name", c.ChildID)); err != nil {
			return c, err
		}
	}
	if asg != nil {
		c.AssigneeName, err = s.Vault.DecryptPersonal(asg, staffAD(c.AssigneeID, "name"))
	}
	return c, err
}

// FindConversation reads one conversation.
func (s *InboxStore) FindConversation(ctx context.Context, id int64) (inbox.Conversation, error) {
	db := pgtx.Tx(ctx)
	c, err := s.scanConversation(db.QueryRow(ctx, `SELECT `+conversationColumns+conversationFrom+`WHERE cv.id = $1`, id))
	return c, classify(err, "conversation")
}

// conversationWhere builds the condition of a filter. Each shape of filter gets its own
// SQL text, so PostgreSQL plans each for what it is (a generic plan full of "$n OR …"
// would scan every conversation of the school).
func conversationWhere(f inbox.Filter) (string, []any) {
	args := []any{f.SchoolID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := "cv.school_id = $1"
	if f.OfficeOnly {
		where += " AND cv.target = 'office'"
	}
	if !f.All {
		var ors []string
		if len(f.ClassIDs) > 0 {
			ors = append(ors, "cv.class_id = ANY("+arg(f.ClassIDs)+")")
		}
		if len(f.ClubIDs) > 0 {
			ors = append(ors, "cv.club_id = ANY("+arg(f.ClubIDs)+")")
		}
		if f.Office {
			ors = append(ors, "cv.target = 'office'")
		}
		if len(ors) == 0 {
			ors = append(ors, "false")
		}
		where += " AND (" + strings.Join(ors, " OR ") + ")"
	}
	if f.State != "" {
		where += " AND cv.state = " + arg(f.State)
	}
	if f.ClassID != 0 {
		where += " AND cv.class_id = " + arg(f.ClassID)
	}
	if f.ClubID != 0 {
		where += " AND cv.club_id = " + arg(f.ClubID)
	}
	return where, args
}

// FindConversationIDs lists the IDs of a staff member's conversations, newest first,
// from the conversation table alone (the page's details are read by ID).
func (s *InboxStore) FindConversationIDs(ctx context.Context, f inbox.Filter) ([]int64, error) {
	db := pgtx.Tx(ctx)
	where, args := conversationWhere(f)
	q := `SELECT cv.id FROM conversation cv WHERE ` + where + ` ORDER BY cv.last_message_at DESC, cv.id DESC`
	if f.Limit > 0 {
		args = append(args, f.Limit, f.Offset)
		q += ` LIMIT $` + strconv.Itoa(len(args)-1) + ` OFFSET $` + strconv.Itoa(len(args))
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, classify(err, "conversations")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "conversations")
}

// FindConversationsByID reads conversations in the order of ids.
func (s *InboxStore) FindConversationsByID(ctx context.Context, ids []int64) ([]inbox.Conversation, error) {
	db := pgtx.Tx(ctx)
	if len(ids) == 0 {
		return nil, nil
	}
	// Each conversation is read by its key (LATERAL, its LIMIT keeping it a lookup per
	// ID): as a join, the plan PostgreSQL keeps for the prepared statement joined the
	// school's whole tables and took 15 ms a page of 50.
	rows, err := db.Query(ctx, `SELECT c.* FROM unnest($1::bigint[]) WITH ORDINALITY AS x(id, n)
		CROSS JOIN LATERAL (SELECT `+conversationColumns+conversationFrom+`WHERE cv.id = x.id LIMIT 1) c ORDER BY x.n`, ids)
	if err != nil {
		return nil, classify(err, "conversations")
	}
	defer rows.Close()
	var out []inbox.Conversation
	for rows.Next() {
		c, err := s.scanConversation(rows)
		if err != nil {
			return nil, classify(err, "conversations")
		}
		out = append(out, c)
	}
	return out, classify(rows.Err(), "conversations")
}

// FindConversationNames reads the searchable names of conversations, decrypting on
// every core.
func (s *InboxStore) FindConversationNames(ctx context.Context, ids []int64) ([]inbox.Conversation, error) {
	db := pgtx.Tx(ctx)
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := db.Query(ctx, `SELECT cv.id, cv.school_id, cv.guardian_id, COALESCE(cv.child_id, 0), gu.nickname_enc, c.name_enc,
			COALESCE(ccl.grade::text || '年' || ccl.name, ''),
			CASE cv.target WHEN 'homeroom' THEN cl.grade::text || '年' || cl.name || ' 担任' WHEN 'advisor' THEN k.name || ' 顧問' ELSE '`+officeLabel+`' END
		FROM unnest($1::bigint[]) WITH ORDINALITY AS x(id, n) JOIN conversation cv ON cv.id = x.id JOIN guardian gu ON gu.id = cv.guardian_id
		LEFT JOIN child c ON c.id = cv.child_id LEFT JOIN class ccl ON ccl.id = c.class_id
		LEFT JOIN class cl ON cl.id = cv.class_id LEFT JOIN club k ON k.id = cv.club_id ORDER BY x.n`, ids)
	if err != nil {
		return nil, classify(err, "conversation names")
	}
	type row struct {
		c          inbox.Conversation
		nick, name []byte
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.c.ID, &r.c.SchoolID, &r.c.GuardianID, &r.c.ChildID, &r.nick, &r.name, &r.c.ClassLabel, &r.c.Label); err != nil {
			rows.Close()
			return nil, classify(err, "conversation names")
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(err, "conversation names")
	}
	// A guardian's nickname and a child's name are decrypted once however many
	// conversations they have (homeroom, clubs, office), on every core.
	nicks := map[int64][]byte{}
	names := map[int64][]byte{}
	for _, r := range all {
		nicks[r.c.GuardianID] = r.nick
		if r.name != nil {
			names[r.c.ChildID] = r.name
		}
	}
	type item struct {
		id    int64
		enc   []byte
		child bool
	}
	items := make([]item, 0, len(nicks)+len(names))
	for id, enc := range nicks {
		items = append(items, item{id, enc, false})
	}
	for id, enc := range names {
		items = append(items, item{id, enc, true})
	}
	plain := make([]vault.Personal, len(items))
	var g errgroup.Group
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		g.Go(func() error {
			for i := w; i < len(items); i += workers {
				it := items[i]
				ad := guardianAD(it.id, "nickname")
				if it.child {
					ad = vault.NewADForID("child", "name", it.id)
				}
				var err error
				if plain[i], err = s.Vault.DecryptPersonal(it.enc, ad); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	nick := make(map[int64]vault.Personal, len(nicks))
	name := make(map[int64]vault.Personal, len(names))
	for i, it := range items {
		if it.child {
			name[it.id] = plain[i]
		} else {
			nick[it.id] = plain[i]
		}
	}
	out := make([]inbox.Conversation, len(all))
	for i, r := range all {
		c := r.c
		c.Nickname, c.ChildName = nick[c.GuardianID], name[c.ChildID]
		out[i] = c
	}
	return out, nil
}

// FindScopes lists the classes, clubs and office of a staff member's conversations:
// classes by grade and name, then clubs by name, then the office (one index probe
// each, not a scan of the school's conversations).
func (s *InboxStore) FindScopes(ctx context.Context, f inbox.Filter) ([]inbox.Scope, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `
		SELECT v, label FROM (
			SELECT 1 AS o, cl.grade AS g, cl.name AS n, 'class:' || cl.id AS v, cl.grade::text || '年' || cl.name AS label FROM class cl
			WHERE cl.school_id = $1 AND ($2 OR cl.id = ANY($3)) AND EXISTS (SELECT 1 FROM conversation cv WHERE cv.class_id = cl.id)
			UNION ALL
			SELECT 2, 0, k.name, 'club:' || k.id, k.name FROM club k
			WHERE k.school_id = $1 AND ($2 OR k.id = ANY($4)) AND EXISTS (SELECT 1 FROM conversation cv WHERE cv.club_id = k.id)
			UNION ALL
			SELECT 3, 0, '', 'office', '`+officeLabel+`'
			WHERE ($2 OR $5) AND EXISTS (SELECT 1 FROM conversation cv WHERE cv.school_id = $1 AND cv.target = 'office')) x
		ORDER BY o, g, n`, f.SchoolID, f.All, nonNil(f.ClassIDs), nonNil(f.ClubIDs), f.Office)
	if err != nil {
		return nil, classify(err, "scopes")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (inbox.Scope, error) {
		var sc inbox.Scope
		return sc, r.Scan(&sc.Value, &sc.Label)
	})
	return out, classify(err, "scopes")
}

// messageColumns are a message's columns with its author's name and a reply's delivery.
const messageColumns = `m.id, m.direction, m.kind, m.content_state, m.body_enc, COALESCE(m.staff_id, 0), st.name_enc, COALESCE(o.state, ''), m.created_at
	FROM message m LEFT JOIN staff st ON st.id = m.staff_id LEFT JOIN line_outbound o ON o.id = m.outbound_id`

// FindMessages lists a page of a conversation's messages in order, with each reply's
// delivery.
func (s *InboxStore) FindMessages(ctx context.Context, conversationID, before int64, limit int) ([]inbox.Message, error) {
	db := pgtx.Tx(ctx)
	// The newest page and an older one are different statements, each planned to walk
	// the (conversation_id, id) index backwards.
	older, args := "", []any{conversationID, limit}
	if before > 0 {
		older, args = " AND m.id < $3", append(args, before)
	}
	rows, err := db.Query(ctx, `SELECT * FROM (SELECT `+messageColumns+`
		WHERE m.conversation_id = $1`+older+` ORDER BY m.id DESC LIMIT $2) page ORDER BY id`, args...)
	if err != nil {
		return nil, classify(err, "messages")
	}
	return s.scanMessages(rows)
}

// FindMessagesAfter lists up to limit of a conversation's messages after the message
// after, oldest first.
func (s *InboxStore) FindMessagesAfter(ctx context.Context, conversationID, after int64, limit int) ([]inbox.Message, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+messageColumns+`
		WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3`, conversationID, after, limit)
	if err != nil {
		return nil, classify(err, "messages")
	}
	return s.scanMessages(rows)
}

func (s *InboxStore) scanMessages(rows pgx.Rows) ([]inbox.Message, error) {
	defer rows.Close()
	var out []inbox.Message
	for rows.Next() {
		var m inbox.Message
		var body, staffName []byte
		if err := rows.Scan(&m.ID, &m.Direction, &m.Kind, &m.ContentState, &body, &m.StaffID, &staffName, &m.Delivery, &m.CreatedAt); err != nil {
			return nil, classify(err, "messages")
		}
		var err error
		if m.Body, err = s.Vault.DecryptPersonal(body, messageAD(m.ID)); err != nil {
			return nil, err
		}
		if staffName != nil {
			if m.StaffName, err = s.Vault.DecryptPersonal(staffName, staffAD(m.StaffID, "name")); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	return out, classify(rows.Err(), "messages")
}

// MarkReadThrough counts as unread only the parent's messages after messageID (those
// not shown yet); the count never grows. It reports whether it fell.
func (s *InboxStore) MarkReadThrough(ctx context.Context, id, messageID int64) (bool, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `UPDATE conversation cv SET unread = n.c
		FROM (SELECT count(*)::int AS c FROM message WHERE conversation_id = $1 AND direction = 'in' AND id > $2) n
		WHERE cv.id = $1 AND cv.unread > n.c`, id, messageID)
	if err != nil {
		return false, classify(err, "mark read")
	}
	return tag.RowsAffected() > 0, nil
}

// FindStaffName returns a member of staff's name, board and school (0: the board's).
func (s *InboxStore) FindStaffName(ctx context.Context, id int64) (name vault.Personal, boardID, schoolID int64, err error) {
	db := pgtx.Tx(ctx)
	var enc []byte
	if err := db.QueryRow(ctx, `SELECT name_enc, board_id, COALESCE(school_id, 0) FROM staff WHERE id = $1`, id).Scan(&enc, &boardID, &schoolID); err != nil {
		return "", 0, 0, classify(err, "staff name")
	}
	name, err = s.Vault.DecryptPersonal(enc, staffAD(id, "name"))
	return name, boardID, schoolID, err
}

// SetState sets a conversation's state.
func (s *InboxStore) SetState(ctx context.Context, id int64, state string) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE conversation SET state = $2 WHERE id = $1`, id, state)
	return classify(err, "conversation state")
}

// FirstAutoReply records today's auto-reply of a conversation.
func (s *InboxStore) FirstAutoReply(ctx context.Context, conversationID int64, day time.Time) (bool, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `INSERT INTO auto_reply_day (conversation_id, day) VALUES ($1, $2) ON CONFLICT DO NOTHING`, conversationID, day)
	if err != nil {
		return false, classify(err, "auto reply")
	}
	return tag.RowsAffected() == 1, nil
}

// FindOffice reads a school's office hours, auto-reply and inactivity period.
func (s *InboxStore) FindOffice(ctx context.Context, schoolID int64) (inbox.Hours, error) {
	db := pgtx.Tx(ctx)
	var h inbox.Hours
	var hours int
	err := db.QueryRow(ctx, `SELECT to_char(office_open, 'HH24:MI'), to_char(office_close, 'HH24:MI'), office_days, auto_reply,
		inbox_inactivity_hours FROM school WHERE id = $1`, schoolID).Scan(&h.Open, &h.Close, &h.Days, &h.AutoReply, &hours)
	h.Inactivity = time.Duration(hours) * time.Hour
	return h, classify(err, "office hours")
}

func contentAD(id int64) vault.AD { return vault.NewADForID("message", "content", id) }

// SaveContent stores an image's bytes, or marks it unavailable when data is nil.
func (s *InboxStore) SaveContent(ctx context.Context, messageID int64, data []byte, contentType string) error {
	db := pgtx.Tx(ctx)
	if data == nil {
		_, err := db.Exec(ctx, `UPDATE message SET content_state = 'unavailable' WHERE id = $1`, messageID)
		return classify(err, "content")
	}
	enc, err := s.Vault.EncryptBytes(data, contentAD(messageID))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE message SET content_enc = $2, content_type = $3, content_state = 'stored' WHERE id = $1`, messageID, enc, contentType)
	return classify(err, "content")
}

// FindContent returns a stored image.
func (s *InboxStore) FindContent(ctx context.Context, messageID int64) (int64, []byte, string, error) {
	db := pgtx.Tx(ctx)
	var convID int64
	var enc []byte
	var ct string
	err := db.QueryRow(ctx, `SELECT conversation_id, content_enc, content_type FROM message WHERE id = $1 AND content_state = 'stored'`, messageID).
		Scan(&convID, &enc, &ct)
	if err != nil {
		return 0, nil, "", classify(err, "content")
	}
	b, err := s.Vault.DecryptBytes(enc, contentAD(messageID))
	return convID, b, ct, err
}

// FindPendingContent returns the friend and LINE message ID of an image to fetch.
func (s *InboxStore) FindPendingContent(ctx context.Context, messageID int64) (int64, string, error) {
	db := pgtx.Tx(ctx)
	var friendID int64
	var lineID string
	err := db.QueryRow(ctx, `SELECT gu.friend_id, m.line_message_id FROM message m JOIN conversation cv ON cv.id = m.conversation_id
		JOIN guardian gu ON gu.id = cv.guardian_id WHERE m.id = $1 AND m.content_state = 'pending'`, messageID).Scan(&friendID, &lineID)
	return friendID, lineID, classify(err, "pending content")
}

// The 定型文's encrypted columns, shared with EncryptedColumns so that the store's ADs
// and re-encryption's cannot drift apart.
var (
	cannedTitleColumn = vault.Column{Table: "canned_reply", Column: "title_enc", ADColumn: "title"}
	cannedBodyColumn  = vault.Column{Table: "canned_reply", Column: "body_enc", ADColumn: "body"}
)

// cannedColumns reads a 定型文 whether sealed or (written before migration 000014 and
// not yet sealed by SealCannedReplies) still in clear text.
const cannedColumns = `id, school_id, COALESCE(staff_id, 0), title, body, title_enc, body_enc`

// FindCanned lists a school's 定型文 and the staff member's own: the school's first,
// each group by title.
func (s *InboxStore) FindCanned(ctx context.Context, schoolID, staffID int64) ([]inbox.Canned, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT `+cannedColumns+` FROM canned_reply
		WHERE school_id = $1 AND (staff_id IS NULL OR staff_id = $2) ORDER BY id`, schoolID, staffID)
	out, err := pgx.CollectRows(rows, s.scanCanned)
	if err != nil {
		return nil, classify(err, "canned replies")
	}
	// Titles are encrypted, so they are sorted here rather than in SQL.
	slices.SortStableFunc(out, func(a, b inbox.Canned) int {
		if (a.StaffID == 0) != (b.StaffID == 0) {
			if a.StaffID == 0 {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Title.Reveal(), b.Title.Reveal())
	})
	return out, nil
}

func (s *InboxStore) scanCanned(r pgx.CollectableRow) (inbox.Canned, error) {
	var c inbox.Canned
	var title, body *string
	var titleEnc, bodyEnc []byte
	if err := r.Scan(&c.ID, &c.SchoolID, &c.StaffID, &title, &body, &titleEnc, &bodyEnc); err != nil {
		return c, err
	}
	if bodyEnc == nil {
		// Not sealed yet (see migration 000014); the constraint guarantees clear text.
		if title != nil && body != nil {
			c.Title, c.Body = vault.Personal(*title), vault.Personal(*body)
		}
		return c, nil
	}
	var err error
	if c.Title, err = s.Vault.DecryptPersonal(titleEnc, cannedTitleColumn.ADForID(c.ID)); err != nil {
		return c, err
	}
	c.Body, err = s.Vault.DecryptPersonal(bodyEnc, cannedBodyColumn.ADForID(c.ID))
	return c, err
}

// FindCannedByID reads one 定型文.
func (s *InboxStore) FindCannedByID(ctx context.Context, id int64) (inbox.Canned, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT `+cannedColumns+` FROM canned_reply WHERE id = $1`, id)
	c, err := pgx.CollectExactlyOneRow(rows, s.scanCanned)
	return c, classify(err, "canned reply")
}

// sealCanned encrypts a 定型文's title and body for the row with the given ID.
func sealCanned(v *vault.Vault, id int64, title, body vault.Personal) (titleEnc, bodyEnc []byte, err error) {
	if titleEnc, err = v.EncryptPersonal(title, cannedTitleColumn.ADForID(id)); err != nil {
		return nil, nil, err
	}
	if bodyEnc, err = v.EncryptPersonal(body, cannedBodyColumn.ADForID(id)); err != nil {
		return nil, nil, err
	}
	return titleEnc, bodyEnc, nil
}

// CreateCanned stores a 定型文, encrypted.
func (s *InboxStore) CreateCanned(ctx context.Context, c *inbox.Canned) error {
	db := pgtx.Tx(ctx)
	if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('canned_reply', 'id'))`).Scan(&c.ID); err != nil {
		return classify(err, "canned reply id")
	}
	title, body, err := sealCanned(s.Vault, c.ID, c.Title, c.Body)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO canned_reply (id, school_id, staff_id, title_enc, body_enc) OVERRIDING SYSTEM VALUE
		VALUES ($1, $2, NULLIF($3, 0), $4, $5)`, c.ID, c.SchoolID, c.StaffID, title, body)
	return classify(err, "create canned reply")
}

// SealCannedReplies encrypts the 定型文 still in clear text (written before migration
// 000014) and clears their title and body, and returns how many it sealed. The
// re-encryption job runs it at start-up and every minute; once no clear row is left
// it costs one scan of a small table. Rows locked by a concurrent delete are left
// for the next run.
func SealCannedReplies(ctx context.Context, db vault.DBTX, v *vault.Vault) (int64, error) {
	var sealed int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT id, title, body FROM canned_reply WHERE body_enc IS NULL FOR UPDATE SKIP LOCKED`)
		type clear struct {
			id          int64
			title, body string
		}
		todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (clear, error) {
			var c clear
			return c, r.Scan(&c.id, &c.title, &c.body)
		})
		if err != nil {
			return err
		}
		for _, c := range todo {
			title, body, err := sealCanned(v, c.id, vault.Personal(c.title), vault.Personal(c.body))
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `UPDATE canned_reply SET title_enc = $2, body_enc = $3, title = NULL, body = NULL
				WHERE id = $1 AND body_enc IS NULL`, c.id, title, body)
			if err != nil {
				return err
			}
			sealed += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, classify(err, "seal canned replies")
	}
	return sealed, nil
}

// DeleteCanned removes a 定型文.
func (s *InboxStore) DeleteCanned(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM canned_reply WHERE id = $1`, id)
	return classify(err, "delete canned reply")
}

// SetAssignee records a hand-over.
func (s *InboxStore) SetAssignee(ctx context.Context, conversationID, staffID int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE conversation SET assignee_id = $2 WHERE id = $1`, conversationID, staffID)
	return classify(err, "hand over")
}

// FindCandidates lists the enabled staff whose duty covers a conversation, and the
// school's administrators.
func (s *InboxStore) FindCandidates(ctx context.Context, c inbox.Conversation) ([]inbox.Candidate, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `
		SELECT DISTINCT ON (st.id) st.id, st.name_enc, COALESCE(a.duty, ''), st.role
		FROM staff st LEFT JOIN staff_assignment a ON a.staff_id = st.id AND a.year = $5 AND (
			(a.duty IN ('homeroom', 'sub_homeroom') AND a.class_id = NULLIF($2, 0)) OR
			(a.duty = 'advisor' AND a.club_id = NULLIF($3, 0)) OR (a.duty = 'office' AND $4 = 'office'))
		WHERE st.school_id = $1 AND st.disabled_at IS NULL AND (st.role = 'school_admin' OR a.id IS NOT NULL)
		ORDER BY st.id, a.duty`, c.SchoolID, c.ClassID, c.ClubID, c.Target, c.Year)
	if err != nil {
		return nil, classify(err, "candidates")
	}
	defer rows.Close()
	var out []inbox.Candidate
	for rows.Next() {
		var x inbox.Candidate
		var name []byte
		if err := rows.Scan(&x.ID, &name, &x.Duty, &x.Role); err != nil {
			return nil, classify(err, "candidates")
		}
		if x.Name, err = s.Vault.DecryptPersonal(name, staffAD(x.ID, "name")); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, classify(rows.Err(), "candidates")
}

// FindMessageOutbound returns a reply's conversation and outbox row.
func (s *InboxStore) FindMessageOutbound(ctx context.Context, messageID int64) (int64, int64, error) {
	db := pgtx.Tx(ctx)
	var convID, outID int64
	err := db.QueryRow(ctx, `SELECT conversation_id, COALESCE(outbound_id, 0) FROM message WHERE id = $1`, messageID).Scan(&convID, &outID)
	return convID, outID, classify(err, "message")
}

// FindWaiting lists a filter's conversations that wait for the staff, oldest waiting
// first: not done, and 未対応, unread, or with a message of the parent after the last
// reply (notes do not answer). It reads no names or text.
func (s *InboxStore) FindWaiting(ctx context.Context, f inbox.Filter) ([]inbox.Waiting, error) {
	db := pgtx.Tx(ctx)
	f.State, f.ClassID, f.ClubID, f.OfficeOnly, f.Limit, f.Offset = "", 0, 0, false, 0, 0
	where, args := conversationWhere(f)
	rows, err := db.Query(ctx, `SELECT w.id, sc.board_id, w.school_id, w.target, COALESCE(w.class_id, 0), COALESCE(w.club_id, 0),
			COALESCE(cl.year, k.year, sc.current_year),
			CASE w.target WHEN 'homeroom' THEN cl.grade::text || '年' || cl.name || ' 担任' WHEN 'advisor' THEN k.name || ' 顧問' ELSE '`+officeLabel+`' END,
			w.state, w.unread, w.last_message_at, w.unanswered
		FROM (SELECT cv.id, cv.school_id, cv.target, cv.class_id, cv.club_id, cv.state, cv.unread, cv.last_message_at,
				(SELECT min(m.created_at) FROM message m WHERE m.conversation_id = cv.id AND m.direction = 'in'
					AND m.id > COALESCE((SELECT max(o.id) FROM message o WHERE o.conversation_id = cv.id AND o.direction = 'out'), 0)) AS unanswered
			FROM conversation cv WHERE `+where+` AND cv.state <> 'done') w
		JOIN school sc ON sc.id = w.school_id LEFT JOIN class cl ON cl.id = w.class_id LEFT JOIN club k ON k.id = w.club_id
		WHERE w.state = 'open' OR w.unread > 0 OR w.unanswered IS NOT NULL
		ORDER BY COALESCE(w.unanswered, w.last_message_at), w.id`, args...)
	if err != nil {
		return nil, classify(err, "waiting conversations")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (inbox.Waiting, error) {
		var w inbox.Waiting
		var unanswered *time.Time
		err := r.Scan(&w.ID, &w.BoardID, &w.SchoolID, &w.Target, &w.ClassID, &w.ClubID, &w.Year, &w.Label, &w.State, &w.Unread, &w.LastMessageAt, &unanswered)
		if unanswered != nil {
			w.Unanswered = *unanswered
		}
		return w, err
	})
	return out, classify(err, "waiting conversations")
}

// FindSchoolBoard returns the board of a school.
func (s *InboxStore) FindSchoolBoard(ctx context.Context, schoolID int64) (int64, error) {
	db := pgtx.Tx(ctx)
	var id int64
	err := db.QueryRow(ctx, `SELECT board_id FROM school WHERE id = $1`, schoolID).Scan(&id)
	return id, classify(err, "school board")
}
