package schema_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/renraku/renraku/migrations"
)

// landedList records every migration that has landed on main, with its SHA-256 (the
// format of sha256sum). A landed migration is never edited: a database that ran it
// would not run it again, so a change would silently not reach it.
const landedList = "../../migrations/landed.sha256"

var land = flag.Bool("land", false, "record migrations missing from migrations/landed.sha256 (when they land on main)")

// TestLandedMigrationsUnchanged fails when a landed migration's file changed or went
// away, and when a migration is not yet recorded as landed: record it with
// `go test ./internal/schema -run TestLandedMigrationsUnchanged -land` as it lands
// (that only appends; it never rewrites a recorded sum).
func TestLandedMigrationsUnchanged(t *testing.T) {
	recorded := map[string]string{}
	f, err := os.Open(landedList)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("%s: malformed line %q", landedList, sc.Text())
		}
		recorded[name] = sum
	}
	f.Close()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var missing []string
	for _, n := range names {
		present[n] = true
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		sum := hex.EncodeToString(h[:])
		switch want, ok := recorded[n]; {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s  %s", sum, n))
		case want != sum:
			t.Errorf("%s has changed since it landed: add a new migration instead", n)
		}
	}
	for n := range recorded {
		if !present[n] {
			t.Errorf("%s landed but is gone", n)
		}
	}
	if len(missing) == 0 {
		return
	}
	sort.Strings(missing)
	if !*land {
		t.Errorf("not recorded as landed (run with -land as they land):\n%s", strings.Join(missing, "\n"))
		return
	}
	out, err := os.OpenFile(landedList, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, m := range missing {
		if _, err := fmt.Fprintln(out, m); err != nil {
			t.Fatal(err)
		}
	}
}
