package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// ActorKind says what kind of party acted.
type ActorKind string

// The actor kinds.
const (
	Staff    ActorKind = "staff"
	Guardian ActorKind = "guardian"
	System   ActorKind = "system"
	Operator ActorKind = "operator" // someone at the command line (renraku admin …)
	// Anonymous is someone not (yet) signed in, such as a failed sign-in with an
	// unknown login ID.
	Anonymous ActorKind = "anonymous"
)

// Actor is who acted: a kind and, for staff and guardians, their internal ID.
type Actor struct {
	Kind ActorKind
	ID   int64
}

// SystemActor is renraku itself (jobs, retention, webhook processing).
var SystemActor = Actor{Kind: System}

// OperatorActor is a person running renraku's command line on the server.
var OperatorActor = Actor{Kind: Operator}

// Event is one thing that happened.
type Event struct {
	Actor      Actor
	Action     string // dotted lower-case code, e.g. "staff.sign_in", "absence.export"
	ObjectKind string // e.g. "guardian", "conversation"; "" when none
	ObjectID   string // internal ID of the object; never a name or a LINE ID
	BoardID    int64
	SchoolID   int64
	RemoteAddr netip.Addr
	// Detail holds counts, flags and short codes: int, int64, float64, bool, or string
	// of at most 80 bytes. Anything else is refused, so personal values cannot slip in.
	Detail map[string]any
}

// MAC computes the chain's keyed MAC over data. The key must live outside the database
// (renraku uses a PRF from the keyset file).
type MAC func(data []byte) ([]byte, error)

// Log records and verifies audit events.
type Log struct {
	mac MAC
	// clock stamps events; the package's tests move it.
	clock clock.Clock
}

// New returns a Log whose chain is keyed by mac.
func New(mac MAC) *Log {
	return &Log{mac: mac}
}

// ErrInvalidEvent is returned for an event that breaks the rules above.
var ErrInvalidEvent = errors.New("audit: invalid event")

var actionRE = regexp.MustCompile(`^[a-z0-9_.]{3,80}$`)

func (e *Event) validate() error {
	switch e.Actor.Kind {
	case Staff, Guardian:
		if e.Actor.ID <= 0 {
			return fmt.Errorf("%w: %s actor needs an ID", ErrInvalidEvent, e.Actor.Kind)
		}
	case System, Operator, Anonymous:
	default:
		return fmt.Errorf("%w: unknown actor kind %q", ErrInvalidEvent, e.Actor.Kind)
	}
	if !actionRE.MatchString(e.Action) {
		return fmt.Errorf("%w: action %q", ErrInvalidEvent, e.Action)
	}
	if len(e.ObjectKind) > 40 || len(e.ObjectID) > 80 {
		return fmt.Errorf("%w: object too long", ErrInvalidEvent)
	}
	for k, v := range e.Detail {
		switch x := v.(type) {
		case int, int64, float64, bool:
		case string:
			if len(x) > 80 {
				return fmt.Errorf("%w: detail %q longer than 80 bytes", ErrInvalidEvent, k)
			}
		default:
			return fmt.Errorf("%w: detail %q has type %T (only numbers, booleans and short codes)", ErrInvalidEvent, k, v)
		}
	}
	return nil
}

// row is an audit_event row as stored.
type row struct {
	Seq        int64
	OccurredAt time.Time
	ActorKind  string
	ActorID    int64
	Action     string
	ObjectKind string
	ObjectID   string
	BoardID    int64
	SchoolID   int64
	RemoteAddr string
	Detail     string
	PrevMAC    []byte
	MAC        []byte
}

// canonical is the MAC input: every field length-prefixed, so no two rows encode alike.
func (r *row) canonical() []byte {
	b := make([]byte, 0, 256)
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	num := func(n int64) { b = binary.BigEndian.AppendUint64(b, uint64(n)) }
	str("renraku.audit.v1")
	num(r.Seq)
	num(r.OccurredAt.UnixMicro())
	str(r.ActorKind)
	num(r.ActorID)
	str(r.Action)
	str(r.ObjectKind)
	str(r.ObjectID)
	num(r.BoardID)
	num(r.SchoolID)
	str(r.RemoteAddr)
	str(r.Detail)
	str(string(r.PrevMAC))
	return b
}

// detailJSON encodes Detail with sorted keys, so the stored text is deterministic.
func detailJSON(d map[string]any) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	buf := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return "", err
		}
		vb, err := json.Marshal(d[k])
		if err != nil {
			return "", err
		}
		buf = append(append(append(buf, kb...), ':'), vb...)
	}
	return string(append(buf, '}')), nil
}

type chainWatchKey struct{}

// WatchChain returns a context in which Record reports, through the flag, that it
// took the chain's lock (held from then until the transaction ends). Work that runs
// many pieces in one transaction uses it to commit early rather than keep every other
// audited transaction waiting.
func WatchChain(ctx context.Context) (context.Context, *atomic.Bool) {
	h := new(atomic.Bool)
	return context.WithValue(ctx, chainWatchKey{}, h), h
}

// Record appends e to the log inside the context's transaction. The chain's head
// stays locked until that transaction ends, so every audited transaction waits for
// it: callers record last, after the rest of the transaction's work (queued messages,
// loops, other writes), so the lock is held for as short a time as possible.
func (l *Log) Record(ctx context.Context, e Event) error {
	tx := pgtx.Tx(ctx)
	if err := e.validate(); err != nil {
		return err
	}
	detail, err := detailJSON(e.Detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	r := row{
		OccurredAt: l.clock.Now().UTC().Truncate(time.Microsecond),
		ActorKind:  string(e.Actor.Kind),
		ActorID:    e.Actor.ID,
		Action:     e.Action,
		ObjectKind: e.ObjectKind,
		ObjectID:   e.ObjectID,
		BoardID:    e.BoardID,
		SchoolID:   e.SchoolID,
		Detail:     detail,
	}
	if e.RemoteAddr.IsValid() {
		r.RemoteAddr = e.RemoteAddr.Unmap().String()
	}
	// The server's role may not lock audit_chain itself (that needs UPDATE on it); the
	// owner's audit_lock_head does, and the insert trigger moves the head to this row.
	if err := tx.QueryRow(ctx, `SELECT head_seq, head_mac FROM audit_lock_head()`).Scan(&r.Seq, &r.PrevMAC); err != nil {
		return fmt.Errorf("audit: lock chain: %w", err)
	}
	if h, ok := ctx.Value(chainWatchKey{}).(*atomic.Bool); ok {
		h.Store(true)
	}
	r.Seq++
	if r.MAC, err = l.mac(r.canonical()); err != nil {
		return fmt.Errorf("audit: mac: %w", err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_event (seq, occurred_at, actor_kind, actor_id, action, object_kind, object_id,
			board_id, school_id, remote_addr, detail, prev_mac, mac)
		VALUES ($1, $2, $3, NULLIF($4, 0), $5, $6, $7, NULLIF($8, 0), NULLIF($9, 0), NULLIF($10, '')::inet, $11::json, $12, $13)`,
		r.Seq, r.OccurredAt, r.ActorKind, r.ActorID, r.Action, r.ObjectKind, r.ObjectID,
		r.BoardID, r.SchoolID, r.RemoteAddr, r.Detail, r.PrevMAC, r.MAC)
	if err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	return nil
}

// Beginner starts transactions: *pgxpool.Pool satisfies it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// RecordAlone records e in a transaction of its own, for events with no other work
// (a sign-in failure, a command-line action).
func (l *Log) RecordAlone(ctx context.Context, db Beginner, e Event) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return l.Record(pgtx.With(ctx, tx), e) })
}
