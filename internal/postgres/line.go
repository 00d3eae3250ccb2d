package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/vault"
)

// LineStore implements line.Store. Personal and secret fields pass through the vault on
// their way in and out; the LINE userId is found by its blind index.
type LineStore struct {
	Vault *vault.Vault

	ids idPool // identities taken ahead (friends, outbound messages)
}

var _ line.Store = (*LineStore)(nil)

// Blind-index domain of LINE user IDs.
const userKeyDomain = "line.user_id"

func (s *LineStore) userKey(userID vault.Personal) ([]byte, error) {
	return s.Vault.BlindIndex(userKeyDomain, userID.Reveal())
}

func (s *LineStore) scanChannel(row pgx.Row) (line.Channel, error) {
	var ch line.Channel
	var secret, token []byte
	if err := row.Scan(&ch.ID, &ch.LineChannelID, &ch.BoardID, &secret, &token, &ch.LoginChannelID, &ch.LIFFID); err != nil {
		return ch, classify(err, "line channel")
	}
	var err error
	if ch.Secret, err = s.Vault.DecryptPersonal(secret, vault.NewAD("line_channel", "secret", ch.LineChannelID)); err != nil {
		return ch, err
	}
	if ch.AccessToken, err = s.Vault.DecryptPersonal(token, vault.NewAD("line_channel", "token", ch.LineChannelID)); err != nil {
		return ch, err
	}
	return ch, nil
}

const channelColumns = `id, line_channel_id, board_id, secret_enc, token_enc, login_channel_id, liff_id`

// prefixed qualifies each column of a comma-separated list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, p := range parts {
		parts[i] = alias + p
	}
	return strings.Join(parts, ", ")
}

// FindChannelByLineID finds a channel by LINE's channel ID.
func (s *LineStore) FindChannelByLineID(ctx context.Context, lineChannelID string) (line.Channel, error) {
	db := pgtx.Tx(ctx)
	return s.scanChannel(db.QueryRow(ctx, `SELECT `+channelColumns+` FROM line_channel WHERE line_channel_id = $1`, lineChannelID))
}

// FindChannel finds a channel by renraku's ID.
func (s *LineStore) FindChannel(ctx context.Context, id int64) (line.Channel, error) {
	db := pgtx.Tx(ctx)
	return s.scanChannel(db.QueryRow(ctx, `SELECT `+channelColumns+` FROM line_channel WHERE id = $1`, id))
}

// FindSchoolChannel returns the channel a school uses.
func (s *LineStore) FindSchoolChannel(ctx context.Context, schoolID int64) (line.Channel, error) {
	db := pgtx.Tx(ctx)
	return s.scanChannel(db.QueryRow(ctx, `SELECT `+prefixed("c.", channelColumns)+`
		FROM line_channel c JOIN school sc ON sc.line_channel_id = c.id WHERE sc.id = $1`, schoolID))
}

// FindSchoolBoard returns the board of a school.
func (s *LineStore) FindSchoolBoard(ctx context.Context, schoolID int64) (int64, error) {
	db := pgtx.Tx(ctx)
	var id int64
	err := db.QueryRow(ctx, `SELECT board_id FROM school WHERE id = $1`, schoolID).Scan(&id)
	return id, classify(err, "school board")
}

// FindChannels lists every channel.
func (s *LineStore) FindChannels(ctx context.Context) ([]line.Channel, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+channelColumns+` FROM line_channel ORDER BY id`)
	if err != nil {
		return nil, classify(err, "line channels")
	}
	defer rows.Close()
	var out []line.Channel
	for rows.Next() {
		ch, err := s.scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, classify(rows.Err(), "line channels")
}

