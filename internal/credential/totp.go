package credential

import (
	"bytes"
	"fmt"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The TOTP settings every authenticator app supports (Google Authenticator ignores
// anything else in the otpauth:// URI).
const (
	totpPeriod = 30 // seconds
	totpDigits = otp.DigitsSix
	totpAlg    = otp.AlgorithmSHA1
	qrSize     = 240
)

// Enrolment is what a staff member needs to add renraku to an authenticator app.
// Secret is the base32 seed the caller encrypts and stores; URL is the otpauth:// URI
// (also typed in by hand when a camera is not at hand); QRPNG is a 240×240 PNG of URL.
type Enrolment struct {
	Secret string
	URL    string
	QRPNG  []byte
}

// NewTOTP creates a random 160-bit TOTP seed for account (the staff member's login ID)
// shown under issuer (such as "renraku 〇〇小学校") in the authenticator app.
func NewTOTP(issuer, account string) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      totpPeriod,
		SecretSize:  20, // RFC 4226 §4 recommends 160 bits
		Digits:      totpDigits,
		Algorithm:   totpAlg,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("credential: new TOTP: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return Enrolment{}, fmt.Errorf("credential: TOTP QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("credential: TOTP QR code: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// CheckTOTP reports whether code is secret's code at now, or one step (30 s) before or
// after, and returns the time step it matched. lastStep is the step of the last code
// accepted for this secret (0 when none): a code of that step or an earlier one is
// refused, so an overheard code cannot be replayed. The caller stores step on success.
// Spaces and full-width digits are accepted (「１２３ ４５６」).
func CheckTOTP(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = normaliseCode(code)
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	if now.Unix() < 0 {
		return 0, false
	}
	current := now.Unix() / totpPeriod
	// One step either side, for phones whose clock is off; the current step first, as
	// it is by far the most likely.
	for _, s := range []int64{current, current - 1, current + 1} {
		if s <= lastStep {
			continue
		}
		match, err := hotp.ValidateCustom(code, uint64(s), secret, hotp.ValidateOpts{
			Digits:    totpDigits,
			Algorithm: totpAlg,
		})
		if err != nil {
			return 0, false // a malformed secret matches nothing
		}
		if match {
			return s, true
		}
	}
	return 0, false
}
