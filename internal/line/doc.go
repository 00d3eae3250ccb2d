// Package line is renraku's adapter to the LINE platform: channels, the webhook (verify,
// store durably, then process in order), event dispatch to the features' handlers, the
// outbox of messages sent by jobs, rich menus and the message quota.
//
// # Webhook
//
// Ingest verifies X-Line-Signature with the channel secret (the SDK's webhook package),
// then stores every event — encrypted, unique per channel and webhookEventId — and a job
// for it in one transaction. Only then does the webhook answer 200, so an event LINE was
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
