package live

import "context"

// Fanout publishes each event to every publisher in turn, in the caller's transaction:
// the first failure fails the publish (and so the transaction).
type Fanout []Publisher

// Publish publishes e to each of f.
func (f Fanout) Publish(ctx context.Context, e Event) error {
	for _, p := range f {
		if err := p.Publish(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
