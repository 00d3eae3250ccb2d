package credential

import (
	"bufio"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"golang.org/x/text/unicode/norm"

	"github.com/renraku/renraku/internal/apperr"
)

// Password length limits, in Unicode code points after NFKC normalisation; the
// console's forms may show them (minlength, maxlength).
const (
	// MinPasswordLength is the shortest password CheckPassword accepts.
	MinPasswordLength = 12
	// MaxPasswordLength is the longest, well above the 64 that 800-63B asks verifiers
	// to allow, so no pass-phrase or password manager is cut short.
	MaxPasswordLength = 128
)

// Message IDs of CheckPassword's errors, in web/i18n/credential.*.json.
const (
	msgTooShort      = "credential.password.too_short"
	msgTooLong       = "credential.password.too_long"
	msgContainsLogin = "credential.password.contains_login"
	msgRepeated      = "credential.password.repeated"
	msgCommon        = "credential.password.common"
)

// Params is the argon2id cost HashPassword uses and NeedsRehash compares against:
// 64 MiB, 2 passes, 2 lanes, a 16-byte salt and a 32-byte key. That is stronger than
// both OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane) and the library's
// DefaultParams (1 pass); a verify takes about 45 ms on the development machine.
//
// Tests of other packages that hash passwords may lower it in their TestMain, before
// any test runs, to keep the suite fast:
//
//	credential.Params.Memory, credential.Params.Iterations, credential.Params.Parallelism = 64, 1, 1
//
// Nothing else may change it: it is read without locking.
var Params = argon2id.Params{
	Memory:      64 * 1024, // KiB
	Iterations:  2,
	Parallelism: 2,
	SaltLength:  16,
	KeyLength:   32,
}

// CheckPassword reports whether password may be chosen by the staff member whose login
// ID is login. It returns nil or an apperr.Invalid error whose message ID says why not.
func CheckPassword(login, password string) error {
	p := norm.NFKC.String(password)
	n := utf8.RuneCountInString(p)
	switch {
	case n < MinPasswordLength:
		return apperr.E(apperr.Invalid, msgTooShort, fmt.Errorf("password has %d characters", n))
	case n > MaxPasswordLength:
		return apperr.E(apperr.Invalid, msgTooLong, fmt.Errorf("password has %d characters", n))
	}
	lower := strings.ToLower(p)
	if l := strings.ToLower(norm.NFKC.String(strings.TrimSpace(login))); l != "" && strings.Contains(lower, l) {
		return apperr.E(apperr.Invalid, msgContainsLogin, nil)
	}
	if first, _ := utf8.DecodeRuneInString(p); strings.Trim(p, string(first)) == "" {
		return apperr.E(apperr.Invalid, msgRepeated, nil)
	}
	if commonPasswords()[lower] {
		return apperr.E(apperr.Invalid, msgCommon, nil)
	}
	return nil
}

// HashPassword returns the argon2id hash of password with Params and a fresh salt, as a
// PHC string ($argon2id$v=19$m=65536,t=2,p=2$salt$key) that records the parameters.
func HashPassword(password string) (string, error) {
	defer hashing()()
	h, err := argon2id.CreateHash(norm.NFKC.String(password), &Params)
	if err != nil {
		return "", fmt.Errorf("credential: hash password: %w", err)
	}
	return h, nil
}

// VerifyPassword reports whether password matches hash, a string from HashPassword. It
// returns an error only when hash is malformed.
func VerifyPassword(password, hash string) (ok bool, err error) {
	defer hashing()()
	ok, err = argon2id.ComparePasswordAndHash(norm.NFKC.String(password), hash)
	if err != nil {
		return false, fmt.Errorf("credential: verify password: %w", err)
	}
	return ok, nil
}

// NeedsRehash reports whether hash was made with weaker parameters than Params (less
// memory, fewer passes, a shorter salt or key) or cannot be read, so the caller should
// store a new hash after the next successful VerifyPassword.
func NeedsRehash(hash string) bool {
	p, _, _, err := argon2id.DecodeHash(hash)
	if err != nil {
		return true
	}
	return p.Memory < Params.Memory || p.Iterations < Params.Iterations ||
		p.SaltLength < Params.SaltLength || p.KeyLength < Params.KeyLength
}

// DummyVerify spends the time VerifyPassword would, against a fixed hash made with
// Params that matches no password. Call it when no account has the login ID given, so
// that the response time does not tell whether the ID exists.
func DummyVerify(password string) {
	defer hashing()()
	_ = dummyVerify(password)
}

// dummyVerify returns the error a malformed dummy hash would cause, for the test: a
// hash the library rejects early would take no time at all.
func dummyVerify(password string) error {
	_, err := argon2id.ComparePasswordAndHash(norm.NFKC.String(password), dummyHash(Params))
	return err
}

// dummyHash builds the fixed hash from p each time (a string format, microseconds), so
// that it follows Params even when a test lowers them.
func dummyHash(p argon2id.Params) string {
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, p.SaltLength))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, p.KeyLength))
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Iterations, p.Parallelism, salt, key)
}

// commonPasswordsFile is the blocklist, one lowercased password a line after a "#"
// source line; scripts/commonpasswords.sh regenerates it.
//
//go:embed common-passwords.txt
var commonPasswordsFile string

// commonPasswords is the blocklist as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool, 10000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			set[line] = true
		}
	}
	return set
})

// hashSlots bounds concurrent argon2id computations: each takes Params.Memory (64 MiB),
// so a burst of sign-ins — or someone sending many — queues instead of exhausting
// memory. Four slots hold 256 MiB and verify about 80 passwords a second on 2 cores.
var hashSlots = make(chan struct{}, 4)

// hashing waits for a slot and returns its release.
func hashing() func() {
	hashSlots <- struct{}{}
	return func() { <-hashSlots }
}
