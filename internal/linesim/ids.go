package linesim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// The formats below copy what LINE hands out, so code that validates or stores these
// values (column widths, regular expressions) meets the same shapes as in production.

var (
	userIDRE   = regexp.MustCompile(`^U[0-9a-f]{32}$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	richMenuRE = regexp.MustCompile(`^richmenu-[0-9a-f]{32}$`)
	numericRE  = regexp.MustCompile(`^[0-9]{1,30}$`)
)

// ValidUserID reports whether id has the shape of a LINE userId: "U" and 32 lowercase
// hex digits.
func ValidUserID(id string) bool { return userIDRE.MatchString(id) }

// NewUserID returns a random userId of LINE's shape, for simulated parents.
func NewUserID() string { return "U" + randomHex(16) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// newUUID returns a version 4 UUID, the shape of x-line-request-id.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newReplyToken returns 32 hex digits, as LINE's reply tokens look.
func newReplyToken() string { return randomHex(16) }

// newQuoteToken returns an opaque URL-safe token like LINE's quote tokens.
func newQuoteToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(48)) }

func newRichMenuID() string { return "richmenu-" + randomHex(16) }

// crockford is the ULID alphabet (Crockford's base32, no I, L, O, U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a 26-character ULID: 48 bits of milliseconds then 80 random bits, so
// webhookEventIds sort by time as LINE's do.
func newULID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	copy(b[6:], randomBytes(10))
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	out := make([]byte, 26)
	// 128 bits in 26 five-bit groups: the first group holds only the top 3 bits.
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&0x1f]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// messageIDs hands out LINE-like numeric message IDs (18 digits, increasing).
type messageIDs struct{ next uint64 }

func newMessageIDs() *messageIDs {
	return &messageIDs{next: 500_000_000_000_000_000 + binary.BigEndian.Uint64(randomBytes(8))%1_000_000_000_000}
}

func (m *messageIDs) New() string {
	m.next += 1 + binary.BigEndian.Uint64(randomBytes(8))%1000
	return strconv.FormatUint(m.next, 10)
}

// describe is used in error texts that name a value without echoing long input.
func describe(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q…", s[:40])
	}
	return fmt.Sprintf("%q", s)
}
