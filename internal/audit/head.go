package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Head is the chain's newest row at one moment: its sequence number and MAC. Kept
// outside the database (the daily log line, an operator's notes), it lets Verify find
// rows cut from the end of the chain, which the chain alone cannot show: whoever can
// bypass the database's rules can remove the newest rows and move audit_chain back.
type Head struct {
	Seq int64
	MAC []byte
}

// headPrefix starts every signed head, so one can be picked out of a log line.
const headPrefix = "audit-head-v1:"

var headRE = regexp.MustCompile(`audit-head-v1:([0-9]+):([0-9a-f]*):([0-9a-f]+)`)

// ErrHeadNotGenuine is returned for a kept head whose signature does not match: altered,
// made up, or signed with another keyset.
var ErrHeadNotGenuine = errors.New("audit: the kept head is not genuine (altered, or signed with another keyset)")

// tag signs h with the chain's key. Its input starts with a label that no row's
// canonical encoding starts with, so a head's tag is never a row's MAC.
func (l *Log) tag(h Head) ([]byte, error) {
	b := make([]byte, 0, 96)
	label := "renraku.audit.head.v1"
	b = binary.BigEndian.AppendUint32(b, uint32(len(label)))
	b = append(b, label...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Seq))
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.MAC)))
	b = append(b, h.MAC...)
	return l.mac(b)
}

// SignHead returns h as one token to keep: audit-head-v1:<seq>:<mac>:<signature>. It
// holds no personal data (a number and two MACs).
func (l *Log) SignHead(h Head) (string, error) {
	t, err := l.tag(h)
	if err != nil {
		return "", fmt.Errorf("audit: sign head: %w", err)
	}
	return headPrefix + strconv.FormatInt(h.Seq, 10) + ":" + hex.EncodeToString(h.MAC) + ":" + hex.EncodeToString(t), nil
}

// ParseHead finds the last signed head in text (a token, or a log line or file that
// holds one) and checks its signature.
func (l *Log) ParseHead(text string) (Head, error) {
	all := headRE.FindAllStringSubmatch(text, -1)
	if len(all) == 0 {
		return Head{}, errors.New("audit: no signed head (audit-head-v1:…) found")
	}
	m := all[len(all)-1]
	seq, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return Head{}, fmt.Errorf("audit: kept head: %w", err)
	}
	mac, err1 := hex.DecodeString(m[2])
	sig, err2 := hex.DecodeString(m[3])
	if err := errors.Join(err1, err2); err != nil {
		return Head{}, fmt.Errorf("audit: kept head: %w", err)
	}
	h := Head{Seq: seq, MAC: mac}
	want, err := l.tag(h)
	if err != nil {
		return Head{}, err
	}
	if !hmac.Equal(want, sig) {
		return Head{}, ErrHeadNotGenuine
	}
	return h, nil
}

// CurrentHead reads the chain's head.
func CurrentHead(ctx context.Context, q Querier) (Head, error) {
	var h Head
	if err := q.QueryRow(ctx, `SELECT head_seq, head_mac FROM audit_chain`).Scan(&h.Seq, &h.MAC); err != nil {
		return h, fmt.Errorf("audit: read head: %w", err)
	}
	return h, nil
}

// VerifyWithHead is Verify, and checks that the chain still holds the kept head: that
// the chain reaches at least kept.Seq and its row there has kept's MAC. Rows cut from
// the end after kept was taken are found; rows cut after the newest kept head are not.
func (l *Log) VerifyWithHead(ctx context.Context, db TxBeginner, kept Head) (Report, error) {
	var rep Report
	err := pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if rep, err = l.verify(ctx, tx); err != nil || !rep.OK {
			return err
		}
		rep.Kept = &kept
		var mac []byte
		switch {
		case kept.Seq > rep.HeadSeq:
			rep.OK, rep.BrokenSeq = false, rep.HeadSeq+1
			rep.Reason = fmt.Sprintf("rows cut from the end: a kept head shows row %d, the chain ends at %d", kept.Seq, rep.HeadSeq)
			return nil
		case kept.Seq < rep.AnchorSeq:
			rep.KeptNote = fmt.Sprintf("the kept head (row %d) is older than the retention anchor (row %d): keep a newer one", kept.Seq, rep.AnchorSeq)
			return nil
		case kept.Seq == rep.AnchorSeq:
			if err := tx.QueryRow(ctx, `SELECT anchor_mac FROM audit_chain`).Scan(&mac); err != nil {
				return fmt.Errorf("audit: read anchor: %w", err)
			}
		default:
			if err := tx.QueryRow(ctx, `SELECT mac FROM audit_event WHERE seq = $1`, kept.Seq).Scan(&mac); err != nil {
				return fmt.Errorf("audit: read row %d: %w", kept.Seq, err)
			}
		}
		if !bytes.Equal(mac, kept.MAC) {
			rep.OK, rep.BrokenSeq = false, kept.Seq
			rep.Reason = "row differs from the kept head (the chain from there on was rewritten)"
			return nil
		}
		rep.KeptNote = fmt.Sprintf("holds the kept head (row %d)", kept.Seq)
		return nil
	})
	return rep, err
}