// SaveChannel creates the channel or updates the one with the same LINE channel ID.
func (s *LineStore) SaveChannel(ctx context.Context, ch *line.Channel) (bool, error) {
	db := pgtx.Tx(ctx)
	existing, err := s.FindChannelByLineID(ctx, ch.LineChannelID)
	if err == nil && existing.BoardID == ch.BoardID && existing.Secret == ch.Secret && existing.AccessToken == ch.AccessToken &&
		existing.LoginChannelID == ch.LoginChannelID && existing.LIFFID == ch.LIFFID {
		ch.ID = existing.ID
		return false, nil
	}
	secret, err := s.Vault.EncryptPersonal(ch.Secret, vault.NewAD("line_channel", "secret", ch.LineChannelID))
	if err != nil {
		return false, err
	}
	token, err := s.Vault.EncryptPersonal(ch.AccessToken, vault.NewAD("line_channel", "token", ch.LineChannelID))
	if err != nil {
		return false, err
	}
	err = db.QueryRow(ctx, `
		INSERT INTO line_channel (line_channel_id, board_id, secret_enc, token_enc, login_channel_id, liff_id)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (line_channel_id) DO UPDATE SET board_id = EXCLUDED.board_id, secret_enc = EXCLUDED.secret_enc,
			token_enc = EXCLUDED.token_enc, login_channel_id = EXCLUDED.login_channel_id, liff_id = EXCLUDED.liff_id,
			updated_at = now()
		RETURNING id`, ch.LineChannelID, ch.BoardID, secret, token, ch.LoginChannelID, ch.LIFFID).Scan(&ch.ID)
	return true, classify(err, "save line channel")
}

// AssignSchoolChannel makes the school use the channel.
func (s *LineStore) AssignSchoolChannel(ctx context.Context, schoolID, channelID int64) (bool, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `UPDATE school SET line_channel_id = $2 WHERE id = $1 AND line_channel_id IS DISTINCT FROM $2`, schoolID, channelID)
	if err != nil {
		return false, classify(err, "assign school channel")
	}
	return tag.RowsAffected() == 1, nil
}

// ChannelSchools lists the schools a channel serves.
func (s *LineStore) ChannelSchools(ctx context.Context, channelID int64) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT id FROM school WHERE line_channel_id = $1 ORDER BY id`, channelID)
	if err != nil {
		return nil, classify(err, "channel schools")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "channel schools")
}

func eventAD(channelID int64, webhookEventID string) vault.AD {
	return vault.NewAD("line_event", "payload", strconv.FormatInt(channelID, 10)+"/"+webhookEventID)
}

// InsertEvent stores an event unless it is already stored.
func (s *LineStore) InsertEvent(ctx context.Context, ev *line.StoredEvent) (bool, error) {
	db := pgtx.Tx(ctx)
	if ev.UserID != "" {
		k, err := s.userKey(ev.UserID)
		if err != nil {
			return false, err
		}
		ev.UserKey = k
	}
	payload, err := s.Vault.EncryptBytes(ev.Payload, eventAD(ev.ChannelID, ev.WebhookEventID))
	if err != nil {
		return false, err
	}
	err = db.QueryRow(ctx, `
		INSERT INTO line_event (channel_id, webhook_event_id, event_type, user_key, occurred_at, received_at, redelivered, payload_enc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (channel_id, webhook_event_id) DO NOTHING
		RETURNING id`, ev.ChannelID, ev.WebhookEventID, ev.Type, ev.UserKey, ev.OccurredAt, ev.ReceivedAt, ev.Redelivered, payload).Scan(&ev.ID)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	return err == nil, classify(err, "insert line event")
}

const eventColumns = `id, channel_id, webhook_event_id, event_type, user_key, occurred_at, received_at, redelivered, payload_enc, processed_at IS NOT NULL AS processed, outcome = 'retry' AS retrying`

// scanEvent reads a row of eventColumns, and into more the columns after them.
func (s *LineStore) scanEvent(row pgx.Row, more ...any) (line.StoredEvent, error) {
	var ev line.StoredEvent
	var payload []byte
	if err := row.Scan(append([]any{&ev.ID, &ev.ChannelID, &ev.WebhookEventID, &ev.Type, &ev.UserKey, &ev.OccurredAt, &ev.ReceivedAt,
		&ev.Redelivered, &payload, &ev.Processed, &ev.Retrying}, more...)...); err != nil {
		return ev, classify(err, "line event")
	}
	if payload != nil {
		p, err := s.Vault.DecryptBytes(payload, eventAD(ev.ChannelID, ev.WebhookEventID))
		if err != nil {
			return ev, err
		}
		ev.Payload = p
	}
	return ev, nil
}

// FindEvent finds an event by ID.
func (s *LineStore) FindEvent(ctx context.Context, id int64) (line.StoredEvent, error) {
	db := pgtx.Tx(ctx)
	return s.scanEvent(db.QueryRow(ctx, `SELECT `+eventColumns+` FROM line_event WHERE id = $1`, id))
}

// PendingUserEvents lists a user's unprocessed events up to upTo, oldest first.
func (s *LineStore) PendingUserEvents(ctx context.Context, channelID int64, userKey []byte, upTo line.StoredEvent) ([]line.StoredEvent, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+eventColumns+` FROM line_event
		WHERE channel_id = $1 AND user_key = $2 AND processed_at IS NULL AND (occurred_at, id) <= ($3, $4)
		ORDER BY occurred_at, id`, channelID, userKey, upTo.OccurredAt, upTo.ID)
	return s.scanEvents(rows, err, "pending line events")
}

// MarkEventProcessed records the outcome and wipes the payload.
func (s *LineStore) MarkEventProcessed(ctx context.Context, id int64, outcome string) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE line_event SET processed_at = statement_timestamp(), outcome = $2, payload_enc = NULL WHERE id = $1`, id, outcome)
	return classify(err, "mark line event")
}

