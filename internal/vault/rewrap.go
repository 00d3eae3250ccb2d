package vault

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DBTX is what re-encryption and its counts need: *pgxpool.Pool, *pgx.Conn and
// pgx.Tx all satisfy it.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Column names an encrypted column and how its rows' associated data is formed, so
// that re-encryption decrypts and encrypts each row for the same place as the store
// that wrote it. Table, Column and ID are SQL identifiers from code, quoted when used.
// A store can build its ADs from the same value (Column.AD, Column.ADForID), so the
// two cannot drift apart.
type Column struct {
	Table    string // SQL table
	Column   string // SQL column holding the ciphertext (bytea)
	ADColumn string // the column name bound into the AD (e.g. "name" for name_enc)
	ID       string // primary key column, used to page and update; default "id"
	// RowExpr is a SQL expression over the row giving the AD's row text, for tables
	// whose AD names something other than the primary key (e.g. a LINE channel ID).
	// It is code, never input. Default: the ID column as text.
	RowExpr string
}

// AD is the associated data of this column for one row.
func (c Column) AD(row string) AD { return NewAD(c.Table, c.ADColumn, row) }

// ADForID is the associated data of this column for a row with a bigint key, matching
// the default RowExpr.
func (c Column) ADForID(id int64) AD { return NewADForID(c.Table, c.ADColumn, id) }

// String names the column as table.column, for logs and status output.
func (c Column) String() string { return c.Table + "." + c.Column }

func (c Column) validate() error {
	if c.Table == "" || c.Column == "" || c.ADColumn == "" {
		return fmt.Errorf("vault: encrypted column needs Table, Column and ADColumn (got %q.%q, AD column %q)", c.Table, c.Column, c.ADColumn)
	}
	return nil
}

func (c Column) id() string {
	if c.ID == "" {
		return "id"
	}
	return c.ID
}

func (c Column) rowExpr() string {
	if c.RowExpr == "" {
		return pgx.Identifier{c.id()}.Sanitize()
	}
	return c.RowExpr
}

// tinkPrefix is the 5-byte output prefix of ciphertexts under keyID (version byte 1,
// then the key ID). Comparing whole prefixes in SQL also catches rows that are not
// Tink ciphertexts at all, which then count as not under any key.
func tinkPrefix(keyID uint32) []byte { return append([]byte{1}, KeyIDBytes(keyID)...) }

// DefaultRewrapBatch is the batch size Rewrap uses when given none.
const DefaultRewrapBatch = 500

