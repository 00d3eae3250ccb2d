package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// RecoveryCodeCount is how many recovery codes a staff member is given at a time.
const RecoveryCodeCount = 10

// recoveryAlphabet has no characters that are easily confused when read off paper:
// no 0/o, no 1/l/i (codes are shown lowercase and matched case-insensitively).
const recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// recoveryCodeLength is 10 characters of 31: log2(31^10) ≈ 49.5 bits each.
const recoveryCodeLength = 10

// NewRecoveryCodes returns n distinct random recovery codes to show the staff member
// once, as "xxxxx-xxxxx", and their hashes to store in the same order.
//
// The hashes are plain SHA-256 (hex) of the normalised code, with no salt or slow KDF:
// slow hashing protects guessable secrets, and with ~50 random bits per code an
// attacker holding the hashes still needs about 2^49 tries per code, while a sign-in
// with a recovery code stays as cheap as comparing ten hashes.
func NewRecoveryCodes(n int) (codes []string, hashes []string, err error) {
	if n <= 0 {
		return nil, nil, errors.New("credential: recovery codes: n must be positive")
	}
	seen := make(map[string]bool, n)
	size := big.NewInt(int64(len(recoveryAlphabet)))
	for len(codes) < n {
		b := make([]byte, recoveryCodeLength)
		for i := range b {
			j, err := rand.Int(rand.Reader, size)
			if err != nil {
				return nil, nil, fmt.Errorf("credential: recovery codes: %w", err)
			}
			b[i] = recoveryAlphabet[j.Int64()]
		}
		code := string(b)
		if seen[code] {
			continue
		}
		seen[code] = true
		codes = append(codes, code[:5]+"-"+code[5:])
		hashes = append(hashes, hashRecoveryCode(code))
	}
	return codes, hashes, nil
}

// MatchRecoveryCode reports whether code is one of the codes hashes were made from and
// returns the index of its hash, so the caller can delete it: each code works once.
// The code is normalised first (case, spaces, dashes and full-width characters do not
// matter) and compared with every hash in constant time.
func MatchRecoveryCode(code string, hashes []string) (index int, ok bool) {
	h := hashRecoveryCode(normaliseCode(code))
	index = -1
	for i, stored := range hashes {
		if subtle.ConstantTimeCompare([]byte(h), []byte(stored)) == 1 && index < 0 {
			index = i
		}
	}
	return index, index >= 0
}

func hashRecoveryCode(normalised string) string {
	sum := sha256.Sum256([]byte(normalised))
	return hex.EncodeToString(sum[:])
}