func friendAD(id int64) vault.AD {
	return vault.NewAD("line_friend", "user_id", strconv.FormatInt(id, 10))
}

const friendColumns = `id, channel_id, user_id_enc, language, following, richmenu_kind`

func (s *LineStore) scanFriend(row pgx.Row) (line.Friend, error) {
	var f line.Friend
	var enc []byte
	if err := row.Scan(&f.ID, &f.ChannelID, &enc, &f.Language, &f.Following, &f.RichMenuKind); err != nil {
		return f, classify(err, "line friend")
	}
	var err error
	f.UserID, err = s.Vault.DecryptPersonal(enc, friendAD(f.ID))
	return f, err
}

// FindFriend finds a friend by ID.
func (s *LineStore) FindFriend(ctx context.Context, id int64) (line.Friend, error) {
	db := pgtx.Tx(ctx)
	return s.scanFriend(db.QueryRow(ctx, `SELECT `+friendColumns+` FROM line_friend WHERE id = $1`, id))
}

// FindFriendByUserID finds a channel's friend by LINE userId, through its blind index.
func (s *LineStore) FindFriendByUserID(ctx context.Context, channelID int64, userID vault.Personal) (line.Friend, error) {
	db := pgtx.Tx(ctx)
	k, err := s.userKey(userID)
	if err != nil {
		return line.Friend{}, err
	}
	return s.scanFriend(db.QueryRow(ctx, `SELECT `+friendColumns+` FROM line_friend WHERE channel_id = $1 AND user_key = $2`, channelID, k))
}

// SaveFriendFollow creates the friend or updates its following state.
func (s *LineStore) SaveFriendFollow(ctx context.Context, f *line.Friend, at time.Time) error {
	if f.ID == 0 {
		_, err := s.InsertFriends(ctx, []*line.Friend{f}, []time.Time{at})
		return err
	}
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `
		UPDATE line_friend SET following = $2,
			followed_at = CASE WHEN $2 THEN $3 ELSE followed_at END,
			unfollowed_at = CASE WHEN NOT $2 THEN $3 ELSE unfollowed_at END,
			language = COALESCE(NULLIF($4, ''), language)
		WHERE id = $1`, f.ID, f.Following, at, f.Language)
	return classify(err, "update line friend")
}

