package linesim

import (
	"crypto/sha256"
	"net/http"
)

// handleBotInfo answers "Get bot info" (GET /v2/bot/info) as LINE does: the official
// account's user ID, basic ID, display name and chat settings. renraku's console calls
// it to test a channel's access token.
func (s *Sim) handleBotInfo(c *call) response {
	body := map[string]any{
		"userId":         c.ch.cfg.BotUserID,
		"basicId":        basicID(c.ch.cfg.ID),
		"displayName":    c.ch.cfg.Name,
		"chatMode":       "bot",
		"markAsReadMode": "auto",
	}
	return jsonResp(http.StatusOK, body)
}

// basicID makes a stable LINE-style basic ID ("@" + 3 digits + 4 letters) for a
// channel.
func basicID(channelID string) string {
	h := sha256.Sum256([]byte(channelID))
	b := []byte{'@'}
	for i := 0; i < 3; i++ {
		b = append(b, '0'+h[i]%10)
	}
	for i := 3; i < 7; i++ {
		b = append(b, 'a'+h[i]%26)
	}
	return string(b)
}
