// Package lineapi is renraku's adapter to the LINE platform, and the only package of the
// app that imports LINE's SDK. It knows LINE's wire formats and limits, and nothing of
// schools, parents or renraku's database:
//
//   - Client calls the Messaging API (reply, push, multicast, profile language, quota,
//     bot info, message content, rich menus) and LINE Login's ID-token verification.
//     Every call takes a context, which ends both the wait for the rate limit and the
//     request. Calls go through a per-channel sliding window that stays under LINE's
//     published rate limits; LINE's refusals are *APIError, with the retry key's 409
//     ("accepted before") reported in AcceptedRequestID.
//   - ValidSignature and ParseCallback verify and read a webhook request into Events,
//     renraku's own reading of an event (its type, source user, reply token, postback
//     data, message kind and text), each with its JSON as LINE sent it for storing.
//     ParseEvent reads a stored one again.
//   - Message is renraku's small message model, checked against LINE's limits
//     (Validate) and turned into the SDK's types only when sent; RichMenu likewise.
//
// The LINE feature (package line) stores events and messages and decides what to send;
// it reaches LINE only through this package.
package lineapi