// InsertFriends records new friends in one statement, following or not as of ats[i]
// (SaveFriendFollow records one through it), setting their IDs; a friend that exists
// by then keeps its row and ID, its following updated. It reports for each whether
// its row was inserted.
func (s *LineStore) InsertFriends(ctx context.Context, fs []*line.Friend, ats []time.Time) ([]bool, error) {
	n := len(fs)
	if n == 0 {
		return nil, nil
	}
	ids, channels, keys, encs := make([]int64, n), make([]int64, n), make([][]byte, n), make([][]byte, n)
	langs, following := make([]string, n), make([]bool, n)
	for i, f := range fs {
		k, err := s.userKey(f.UserID)
		if err != nil {
			return nil, err
		}
		// The AD names the row, so take its ID first.
		if ids[i], err = s.ids.next(ctx, "line_friend", "id"); err != nil {
			return nil, err
		}
		if encs[i], err = s.Vault.EncryptPersonal(f.UserID, friendAD(ids[i])); err != nil {
			return nil, err
		}
		channels[i], keys[i], langs[i], following[i] = f.ChannelID, k, f.Language, f.Following
	}
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `
		INSERT INTO line_friend (id, channel_id, user_key, user_id_enc, language, following, followed_at, unfollowed_at)
		OVERRIDING SYSTEM VALUE
		SELECT i, c, k, e, l, f, CASE WHEN f THEN a END, CASE WHEN NOT f THEN a END
		FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[], $5::text[], $6::boolean[], $7::timestamptz[]) AS u(i, c, k, e, l, f, a)
		ON CONFLICT (channel_id, user_key) DO UPDATE SET following = EXCLUDED.following
		RETURNING channel_id, user_key, id, xmax = 0`, ids, channels, keys, encs, langs, following, ats)
	if err != nil {
		return nil, classify(err, "insert line friends")
	}
	type row struct {
		id       int64
		inserted bool
	}
	key := func(ch int64, k []byte) string { return strconv.FormatInt(ch, 10) + ":" + string(k) }
	got := map[string]row{}
	var ch, id int64
	var k []byte
	var inserted bool
	_, err = pgx.ForEachRow(rows, []any{&ch, &k, &id, &inserted}, func() error {
		got[key(ch, k)] = row{id, inserted}
		return nil
	})
	if err != nil {
		return nil, classify(err, "insert line friends")
	}
	out := make([]bool, n)
	for i, f := range fs {
		r, ok := got[key(channels[i], keys[i])]
		if !ok {
			return nil, fmt.Errorf("line friends: a friend was not recorded")
		}
		f.ID, out[i] = r.id, r.inserted
	}
	return out, nil
}

