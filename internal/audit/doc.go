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
// The server runs as a database role (renraku_app, migration 000015) that may only read
// and insert audit rows: it owns neither table, so it cannot disable the triggers, and
// it cannot move audit_chain itself. Record locks the head through the owner's
// audit_lock_head(), and an insert trigger advances the head, accepting only the row
// that follows it; ApplyRetention goes through audit_retain(). Someone with the
// owner's or a superuser's rights can still cut the newest rows and move the head back,
// which leaves a shorter chain that verifies: SignHead gives the head as a token to keep
// outside the database (the server logs it daily), and VerifyWithHead finds such a cut
// against a kept head.
//
// Appending locks the single audit_chain row, which gives every row a gap-free
// sequence number in the order rows are appended. In the transactor's transactions
// nothing waits for that lock: Record leaves the event to the commit, where it is
// inserted into audit_pending with the COMMIT (the record commits with the work, or
// neither does), and Seal appends it right after, before the transactor returns. One
// seal locks the head, reads every pending event and appends them all: the requests
// that commit while a seal runs share the next one (a group commit), instead of each
// holding the lock from its append to its COMMIT, one after another. A pending event
// leaves audit_pending only into the chain, unchanged (the trigger audit_event_seal);
// the server's role may only insert and read it; what a stopped process left pending
// is sealed by the next seal, or by the job that runs SealLeftovers every minute.
// Elsewhere (a transaction not of the transactor) Record appends at once and the
// head stays locked until that transaction ends: record the event as late as you can.
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
// prefix of the chain (the rows before the first one not older than the cutoff): it
// first moves the anchor to the last removed row's sequence number and MAC, then
// deletes up to it, then records that it did so. The chain from
// the anchor onwards still verifies.
package audit
