package vault

import "encoding/binary"

// AD is the associated data that binds a ciphertext to its place: table, column and
// row. Build it with NewAD.
type AD struct {
	table, column, row string
}

// NewAD names the place of a ciphertext. row is the row's stable identity (its primary
// key, or a natural key that never changes).
func NewAD(table, column, row string) AD {
	return AD{table: table, column: column, row: row}
}

// Table and Column name the place, for error messages (the row is not repeated).
func (a AD) Table() string  { return a.table }
func (a AD) Column() string { return a.column }

// bytes encodes the AD unambiguously: each part length-prefixed.
func (a AD) bytes() []byte {
	b := make([]byte, 0, 16+len(a.table)+len(a.column)+len(a.row))
	for _, s := range []string{"renraku.ad.v1", a.table, a.column, a.row} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}
