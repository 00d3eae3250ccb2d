package line

import (
	"context"

	"github.com/renraku/renraku/internal/lineapi"
)

// replyText queues a text reply in the friend's language.
func (s *Service) replyText(ctx context.Context, in *Incoming, purpose, textID string) error {
	if in.Friend == nil || !in.Friend.Following {
		return nil
	}
	_, err := s.Queue(ctx, Send{
		Friend:   *in.Friend,
		Purpose:  purpose,
		Messages: []Message{{Text: s.Texts(in.Friend.Language, textID)}},
		Reply:    in,
	})
	return err
}

// welcome greets a new friend. Registration (a later feature) replaces it with the
// welcome that carries the personal registration link.
func (s *Service) welcome(ctx context.Context, in *Incoming) error {
	if in.Redelivered && in.ReceivedAt.Sub(in.OccurredAt) > replyWindow {
		return nil // a late redelivery: the user has long seen the chat
	}
	return s.replyText(ctx, in, "welcome", "line.welcome")
}

// DefaultMessage answers a message no feature takes: text gets a pointer to the menu,
// other kinds a polite note that only text is read. Features that handle messages call
// it for the ones they leave.
func (s *Service) DefaultMessage(ctx context.Context, in *Incoming) error {
	return s.defaultMessage(ctx, in)
}

func (s *Service) defaultMessage(ctx context.Context, in *Incoming) error {
	if in.Message != nil && in.Message.Kind == lineapi.MessageText {
		return s.replyText(ctx, in, "reply", "line.use_menu")
	}
	return s.replyText(ctx, in, "reply", "line.unsupported")
}

// dispatchPostback routes a postback by its action name; unknown or foreign data gets
// a polite reply.
func (s *Service) dispatchPostback(ctx context.Context, in *Incoming) error {
	if in.Postback == nil {
		return nil
	}
	name, _, ok := ParsePostbackData(in.Postback.Data)
	if ok {
		if h := s.postbackHandler(name); h != nil {
			return h(ctx, in)
		}
	}
	return s.replyText(ctx, in, "reply", "line.not_ready")
}
