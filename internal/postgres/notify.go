package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/notify"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/vault"
)

// NotifyStore keeps the staff's notification choices, what waits to be sent, the Web
// Push subscriptions (encrypted) and the VAPID key pair (private key encrypted).
type NotifyStore struct {
	Vault *vault.Vault
}

var _ notify.Store = (*NotifyStore)(nil)

// endpointDomain separates the subscriptions' blind index from every other one.
const endpointDomain = "push_subscription.endpoint"

var (
	pushEndpointColumn = vault.Column{Table: "push_subscription", Column: "endpoint_enc", ADColumn: "endpoint", RowExpr: "encode(endpoint_key, 'hex')"}
	pushKeysColumn     = vault.Column{Table: "push_subscription", Column: "keys_enc", ADColumn: "keys", RowExpr: "encode(endpoint_key, 'hex')"}
	vapidPrivateColumn = vault.Column{Table: "vapid_key", Column: "private_enc", ADColumn: "private"}
)

// FindRecipient reads an account's state, choices and the office hours of its school
// (board administrators: notify.BoardWindow).
func (s *NotifyStore) FindRecipient(ctx context.Context, staffID int64) (notify.Recipient, error) {
	db := pgtx.Tx(ctx)
	r := notify.Recipient{StaffID: staffID, Office: notify.BoardWindow}
	var schoolID *int64
	var open, close, days *string
	var hasPref bool
	var msg, abs, reg, del bool
	var ws, we, wd *string
	err := db.QueryRow(ctx, `
		SELECT st.board_id, st.school_id, st.disabled_at IS NOT NULL,
			to_char(sc.office_open, 'HH24:MI'), to_char(sc.office_close, 'HH24:MI'), sc.office_days,
			p.staff_id IS NOT NULL, COALESCE(p.message, true), COALESCE(p.absence, true), COALESCE(p.registration, true),
			COALESCE(p.delivery, true), to_char(p.window_start, 'HH24:MI'), to_char(p.window_end, 'HH24:MI'), p.window_days
		FROM staff st LEFT JOIN school sc ON sc.id = st.school_id LEFT JOIN notify_pref p ON p.staff_id = st.id
		WHERE st.id = $1`, staffID).Scan(&r.BoardID, &schoolID, &r.Disabled, &open, &close, &days,
		&hasPref, &msg, &abs, &reg, &del, &ws, &we, &wd)
	if err != nil {
		return r, classify(err, "notification recipient")
	}
	if schoolID != nil {
		r.SchoolID = *schoolID
		if w, err := notify.ParseWindow(*open, *close, *days); err == nil {
			r.Office = w
		}
	}
	r.Prefs.Off = map[live.Kind]bool{live.Message: !msg, live.Absence: !abs, live.Registration: !reg, live.Delivery: !del}
	if ws != nil && we != nil && wd != nil {
		if w, err := notify.ParseWindow(*ws, *we, *wd); err == nil {
			r.Prefs.Window = &w
		}
	}
	return r, nil
}

// SavePrefs stores an account's choices.
func (s *NotifyStore) SavePrefs(ctx context.Context, staffID int64, p notify.Prefs) error {
	db := pgtx.Tx(ctx)
	var ws, we, wd *string
	if p.Window != nil {
		a, b, d := notify.Clock(p.Window.Start), notify.Clock(p.Window.End), p.Window.Days
		ws, we, wd = &a, &b, &d
	}
	_, err := db.Exec(ctx, `
		INSERT INTO notify_pref (staff_id, message, absence, registration, delivery, window_start, window_end, window_days)
		VALUES ($1, $2, $3, $4, $5, $6::time, $7::time, $8)
		ON CONFLICT (staff_id) DO UPDATE SET message = EXCLUDED.message, absence = EXCLUDED.absence,
			registration = EXCLUDED.registration, delivery = EXCLUDED.delivery, window_start = EXCLUDED.window_start,
			window_end = EXCLUDED.window_end, window_days = EXCLUDED.window_days, updated_at = now()`,
		staffID, !p.Off[live.Message], !p.Off[live.Absence], !p.Off[live.Registration], !p.Off[live.Delivery], ws, we, wd)
	return classify(err, "save notification choices")
}

const pendingColumns = `staff_id, kind, count, places, due_at, last_sent_at`

func scanPending(row pgx.Row) (notify.Pending, error) {
	var p notify.Pending
	var places []byte
	var due, last *time.Time
	if err := row.Scan(&p.StaffID, &p.Kind, &p.Count, &places, &due, &last); err != nil {
		return p, err
	}
	if due != nil {
		p.Due = *due
	}
	if last != nil {
		p.LastSent = *last
	}
	return p, json.Unmarshal(places, &p.Places)
}

