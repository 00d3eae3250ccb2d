// Package line is renraku's LINE feature: the schools' channels (administration, with
// authorisation and audit), the webhook (verify, store durably, then process in order),
// event dispatch to the features' handlers, the outbox of messages sent by jobs, rich
// menus (sync and per-friend assignment) and the message quota.
//
// It talks to LINE only through package lineapi, the adapter that holds the SDK: the
// client, webhook parsing and message building. Handlers see an Incoming in renraku's
// terms (its type, postback data, message kind and text), never the SDK's types.
//
// # Webhook
//
// Ingest verifies X-Line-Signature with the channel secret and reads the events
// (lineapi.ValidSignature, lineapi.ParseCallback), then stores every event — as LINE
// sent it, encrypted, unique per channel and webhookEventId — and a job for it in one
// transaction. Only then does the webhook answer 200, so an event LINE was
// told we have is never lost, and a redelivered event is stored once.
//
// # Processing order
//
// The job for an event takes a per-user advisory lock and processes that user's pending
// events up to and including its own, oldest first, each in its own transaction that
// also marks it processed. So a user's events are handled in LINE's order whichever
// worker or app instance runs the job, and a crash between storing and processing only
// delays the work. The payload is wiped once processed.
//
// # Outbox
//
// A handler never calls LINE. It queues a message (Outbox.Queue) in its transaction; a
// job sends it: with the event's reply token while it is fresh and unused (free), else by
// push with the row's X-Line-Retry-Key (so a retry after a timeout cannot deliver
// twice). 429 and 5xx are retried with back-off; other 4xx are recorded as failures
// with LINE's message; a recipient who blocked the account is skipped.
package line