// SetFriendRichMenu records which rich menu is linked to the friend.
func (s *LineStore) SetFriendRichMenu(ctx context.Context, friendID int64, kind string) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE line_friend SET richmenu_kind = $2 WHERE id = $1`, friendID, kind)
	return classify(err, "set friend rich menu")
}

func outboundAD(id int64, column string) vault.AD {
	return vault.NewAD("line_outbound", column, strconv.FormatInt(id, 10))
}

// InsertOutbound stores a queued message, setting o.ID and o.RetryKey.
func (s *LineStore) InsertOutbound(ctx context.Context, o *line.Outbound) error {
	db := pgtx.Tx(ctx)
	var err error
	if o.ID, err = s.ids.next(ctx, "line_outbound", "id"); err != nil {
		return err
	}
	msgs, token, deadline, err := s.sealOutbound(o)
	if err != nil {
		return err
	}
	err = db.QueryRow(ctx, `
		INSERT INTO line_outbound (id, channel_id, friend_id, purpose, messages_enc, reply_token_enc, reply_deadline)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING retry_key::text, state`,
		o.ID, o.ChannelID, o.FriendID, o.Purpose, msgs, token, deadline).Scan(&o.RetryKey, &o.State)
	return classify(err, "insert line outbound")
}

// sealOutbound encrypts a message's content and reply token for its row (o.ID is
// taken); the token and its deadline are nil for a push.
func (s *LineStore) sealOutbound(o *line.Outbound) (msgs, token []byte, deadline *time.Time, err error) {
	body, err := json.Marshal(o.Messages)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("line outbound: %w", err)
	}
	if msgs, err = s.Vault.EncryptBytes(body, outboundAD(o.ID, "messages")); err != nil {
		return nil, nil, nil, err
	}
	if o.ReplyToken != "" {
		if token, err = s.Vault.EncryptPersonal(o.ReplyToken, outboundAD(o.ID, "reply_token")); err != nil {
			return nil, nil, nil, err
		}
		deadline = &o.ReplyDeadline
	}
	return msgs, token, deadline, nil
}

// NewOutboundID takes the ID of a message stored later by InsertOutbounds or InsertOutboundsAtCommit.
func (s *LineStore) NewOutboundID(ctx context.Context) (int64, error) {
	return s.ids.next(ctx, "line_outbound", "id")
}

// InsertOutbounds stores queued messages whose IDs were taken, in one statement, and
// reads back their retry keys and states.
func (s *LineStore) InsertOutbounds(ctx context.Context, os []*line.Outbound) error {
	if len(os) == 0 {
		return nil
	}
	args, err := s.outboundRows(os)
	if err != nil {
		return err
	}
	rows, err := pgtx.Tx(ctx).Query(ctx, insertOutboundsSQL+` RETURNING id, retry_key::text, state`, args...)
	if err != nil {
		return classify(err, "insert line outbound")
	}
	byID := make(map[int64]*line.Outbound, len(os))
	for _, o := range os {
		byID[o.ID] = o
	}
	var id int64
	var key, state string
	_, err = pgx.ForEachRow(rows, []any{&id, &key, &state}, func() error {
		if o := byID[id]; o != nil {
			o.RetryKey, o.State = key, state
		}
		return nil
	})
	return classify(err, "insert line outbound")
}

// InsertOutboundsAtCommit stores queued messages whose IDs were taken, as
// InsertOutbounds does but without reading back their retry keys and states, with the
// COMMIT of the Transactor's transaction that ctx carries: one round trip with it. An
// error then fails the commit. Elsewhere it is InsertOutbounds.
func (s *LineStore) InsertOutboundsAtCommit(ctx context.Context, os []*line.Outbound) error {
	f, ok := pgtx.FinalOf(ctx)
	if !ok {
		return s.InsertOutbounds(ctx, os)
	}
	if len(os) == 0 {
		return nil
	}
	args, err := s.outboundRows(os)
	if err != nil {
		return err
	}
	f.Add(func(_ context.Context, _ pgx.Tx, b *pgx.Batch) error {
		b.Queue(insertOutboundsSQL, args...)
		return nil
	})
	return nil
}

// insertOutboundsSQL inserts the rows of outboundRows.
const insertOutboundsSQL = `INSERT INTO line_outbound (id, channel_id, friend_id, purpose, messages_enc, reply_token_enc, reply_deadline)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[], $7::timestamptz[])`

// outboundRows seals queued messages and returns insertOutboundsSQL's arguments.
func (s *LineStore) outboundRows(os []*line.Outbound) ([]any, error) {
	n := len(os)
	ids, channels, friends := make([]int64, n), make([]int64, n), make([]int64, n)
	purposes, msgs, tokens, deadlines := make([]string, n), make([][]byte, n), make([][]byte, n), make([]*time.Time, n)
	for i, o := range os {
		var err error
		if msgs[i], tokens[i], deadlines[i], err = s.sealOutbound(o); err != nil {
			return nil, err
		}
		ids[i], channels[i], friends[i], purposes[i] = o.ID, o.ChannelID, o.FriendID, o.Purpose
	}
	return []any{ids, channels, friends, purposes, msgs, tokens, deadlines}, nil
}

// FindOutbound finds a queued message by ID.
func (s *LineStore) FindOutbound(ctx context.Context, id int64) (line.Outbound, error) {
	db := pgtx.Tx(ctx)
	return s.scanOutbound(db.QueryRow(ctx, `SELECT `+outboundColumns+` FROM line_outbound WHERE id = $1`, id))
}

const outboundColumns = `id, channel_id, friend_id, purpose, messages_enc, reply_token_enc, reply_deadline, retry_key::text, state, method, attempts, last_error`

// scanOutbound reads outboundColumns and then the extra destinations.
func (s *LineStore) scanOutbound(row pgx.Row, extra ...any) (line.Outbound, error) {
	var o line.Outbound
	var msgs, token []byte
	var deadline *time.Time
	dest := append([]any{&o.ID, &o.ChannelID, &o.FriendID, &o.Purpose, &msgs, &token, &deadline,
		&o.RetryKey, &o.State, &o.Method, &o.Attempts, &o.LastError}, extra...)
	if err := row.Scan(dest...); err != nil {
		return o, classify(err, "line outbound")
	}
	if msgs != nil { // nil: the copy was wiped after sending
		body, err := s.Vault.DecryptBytes(msgs, outboundAD(o.ID, "messages"))
		if err != nil {
			return o, err
		}
		if err := json.Unmarshal(body, &o.Messages); err != nil {
			return o, fmt.Errorf("line outbound %d: %w", o.ID, err)
		}
	}
	if token != nil {
		var err error
		if o.ReplyToken, err = s.Vault.DecryptPersonal(token, outboundAD(o.ID, "reply_token")); err != nil {
			return o, err
		}
	}
	if deadline != nil {
		o.ReplyDeadline = *deadline
	}
	return o, nil
}

// UpdateOutbounds records send attempts, in one statement. A sent row loses its reply
// token; once done, the copy of what went to someone who is not (or no longer) a
// registered parent is wiped at once (a parent who withdrew keeps nothing behind).
func (s *LineStore) UpdateOutbounds(ctx context.Context, rs []line.OutboundUpdate) error {
	n := len(rs)
	ids, states, methods, errs, reqIDs, sent := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]bool, n)
	for i, r := range rs {
		ids[i], states[i], methods[i], errs[i], reqIDs[i], sent[i] = r.ID, r.State, r.Method, r.LastError, r.LineRequestID, r.Sent
	}
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `
		UPDATE line_outbound o SET state = r.state, method = r.method, last_error = r.last_error, attempts = o.attempts + 1,
			line_request_id = CASE WHEN r.request_id <> '' THEN r.request_id ELSE o.line_request_id END,
			sent_at = CASE WHEN r.sent THEN now() ELSE o.sent_at END,
			reply_token_enc = CASE WHEN r.state = 'queued' THEN o.reply_token_enc END,
			messages_enc = CASE WHEN r.state <> 'queued' AND NOT EXISTS (
					-- FOR KEY SHARE waits for a withdrawal in progress, then sees it.
					SELECT 1 FROM guardian g WHERE g.friend_id = o.friend_id FOR KEY SHARE)
				THEN NULL ELSE o.messages_enc END
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS r(id, state, method, last_error, request_id, sent)
		WHERE o.id = r.id`, ids, states, methods, errs, reqIDs, sent)
	return classify(err, "update line outbound")
}

// FindRichMenus lists the rich menus recorded for a channel.
func (s *LineStore) FindRichMenus(ctx context.Context, channelID int64) ([]line.RichMenuRecord, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT channel_id, kind, richmenu_id, spec_hash FROM line_richmenu WHERE channel_id = $1 ORDER BY kind`, channelID)
	if err != nil {
		return nil, classify(err, "line rich menus")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (line.RichMenuRecord, error) {
		var m line.RichMenuRecord
		err := r.Scan(&m.ChannelID, &m.Kind, &m.RichMenuID, &m.SpecHash)
		return m, err
	})
	return out, classify(err, "line rich menus")
}