// AddPending adds one event to what waits and returns the row, locked. A place
// already listed is not listed twice, and at most 50 are kept (a notification names
// the first and says 「ほか」 for the rest).
func (s *NotifyStore) AddPending(ctx context.Context, staffID int64, kind live.Kind, place notify.Place) (notify.Pending, error) {
	db := pgtx.Tx(ctx)
	pl, err := json.Marshal([]notify.Place{place})
	if err != nil {
		return notify.Pending{}, err
	}
	p, err := scanPending(db.QueryRow(ctx, `
		INSERT INTO notify_pending AS n (staff_id, kind, count, places) VALUES ($1, $2, 1, $3)
		ON CONFLICT (staff_id, kind) DO UPDATE SET count = n.count + 1,
			places = CASE WHEN n.places @> EXCLUDED.places OR jsonb_array_length(n.places) >= 50 THEN n.places
				ELSE n.places || EXCLUDED.places END
		RETURNING `+pendingColumns, staffID, kind, pl))
	return p, classify(err, "add pending notification")
}

// LockPending reads and locks what waits.
func (s *NotifyStore) LockPending(ctx context.Context, staffID int64, kind live.Kind) (notify.Pending, error) {
	db := pgtx.Tx(ctx)
	p, err := scanPending(db.QueryRow(ctx, `SELECT `+pendingColumns+` FROM notify_pending WHERE staff_id = $1 AND kind = $2 FOR UPDATE`, staffID, kind))
	return p, classify(err, "pending notification")
}

// SetDue records when the queued send job runs.
func (s *NotifyStore) SetDue(ctx context.Context, staffID int64, kind live.Kind, due time.Time) error {
	db := pgtx.Tx(ctx)
	var at *time.Time
	if !due.IsZero() {
		at = &due
	}
	_, err := db.Exec(ctx, `UPDATE notify_pending SET due_at = $3 WHERE staff_id = $1 AND kind = $2`, staffID, kind, at)
	return classify(err, "schedule notification")
}

// ClearPending forgets what waits; a non-zero sent records the sending time.
func (s *NotifyStore) ClearPending(ctx context.Context, staffID int64, kind live.Kind, sent time.Time) error {
	db := pgtx.Tx(ctx)
	var at *time.Time
	if !sent.IsZero() {
		at = &sent
	}
	_, err := db.Exec(ctx, `UPDATE notify_pending SET count = 0, places = '[]', due_at = NULL,
		last_sent_at = COALESCE($3, last_sent_at) WHERE staff_id = $1 AND kind = $2`, staffID, kind, at)
	return classify(err, "clear pending notification")
}

type pushKeys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// SaveSubscription stores a subscription, encrypted; the endpoint is found by its
// blind index, so one browser has one row, owned by whoever subscribed it last.
func (s *NotifyStore) SaveSubscription(ctx context.Context, staffID int64, sub notify.Subscription) error {
	db := pgtx.Tx(ctx)
	key, err := s.Vault.BlindIndex(endpointDomain, sub.Endpoint)
	if err != nil {
		return err
	}
	row := hex.EncodeToString(key)
	endpoint, err := s.Vault.EncryptBytes([]byte(sub.Endpoint), pushEndpointColumn.AD(row))
	if err != nil {
		return err
	}
	kb, err := json.Marshal(pushKeys{P256dh: sub.P256dh, Auth: sub.Auth})
	if err != nil {
		return err
	}
	keys, err := s.Vault.EncryptBytes(kb, pushKeysColumn.AD(row))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `
		INSERT INTO push_subscription (staff_id, endpoint_key, endpoint_enc, keys_enc) VALUES ($1, $2, $3, $4)
		ON CONFLICT (endpoint_key) DO UPDATE SET staff_id = EXCLUDED.staff_id, endpoint_enc = EXCLUDED.endpoint_enc,
			keys_enc = EXCLUDED.keys_enc, created_at = now()`, staffID, key, endpoint, keys)
	return classify(err, "save push subscription")
}

// DeleteSubscription removes an account's subscription of endpoint.
func (s *NotifyStore) DeleteSubscription(ctx context.Context, staffID int64, endpoint string) (bool, error) {
	db := pgtx.Tx(ctx)
	key, err := s.Vault.BlindIndex(endpointDomain, endpoint)
	if err != nil {
		return false, err
	}
	tag, err := db.Exec(ctx, `DELETE FROM push_subscription WHERE endpoint_key = $1 AND staff_id = $2`, key, staffID)
	if err != nil {
		return false, classify(err, "delete push subscription")
	}
	return tag.RowsAffected() > 0, nil
}

