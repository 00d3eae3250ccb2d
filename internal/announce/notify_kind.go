package announce

import "context"

// AnnouncementKind returns an announcement's kind (Notice or Safety), for the
// notification that tells its creator a safety alert's delivery finished. It returns no
// content, so it asks no one's permission: the caller names the creator from the event.
func (s *Service) AnnouncementKind(ctx context.Context, id int64) (string, error) {
	var kind string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.Store.FindAnnouncementContent(ctx, id)
		kind = a.Kind
		return err
	})
	return kind, err
}
