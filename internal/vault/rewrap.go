package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DBTX is what re-encryption needs: *pgxpool.Pool and pgx.Tx satisfy it.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Column names an encrypted column and how its associated data is formed, so that
// re-encryption can decrypt and encrypt each row for the same place.
type Column struct {
	Table    string // SQL table
	Column   string // SQL column holding ciphertext (bytea)
	ADColumn string // column name bound into the AD
	ID       string // primary key column; default "id"
	RowExpr  string // SQL expression giving the AD's row; default the ID as text
}

func (c Column) id() string {
	if c.ID == "" {
		return "id"
	}
	return c.ID
}

func (c Column) rowExpr() string {
	if c.RowExpr == "" {
		return pgx.Identifier{c.id()}.Sanitize() + "::text"
	}
	return c.RowExpr
}

// Rewrap re-encrypts, batch by batch, the rows of col whose ciphertext is not under the
// primary key. Each batch is one transaction that skips rows locked by others and only
// replaces a ciphertext that is still the one it read, so a concurrent write always
// wins. A crash leaves every row readable; running again continues where it stopped.
func (v *Vault) Rewrap(ctx context.Context, db DBTX, col Column, batch int) (done int64, err error) {
	if batch <= 0 {
		batch = 500
	}
	tbl, c, id := pgx.Identifier{col.Table}.Sanitize(), pgx.Identifier{col.Column}.Sanitize(), pgx.Identifier{col.id()}.Sanitize()
	sel := fmt.Sprintf(`SELECT %s, (%s) AS ad_row, %s FROM %s WHERE %s IS NOT NULL AND substring(%s from 2 for 4) <> $1
		ORDER BY %s LIMIT $2 FOR UPDATE SKIP LOCKED`, id, col.rowExpr(), c, tbl, c, c, id)
	upd := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %s = $3`, tbl, c, id, c)
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		primary := KeyIDBytes(v.PrimaryKeyID())
		n := 0
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, sel, primary, batch)
			if err != nil {
				return err
			}
			type item struct {
				id  any
				row string
				ct  []byte
			}
			var items []item
			for rows.Next() {
				var it item
				if err := rows.Scan(&it.id, &it.row, &it.ct); err != nil {
					rows.Close()
					return err
				}
				items = append(items, it)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, it := range items {
				ad := NewAD(col.Table, col.ADColumn, it.row)
				plain, err := v.DecryptBytes(it.ct, ad)
				if err != nil {
					return err
				}
				ct, err := v.EncryptBytes(plain, ad)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, upd, ct, it.id, it.ct); err != nil {
					return err
				}
			}
			n = len(items)
			return nil
		})
		if err != nil {
			return done, fmt.Errorf("vault: rewrap %s.%s: %w", col.Table, col.Column, err)
		}
		done += int64(n)
		if n < batch {
			return done, nil
		}
	}
}

// ColumnProgress counts a column's rows per key.
type ColumnProgress struct {
	Table, Column string
	ByKey         map[uint32]int64
}

// Progress counts, for each column, how many rows each key encrypts.
func Progress(ctx context.Context, db DBTX, cols []Column) ([]ColumnProgress, error) {
	var out []ColumnProgress
	for _, col := range cols {
		c := pgx.Identifier{col.Column}.Sanitize()
		rows, err := db.Query(ctx, fmt.Sprintf(`SELECT substring(%s from 2 for 4), count(*) FROM %s WHERE %s IS NOT NULL GROUP BY 1`,
			c, pgx.Identifier{col.Table}.Sanitize(), c))
		if err != nil {
			return nil, fmt.Errorf("vault: progress %s.%s: %w", col.Table, col.Column, err)
		}
		p := ColumnProgress{Table: col.Table, Column: col.Column, ByKey: map[uint32]int64{}}
		for rows.Next() {
			var prefix []byte
			var n int64
			if err := rows.Scan(&prefix, &n); err != nil {
				rows.Close()
				return nil, err
			}
			if len(prefix) != 4 {
				return nil, errors.New("vault: a ciphertext is too short to name its key")
			}
			p.ByKey[uint32(prefix[0])<<24|uint32(prefix[1])<<16|uint32(prefix[2])<<8|uint32(prefix[3])] += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// RowsUsingKey counts the rows of all columns still encrypted under keyID (for Retire).
func RowsUsingKey(ctx context.Context, db DBTX, cols []Column, keyID uint32) (int64, error) {
	prog, err := Progress(ctx, db, cols)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range prog {
		n += p.ByKey[keyID]
	}
	return n, nil
}