// SaveRichMenu records (or replaces) a channel's menu of one kind.
func (s *LineStore) SaveRichMenu(ctx context.Context, r line.RichMenuRecord) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `
		INSERT INTO line_richmenu (channel_id, kind, richmenu_id, spec_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (channel_id, kind) DO UPDATE SET richmenu_id = EXCLUDED.richmenu_id, spec_hash = EXCLUDED.spec_hash, created_at = now()`,
		r.ChannelID, r.Kind, r.RichMenuID, r.SpecHash)
	return classify(err, "save line rich menu")
}

// RequeueOutbound puts a failed row back in the queue.
func (s *LineStore) RequeueOutbound(ctx context.Context, id int64) (bool, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `UPDATE line_outbound SET state = 'queued', last_error = '' WHERE id = $1 AND state = 'failed' AND messages_enc IS NOT NULL`, id)
	if err != nil {
		return false, classify(err, "requeue")
	}
	return tag.RowsAffected() == 1, nil
}

// WipeOutbound removes the copies of the messages sent (or no longer sendable) to a
// friend; queued ones stay to be sent.
func (s *LineStore) WipeOutbound(ctx context.Context, friendID int64) (int, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `UPDATE line_outbound SET messages_enc = NULL, reply_token_enc = NULL
		WHERE friend_id = $1 AND state <> 'queued' AND messages_enc IS NOT NULL`, friendID)
	return int(tag.RowsAffected()), classify(err, "wipe outbound")
}

// CountOutbound (announcements' multicasts count once per recipient, as LINE counts) counts a channel's sent messages since a time by purpose and method.
func (s *LineStore) CountOutbound(ctx context.Context, channelID int64, since time.Time) ([]line.Usage, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT purpose, method, count FROM (
			SELECT purpose, method, count(*) AS count FROM line_outbound
			WHERE channel_id = $1 AND state = 'sent' AND created_at >= $2 GROUP BY purpose, method
			UNION ALL
			SELECT a.kind, 'multicast', sum(b.recipients) FROM announcement_batch b JOIN announcement a ON a.id = b.announcement_id
			WHERE b.channel_id = $1 AND b.state = 'sent' AND b.sent_at >= $2 GROUP BY a.kind) u
		ORDER BY purpose, method`, channelID, since)
	if err != nil {
		return nil, classify(err, "usage")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (line.Usage, error) {
		var u line.Usage
		err := r.Scan(&u.Purpose, &u.Method, &u.Count)
		return u, err
	})
	return out, classify(err, "usage")
}