// Rewrap re-encrypts under the primary key, batch by batch, the rows of col whose
// ciphertext is under another key, and returns how many it changed.
//
// Each batch is its own transaction: it selects the next rows in primary-key order
// with FOR UPDATE SKIP LOCKED (so it never waits for, nor blocks long, the
// application's writes), decrypts each with its own AD, encrypts it again, and updates
// the row only where the ciphertext is still the one it read, so a concurrent write
// always wins. Rows locked by others are left for the next run. Nothing is kept
// between runs: a crash or a cancelled context leaves every row readable (under the
// old key or the new one), and running again carries on, since only rows not yet
// under the primary key are selected.
//
// A row that does not decrypt is left as it is and the run goes on; Rewrap then
// returns an error wrapping ErrDecrypt with their number and the first one's key, and
// `renraku keys status` keeps showing them under the old key, so that key cannot be
// retired until someone looks.
func (v *Vault) Rewrap(ctx context.Context, db DBTX, col Column, batch int) (done int64, err error) {
	if err := col.validate(); err != nil {
		return 0, err
	}
	if batch <= 0 {
		batch = DefaultRewrapBatch
	}
	tbl, c, id := pgx.Identifier{col.Table}.Sanitize(), pgx.Identifier{col.Column}.Sanitize(), pgx.Identifier{col.id()}.Sanitize()
	sel := func(paged bool) string {
		after := ""
		if paged {
			after = fmt.Sprintf("AND %s > $3", id)
		}
		return fmt.Sprintf(`SELECT %s, (%s)::text, %s FROM %s
			WHERE %s IS NOT NULL AND substring(%s from 1 for 5) <> $1 %s
			ORDER BY 1 LIMIT $2 FOR UPDATE SKIP LOCKED`, id, col.rowExpr(), c, tbl, c, c, after)
	}
	selFirst, selNext := sel(false), sel(true)
	upd := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %s = $3`, tbl, c, id, c)

	type item struct {
		id  any
		row string
		ct  []byte
	}
	var (
		after       any // the last key seen this run: pages on past rows left behind
		failed      int64
		firstFailed any
	)
	for {
		if err := ctx.Err(); err != nil {
			return done, fmt.Errorf("vault: rewrap %s: %w", col, err)
		}
		primary := tinkPrefix(v.PrimaryKeyID())
		var seen int
		var updated int64
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			var rows pgx.Rows
			var err error
			if after == nil {
				rows, err = tx.Query(ctx, selFirst, primary, batch)
			} else {
				rows, err = tx.Query(ctx, selNext, primary, batch, after)
			}
			if err != nil {
				return err
			}
			items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
				var it item
				return it, r.Scan(&it.id, &it.row, &it.ct)
			})
			if err != nil {
				return err
			}
			seen = len(items)
			if seen > 0 {
				after = items[seen-1].id
			}
			b := &pgx.Batch{}
			for _, it := range items {
				ad := col.AD(it.row)
				plain, err := v.DecryptBytes(it.ct, ad)
				if err != nil {
					if failed == 0 {
						firstFailed = it.id
					}
					failed++
					continue
				}
				ct, err := v.EncryptBytes(plain, ad)
				if err != nil {
					return err
				}
				b.Queue(upd, ct, it.id, it.ct)
			}
			if b.Len() == 0 {
				return nil
			}
			// One round trip for the batch's updates.
			br := tx.SendBatch(ctx, b)
			for range b.Len() {
				tag, err := br.Exec()
				if err != nil {
					br.Close()
					return err
				}
				updated += tag.RowsAffected()
			}
			return br.Close()
		})
		if err != nil {
			return done, fmt.Errorf("vault: rewrap %s: %w", col, err)
		}
		done += updated
		if seen < batch {
			break
		}
	}
	if failed > 0 {
		return done, fmt.Errorf("%w: rewrap %s: %d rows do not decrypt and stay as they are (first: %s %v)", ErrDecrypt, col, failed, col.id(), firstFailed)
	}
	return done, nil
}

// ColumnError is one column's failure in RewrapAll.
type ColumnError struct {
	Column Column
	Err    error
}

func (e ColumnError) Error() string { return e.Err.Error() }
func (e ColumnError) Unwrap() error { return e.Err }

// RewrapError reports the columns RewrapAll could not finish; every other column was
// done. It names tables and columns only, never values or rows' contents.
type RewrapError struct {
	Failed []ColumnError
}

func (e *RewrapError) Error() string {
	names := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		names[i] = f.Column.String()
	}
	return fmt.Sprintf("vault: re-encryption did not finish %d column(s): %s (first error: %v)",
		len(e.Failed), strings.Join(names, ", "), e.Failed[0].Err)
}

// Unwrap lets errors.Is and errors.As see each column's error (ErrDecrypt, say).
func (e *RewrapError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f
	}
	return out
}

// RewrapAll runs Rewrap on every column in turn. A column that fails (a damaged row,
// a wrong column entry, a missing table) never stops the columns after it: its error
// is passed to report, the run goes on, and at the end a *RewrapError names every
// column that failed, so one broken column cannot hold every later one under an old
// key. report (which may be nil) is called once per column with how many rows it
// changed and its error. Only a cancelled context ends the run early.
func (v *Vault) RewrapAll(ctx context.Context, db DBTX, cols []Column, batch int, report func(col Column, done int64, err error)) error {
	var failed []ColumnError
	for _, col := range cols {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("vault: rewrap: %w", err)
		}
		n, err := v.Rewrap(ctx, db, col, batch)
		if report != nil {
			report(col, n, err)
		}
		if err != nil {
			failed = append(failed, ColumnError{Column: col, Err: err})
		}
	}
	if len(failed) > 0 {
		return &RewrapError{Failed: failed}
	}
	return nil
}

// ColumnProgress counts a column's non-NULL rows per key, for `renraku keys status`.
type ColumnProgress struct {
	Table, Column string
	ByKey         map[uint32]int64
	// Malformed counts values that are not vault ciphertexts at all (too short, or
	// without Tink's prefix): damage to look into, never rewrapped.
	Malformed int64
}

// Remaining counts the rows not yet under primary, malformed ones included.
func (p ColumnProgress) Remaining(primary uint32) int64 {
	n := p.Malformed
	for id, c := range p.ByKey {
		if id != primary {
			n += c
		}
	}
	return n
}

// Progress counts, for each column, how many rows each key encrypts. It reads every
// row of every column once; it is meant for status output and tests, not hot paths.
func Progress(ctx context.Context, db DBTX, cols []Column) ([]ColumnProgress, error) {
	out := make([]ColumnProgress, 0, len(cols))
	for _, col := range cols {
		if err := col.validate(); err != nil {
			return nil, err
		}
		c := pgx.Identifier{col.Column}.Sanitize()
		rows, err := db.Query(ctx, fmt.Sprintf(`
			SELECT CASE WHEN length(%[1]s) >= 5 AND get_byte(%[1]s, 0) = 1 THEN substring(%[1]s from 2 for 4) END, count(*)
			FROM %[2]s WHERE %[1]s IS NOT NULL GROUP BY 1`, c, pgx.Identifier{col.Table}.Sanitize()))
		if err != nil {
			return nil, fmt.Errorf("vault: progress %s: %w", col, err)
		}
		p := ColumnProgress{Table: col.Table, Column: col.Column, ByKey: map[uint32]int64{}}
		var prefix []byte
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&prefix, &n}, func() error {
			if len(prefix) == 4 {
				p.ByKey[binary.BigEndian.Uint32(prefix)] += n
			} else {
				p.Malformed += n
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("vault: progress %s: %w", col, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// RowsUsingKey counts the rows of all columns still encrypted under keyID; Retire
// asks it (through the inUse function) before removing a key.
func RowsUsingKey(ctx context.Context, db DBTX, cols []Column, keyID uint32) (int64, error) {
	var total int64
	for _, col := range cols {
		if err := col.validate(); err != nil {
			return 0, err
		}
		c := pgx.Identifier{col.Column}.Sanitize()
		var n int64
		err := db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE substring(%s from 1 for 5) = $1`,
			pgx.Identifier{col.Table}.Sanitize(), c), tinkPrefix(keyID)).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("vault: count rows of %s under key %d: %w", col, keyID, err)
		}
		total += n
	}
	return total, nil
}
