package vault

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// AD is the associated data that binds a ciphertext to its place: table, column and
// row. A ciphertext decrypts only with the AD it was made with, so one copied to
// another row, column or table fails with ErrDecrypt instead of showing one family's
// data in another's record. Build it with NewAD, NewADForID or Column.AD; the zero AD
// is refused.
type AD struct {
	table, column, row string
}

// NewAD names the place of a ciphertext. row is the row's stable identity: its primary
// key as text, or a natural key that never changes while the row lives. Changing a
// row's identity later makes its ciphertexts unreadable, so do not use anything a user
// can edit.
func NewAD(table, column, row string) AD {
	return AD{table: table, column: column, row: row}
}

// NewADForID is NewAD for the common bigint primary key. It formats the ID as
// PostgreSQL's id::text does, which is what Rewrap uses by default, so the two agree.
func NewADForID(table, column string, id int64) AD {
	return AD{table: table, column: column, row: strconv.FormatInt(id, 10)}
}

// Table is the table the AD names, for error messages.
func (a AD) Table() string { return a.table }

// Column is the column the AD names, for error messages. The row is deliberately not
// offered: errors say where, not which record.
func (a AD) Column() string { return a.column }

// valid refuses an AD with an empty part: such an AD binds the ciphertext to nothing
// in particular, which is always a programming mistake.
func (a AD) valid() error {
	if a.table == "" || a.column == "" || a.row == "" {
		return fmt.Errorf("vault: associated data needs a table, a column and a row (got table %q, column %q, row set: %t)", a.table, a.column, a.row != "")
	}
	return nil
}

// adLabel versions the encoding, so a future change of layout cannot collide with it.
const adLabel = "renraku.ad.v1"

// bytes encodes the AD unambiguously: each part prefixed with its 4-byte length, so
// ("ab", "c") and ("a", "bc") never give the same bytes.
func (a AD) bytes() []byte {
	b := make([]byte, 0, 16+len(adLabel)+len(a.table)+len(a.column)+len(a.row))
	for _, s := range [...]string{adLabel, a.table, a.column, a.row} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}
