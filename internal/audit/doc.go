// Package audit is renraku's audit log (P5): every sign-in, every view or export of
// personal data and every change is recorded — who (staff, guardian, system, operator),
// what action, on which record, at which board and school, from which address, when —
// inside the caller's transaction, so the work and its record commit or fail together.
//
// # Tamper evidence
//
// The table is append-only for everyone: triggers refuse UPDATE and TRUNCATE, and
// DELETE of anything above the retention anchor. Beyond that, rows form a chain: each
// row's MAC is a keyed PRF over the previous row's MAC and the row's canonical encoding.
// The key lives in the keyset file outside the database, so someone with full database
// access who bypasses the triggers can change, remove or insert rows, but cannot make
// the chain verify again. Verify walks the chain from the retention anchor to the head
// and names the first broken row.
//
// Writers lock the single audit_chain row to append, which gives every row a gap-free
// sequence number in commit order. Record the event as late in a transaction as you
// can: the lock is held until commit.
//
// # No personal data
//
// Actors and objects are internal IDs; Detail accepts only numbers, booleans and short
// code strings (a vault.Personal value is refused by its type). What a row means for a
// person is resolved when an administrator views the log, under their own access rules.
//
// # Retention
//
// ApplyRetention removes the oldest rows (default policy: older than five years) as one
// prefix of the chain: it first moves the anchor to the newest removed row's sequence
// number and MAC, then deletes up to it, then records that it did so. The chain from
// the anchor onwards still verifies.
package audit
