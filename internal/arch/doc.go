// Package arch holds no code: its test enforces the layering docs/ARCHITECTURE.md
// describes, computed from the packages as the Go tool sees them.
//
//   - A feature package (Features) imports neither pgx, nor internal/postgres, nor
//     internal/web, nor the LINE simulator, nor the LINE SDK (only internal/lineapi,
//     the adapter, does).
//   - A feature reaches another feature through a port it declares (a small interface
//     named for what it needs, which the other feature's service satisfies), never
//     through the other feature's store: an expression x.Y.Store whose Y belongs to
//     another package, a use of another feature's Store type, or of its whole Service
//     type, is refused.
package arch

// Features are renraku's feature packages: each owns its rules, its service and its
// store interface; the storage side implements the stores.
var Features = []string{
	"absence", "announce", "inbox", "line", "parentlink", "registration", "report",
	"notify", "retention", "rollover", "roster", "school", "staff", "worklist",
}
