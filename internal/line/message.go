package line

import "github.com/renraku/renraku/internal/lineapi"

// Message is a message to a friend, as features queue it in the outbox (Send). It is
// lineapi's message model, named here so that features speak to the LINE feature and
// not to the adapter.
type Message = lineapi.Message

// Action is a button or quick-reply item of a Message.
type Action = lineapi.Action