// DeleteSubscriptionByID removes a subscription the push service ended.
func (s *NotifyStore) DeleteSubscriptionByID(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM push_subscription WHERE id = $1`, id)
	return classify(err, "delete push subscription")
}

// DeleteSubscriptions removes every subscription of an account.
func (s *NotifyStore) DeleteSubscriptions(ctx context.Context, staffID int64) (int, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `DELETE FROM push_subscription WHERE staff_id = $1`, staffID)
	if err != nil {
		return 0, classify(err, "delete push subscriptions")
	}
	return int(tag.RowsAffected()), nil
}

// DeleteAllSubscriptions removes every subscription (the VAPID key pair changed).
func (s *NotifyStore) DeleteAllSubscriptions(ctx context.Context) (int, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `DELETE FROM push_subscription`)
	if err != nil {
		return 0, classify(err, "delete push subscriptions")
	}
	return int(tag.RowsAffected()), nil
}

// FindSubscriptionIDs lists an account's subscriptions.
func (s *NotifyStore) FindSubscriptionIDs(ctx context.Context, staffID int64) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT id FROM push_subscription WHERE staff_id = $1 ORDER BY id`, staffID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "push subscriptions")
}

// FindSubscription reads and decrypts one subscription.
func (s *NotifyStore) FindSubscription(ctx context.Context, id int64) (notify.Subscription, error) {
	db := pgtx.Tx(ctx)
	var key, endpoint, keys []byte
	err := db.QueryRow(ctx, `SELECT endpoint_key, endpoint_enc, keys_enc FROM push_subscription WHERE id = $1`, id).Scan(&key, &endpoint, &keys)
	if err != nil {
		return notify.Subscription{}, classify(err, "push subscription")
	}
	row := hex.EncodeToString(key)
	ep, err := s.Vault.DecryptBytes(endpoint, pushEndpointColumn.AD(row))
	if err != nil {
		return notify.Subscription{}, err
	}
	kb, err := s.Vault.DecryptBytes(keys, pushKeysColumn.AD(row))
	if err != nil {
		return notify.Subscription{}, err
	}
	var k pushKeys
	if err := json.Unmarshal(kb, &k); err != nil {
		return notify.Subscription{}, err
	}
	return notify.Subscription{Endpoint: string(ep), P256dh: k.P256dh, Auth: k.Auth}, nil
}

// FindVAPID reads and decrypts the key pair.
func (s *NotifyStore) FindVAPID(ctx context.Context) (notify.VAPID, error) {
	db := pgtx.Tx(ctx)
	var k notify.VAPID
	var priv []byte
	if err := db.QueryRow(ctx, `SELECT public_key, private_enc FROM vapid_key WHERE id = 1`).Scan(&k.Public, &priv); err != nil {
		return k, classify(err, "vapid key")
	}
	p, err := s.Vault.DecryptBytes(priv, vapidPrivateColumn.ADForID(1))
	k.Private = string(p)
	return k, err
}

// SaveVAPID stores the key pair, replacing one only when replace is set.
func (s *NotifyStore) SaveVAPID(ctx context.Context, k notify.VAPID, replace bool) (bool, error) {
	db := pgtx.Tx(ctx)
	priv, err := s.Vault.EncryptBytes([]byte(k.Private), vapidPrivateColumn.ADForID(1))
	if err != nil {
		return false, err
	}
	conflict := `DO NOTHING`
	if replace {
		conflict = `DO UPDATE SET public_key = EXCLUDED.public_key, private_enc = EXCLUDED.private_enc, created_at = now()`
	}
	tag, err := db.Exec(ctx, `INSERT INTO vapid_key (id, public_key, private_enc) VALUES (1, $1, $2) ON CONFLICT (id) `+conflict, k.Public, priv)
	if err != nil {
		return false, classify(err, "save vapid key")
	}
	return tag.RowsAffected() == 1, nil
}

// Signal sends the desktop notification to the person's open pages when the
// transaction commits.
func (s *NotifyStore) Signal(ctx context.Context, staffID int64, n notify.Notification) error {
	db := pgtx.Tx(ctx)
	b, err := json.Marshal(notify.Signal{Staff: staffID, Notification: n})
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `SELECT pg_notify('`+notify.Channel+`', $1)`, string(b))
	return classify(err, "signal notification")
}
