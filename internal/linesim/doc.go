// Package linesim simulates the parts of the LINE platform renraku uses, so tests and
// `renraku dev` run without reaching LINE. It is a development tool: `serve` never
// mounts it.
//
// # What it simulates
//
// Handler serves the Messaging API (reply, push, multicast, profile, rich menus and
// their images, quota and consumption, message content) and LINE Login's ID-token
// verify endpoint at LINE's paths, answering with LINE's status codes, JSON bodies
// and x-line-request-id headers. It checks what LINE checks: the bearer token, message
// limits (counted in UTF-16 code units), user ID shapes, reply tokens (single use,
// one minute), X-Line-Retry-Key (a UUID; a repeat within 24 hours answers 409 with
// x-line-accepted-request-id and delivers nothing), the monthly quota (push and
// multicast count per recipient who receives the message, replies are free), rate
// limits per channel and endpoint, and rich menu images (PNG or JPEG, at most 1 MB,
// exactly the menu's size, uploaded once). A message to someone who blocked the account
// is accepted and not delivered, as on LINE.
//
// The webhook sender plays the users: Follow, SendText, Postback, Tap and the rest
// build events with the SDK's webhook types, stamp them as LINE does (webhookEventId,
// timestamp, mode, deliveryContext, a fresh reply token where LINE gives one), sign
// the body with the channel secret and POST it to the channel's webhook URL.
// Redeliver sends an event again with isRedelivery true.
//
// Chat, CurrentRichMenu, Calls and Deliveries show what happened, and WaitChat waits
// for the app's asynchronous answer without sleeping. PhoneHandler serves pages where
// a developer plays a parent.
//
// # Mounting
//
// Both handlers expect to see paths below their mount point:
//
//	sim := linesim.New(linesim.Options{})
//	mux.Handle("/_sim/line/", http.StripPrefix("/_sim/line", sim.Handler()))
//	mux.Handle("/_sim/phone/", sim.PhoneHandler("/_sim/phone"))
//
// and RENRAKU_LINE_API_URL and RENRAKU_LINE_DATA_API_URL both point at
// http://host/_sim/line (the SDK joins its paths to the base URL's path).
// PhoneHandler strips its own base path when the request still carries it.
//
// # Fidelity
//
// Where LINE documents a message text, the simulator uses it verbatim; elsewhere its
// texts are close paraphrases, so tests should compare status codes and the
// documented texts only. Time comes from Options.Now, so tests expire reply tokens,
// retry keys and rate-limit windows by moving the clock.
package linesim
