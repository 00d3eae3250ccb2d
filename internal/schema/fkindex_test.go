package schema_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// neverDeleted are the tables whose rows renraku never deletes (boards, schools, staff
// and channels are disabled or replaced, outbox rows kept): a foreign key into them
// needs no index for deletes. Every other foreign key has one, so that deleting a row
// it points to (a guardian erased, a child removed at retention) finds the rows that
// point to it without reading the whole referencing table, once per row deleted.
var neverDeleted = []string{"board", "school", "staff", "line_channel", "line_outbound"}

// TestForeignKeysHaveIndexes checks that every foreign key into a table whose rows are
// deleted is the leading column(s) of an index of its table.
func TestForeignKeysHaveIndexes(t *testing.T) {
	t.Parallel()
	_, pool := migratedUp(t)
	rows, err := pool.Query(context.Background(), `
		SELECT c.conname, c.confrelid::regclass::text
		FROM pg_constraint c
		WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
			AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
				AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
				AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type fk struct{ name, ref string }
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fk, error) {
		var k fk
		return k, r.Scan(&k.name, &k.ref)
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, k := range keys {
		if slices.Contains(neverDeleted, k.ref) {
			checked++
			continue
		}
		t.Errorf("foreign key %s (into %s) has no index on its columns", k.name, k.ref)
	}
	if checked == 0 {
		t.Error("no foreign key into a table never deleted from was found: is the query right?")
	}
}
