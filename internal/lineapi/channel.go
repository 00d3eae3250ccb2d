package lineapi

import (
	"regexp"

	"github.com/renraku/renraku/internal/vault"
)

// Channel is what a call to LINE needs of a Messaging API channel.
type Channel struct {
	// ID is LINE's channel ID. LINE's rate limits are per channel, and so are the
	// client's.
	ID          string
	AccessToken vault.Personal // bearer token for the Messaging API
}

var (
	channelIDRE = regexp.MustCompile(`^[0-9]{6,20}$`)
	userIDRE    = regexp.MustCompile(`^U[0-9a-f]{32}$`)
)

// ValidChannelID reports whether s looks like a LINE channel ID. IDs are checked before
// they reach a URL path, since the SDK does not escape path parameters.
func ValidChannelID(s string) bool { return channelIDRE.MatchString(s) }

// ValidUserID reports whether s looks like a LINE userId (U + 32 hex).
func ValidUserID(s string) bool { return userIDRE.MatchString(s) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
