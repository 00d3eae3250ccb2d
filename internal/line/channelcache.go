package line

import (
	"context"
	"strconv"
	"sync"
)

// ChannelsChannel is the PostgreSQL notification channel on which the database tells
// every instance that a LINE channel was added, changed or removed (migration 000026's
// trigger, whichever code made the change). The payload is the channel's ID.
const ChannelsChannel = "renraku_line_channel"

// channelCache keeps, per instance, the channels that events are processed and
// messages sent through, by renraku's ID, with their secret and access token
// decrypted: a batch of replies or a webhook event no longer reads and decrypts its
// channel each time. It is kept current by ChannelsChannel's notifications: each drops
// the channel it names. While the instance is not listening (before the listener
// connects, or after it lost its connection, when a notification may have been missed)
// the cache is empty and keeps nothing: every lookup reads the database, as without it.
type channelCache struct {
	mu sync.Mutex
	// listening is whether notifications are heard: only then are channels kept.
	listening bool
	// gen counts the invalidations: a lookup keeps what it read only if none happened
	// since before it read (what it read may predate a change it was told of).
	gen  uint64
	byID map[int64]Channel
}

// get returns a kept channel, and the generation to hand to put after a read.
func (c *channelCache) get(id int64) (Channel, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.byID[id]
	return ch, ok, c.gen
}

// put keeps a channel read from the database, unless the cache was invalidated since
// gen or is not listening.
func (c *channelCache) put(ch Channel, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.listening || gen != c.gen {
		return
	}
	if c.byID == nil {
		c.byID = map[int64]Channel{}
	}
	c.byID[ch.ID] = ch
}

// drop forgets one channel (all of them when id is 0).
func (c *channelCache) drop(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == 0 {
		c.byID = nil
		return
	}
	delete(c.byID, id)
}

// ChannelChanged handles a ChannelsChannel notification: the channel it names is read
// again by its next lookup, here and for the webhook's signature check.
func (s *Service) ChannelChanged(payload string) {
	id, err := strconv.ParseInt(payload, 10, 64)
	if err != nil || id <= 0 {
		id = 0 // not ours to parse: forget everything
	}
	s.channels.drop(id)
	s.chanMu.Lock()
	for k, c := range s.chanCache {
		if id == 0 || c.ch.ID == id {
			delete(s.chanCache, k)
		}
	}
	s.chanMu.Unlock()
}

// ChannelsListening tells whether ChannelsChannel is heard; either way, what the cache
// holds is dropped (notifications may have been missed).
func (s *Service) ChannelsListening(up bool) {
	s.channels.mu.Lock()
	s.channels.listening = up
	s.channels.mu.Unlock()
	s.channels.drop(0)
}

// FindChannel returns a channel by renraku's ID: from the instance's cache when it
// holds it, else read (in the caller's transaction when there is one) and kept.
func (s *Service) FindChannel(ctx context.Context, id int64) (Channel, error) {
	ch, ok, gen := s.channels.get(id)
	if ok {
		return ch, nil
	}
	err := s.Tx.Run(ctx, func(ctx context.Context) (err error) {
		ch, err = s.Store.FindChannel(ctx, id)
		return err
	})
	if err != nil {
		return Channel{}, err
	}
	s.channels.put(ch, gen)
	return ch, nil
}
