package credential

import (
	"bytes"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp/totp"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/web"
)

// productionParams is Params as shipped, saved before TestMain lowers them.
var productionParams = Params

func TestMain(m *testing.M) {
	Params = argon2id.Params{Memory: 64, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	os.Exit(m.Run())
}

// allMessageIDs lists every message ID the package's errors use.
var allMessageIDs = []string{msgTooShort, msgTooLong, msgContainsLogin, msgRepeated, msgCommon}

func TestProductionParams(t *testing.T) {
	t.Parallel()
	want := argon2id.Params{Memory: 64 * 1024, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32}
	if diff := cmp.Diff(want, productionParams); diff != "" {
		t.Fatalf("Params (-want +got):\n%s", diff)
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		login    string
		password string
		wantID   string // "" when accepted
	}{
		{"long enough ascii", "tanaka01", "correct horse battery", ""},
		{"exactly 12 ascii", "tanaka01", "k9#mQ2!vLp7z", ""},
		{"japanese 12 characters", "tanaka01", "はるのうららのすみだがわ", ""},
		{"japanese 11 characters counted as runes not bytes", "tanaka01", "はるのうららのすみだが", msgTooShort},
		{"11 ascii", "tanaka01", "k9#mQ2!vLp7", msgTooShort},
		{"empty", "tanaka01", "", msgTooShort},
		{"128 characters", "tanaka01", strings.Repeat("ab", 64), ""},
		{"129 characters", "tanaka01", strings.Repeat("ab", 64) + "c", msgTooLong},
		{"equal to login", "yamada.hanako", "yamada.hanako", msgContainsLogin},
		{"contains login in other case", "Tanaka01", "my-TANAKA01-secret", msgContainsLogin},
		{"contains full-width login", "tanaka01", "ｔａｎａｋａ０１のパスワード", msgContainsLogin},
		{"empty login ignored", "", "correct horse battery", ""},
		{"one repeated character", "tanaka01", "aaaaaaaaaaaa", msgRepeated},
		{"one repeated japanese character", "tanaka01", "ああああああああああああ", msgRepeated},
		{"common", "tanaka01", "password1234", msgCommon},
		{"common in other case", "tanaka01", "QWERTY123456", msgCommon},
		{"common typed full-width", "tanaka01", "ｐａｓｓｗｏｒｄ１２３４", msgCommon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckPassword(tt.login, tt.password)
			if tt.wantID == "" {
				if err != nil {
					t.Fatalf("CheckPassword = %v, want nil", err)
				}
				return
			}
			if got := apperr.KindOf(err); got != apperr.Invalid {
				t.Errorf("kind = %v, want invalid (err %v)", got, err)
			}
			if got := apperr.MessageIDOf(err); got != tt.wantID {
				t.Errorf("message ID = %q, want %q", got, tt.wantID)
			}
		})
	}
}

func TestHashAndVerifyPassword(t *testing.T) {
	t.Parallel()
	hash, err := HashPassword("はるのうららのすみだがわ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$") {
		t.Fatalf("hash = %q, want an argon2id PHC string", hash)
	}
	again, err := HashPassword("はるのうららのすみだがわ")
	if err != nil {
		t.Fatal(err)
	}
	if again == hash {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"right", "はるのうららのすみだがわ", true},
		{"wrong", "はるのうららのすみだがは", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := VerifyPassword(tt.password, hash)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want {
				t.Errorf("VerifyPassword = %v, want %v", ok, tt.want)
			}
		})
	}
	t.Run("full-width matches half-width", func(t *testing.T) {
		t.Parallel()
		h, err := HashPassword("Sakura-2025-haru")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := VerifyPassword("Ｓａｋｕｒａ－２０２５－ｈａｒｕ", h); err != nil || !ok {
			t.Errorf("VerifyPassword = %v, %v; want true", ok, err)
		}
	})
	t.Run("malformed hash", func(t *testing.T) {
		t.Parallel()
		if ok, err := VerifyPassword("whatever", "$2a$10$notargon"); err == nil || ok {
			t.Errorf("VerifyPassword = %v, %v; want false and an error", ok, err)
		}
	})
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	with := func(change func(p *argon2id.Params)) string {
		t.Helper()
		p := Params
		change(&p)
		h, err := argon2id.CreateHash("correct horse battery", &p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	current, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		hash string
		want bool
	}{
		{"current", current, false},
		{"less memory", with(func(p *argon2id.Params) { p.Memory /= 2 }), true},
		{"fewer passes", with(func(p *argon2id.Params) { p.Iterations = 1 }), true},
		{"shorter key", with(func(p *argon2id.Params) { p.KeyLength = 16 }), true},
		{"shorter salt", with(func(p *argon2id.Params) { p.SaltLength = 8 }), true},
		{"stronger", with(func(p *argon2id.Params) { p.Memory *= 2; p.Iterations++ }), false},
		{"other parallelism, same cost", with(func(p *argon2id.Params) { p.Parallelism = 2 }), false},
		{"not argon2id", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", true},
		{"garbage", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := NeedsRehash(tt.hash); got != tt.want {
				t.Errorf("NeedsRehash(%q) = %v, want %v", tt.hash, got, tt.want)
			}
		})
	}
}

func TestDummyVerify(t *testing.T) {
	t.Parallel()
	// The dummy hash must parse and run argon2id: one the library rejected early would
	// return at once and make unknown login IDs answer faster.
	if err := dummyVerify("whatever"); err != nil {
		t.Fatalf("dummy hash rejected: %v", err)
	}
	if got, want := dummyHash(productionParams), "$argon2id$v=19$m=65536,t=2,p=2$"; !strings.HasPrefix(got, want) {
		t.Errorf("dummy hash = %q, want prefix %q", got, want)
	}
	DummyVerify("whatever")
}

func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	if !strings.HasPrefix(commonPasswordsFile, "# source: @zxcvbn-ts/language-common@") {
		t.Errorf("first line = %q, want the source comment", strings.SplitN(commonPasswordsFile, "\n", 2)[0])
	}
	set := commonPasswords()
	if n := len(set); n < 9000 || n > 10000 {
		t.Errorf("list has %d entries, want about 10,000", n)
	}
	for _, p := range []string{"password", "password1234", "qwerty123456", "iloveyou"} {
		if !set[p] {
			t.Errorf("list lacks %q", p)
		}
	}
	for p := range set {
		if len([]rune(p)) < 8 || p != strings.ToLower(p) || strings.TrimSpace(p) != p {
			t.Errorf("entry %q: want 8 or more lowercased characters, no surrounding space", p)
		}
	}
}

func TestNewTOTP(t *testing.T) {
	t.Parallel()
	e, err := NewTOTP("renraku さくら小学校", "tanaka01")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Secret) != 32 { // 20 bytes in base32
		t.Errorf("secret %q has %d characters, want 32", e.Secret, len(e.Secret))
	}
	for _, want := range []string{"otpauth://totp/", "secret=" + e.Secret, "algorithm=SHA1", "digits=6", "period=30"} {
		if !strings.Contains(e.URL, want) {
			t.Errorf("URL %q lacks %q", e.URL, want)
		}
	}
	img, err := png.Decode(bytes.NewReader(e.QRPNG))
	if err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got.X != 240 || got.Y != 240 {
		t.Errorf("QR code is %v, want 240×240", got)
	}
	other, err := NewTOTP("renraku さくら小学校", "tanaka01")
	if err != nil {
		t.Fatal(err)
	}
	if other.Secret == e.Secret {
		t.Error("two enrolments share a secret")
	}
}

func TestCheckTOTP(t *testing.T) {
	t.Parallel()
	e, err := NewTOTP("renraku", "tanaka01")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 6, 8, 30, 15, 0, time.UTC)
	step := now.Unix() / 30
	code := func(at time.Time) string {
		t.Helper()
		c, err := totp.GenerateCodeCustom(e.Secret, at, totp.ValidateOpts{Period: 30, Digits: totpDigits, Algorithm: totpAlg})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	fullWidth := func(s string) string {
		return strings.Map(func(r rune) rune { return r - '0' + '０' }, s)
	}
	current := code(now)
	tests := []struct {
		name     string
		code     string
		lastStep int64
		wantStep int64
		wantOK   bool
	}{
		{"now", current, 0, step, true},
		{"30 s ago", code(now.Add(-30 * time.Second)), 0, step - 1, true},
		{"30 s ahead", code(now.Add(30 * time.Second)), 0, step + 1, true},
		{"90 s ago", code(now.Add(-90 * time.Second)), 0, 0, false},
		{"90 s ahead", code(now.Add(90 * time.Second)), 0, 0, false},
		{"replay of the same step", current, step, 0, false},
		{"previous step after a later one was used", code(now.Add(-30 * time.Second)), step, 0, false},
		{"next step after the current one was used", code(now.Add(30 * time.Second)), step, step + 1, true},
		{"with a space", current[:3] + " " + current[3:], 0, step, true},
		{"full-width with an ideographic space", fullWidth(current[:3]) + "\u3000" + fullWidth(current[3:]), 0, step, true},
		{"too short", current[:5], 0, 0, false},
		{"letters", "abcdef", 0, 0, false},
		{"empty", "", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gotStep, gotOK := CheckTOTP(e.Secret, tt.code, now, tt.lastStep)
			if gotStep != tt.wantStep || gotOK != tt.wantOK {
				t.Errorf("CheckTOTP(%q) = %d, %v; want %d, %v", tt.code, gotStep, gotOK, tt.wantStep, tt.wantOK)
			}
		})
	}
	t.Run("malformed secret", func(t *testing.T) {
		t.Parallel()
		if _, ok := CheckTOTP("not base32!", current, now, 0); ok {
			t.Error("a malformed secret matched")
		}
	})
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	codes, hashes, err := NewRecoveryCodes(RecoveryCodeCount)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("got %d codes and %d hashes, want 10 each", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c] {
			t.Errorf("code %q is repeated", c)
		}
		seen[c] = true
		if len(c) != 11 || c[5] != '-' {
			t.Errorf("code %q is not shown as xxxxx-xxxxx", c)
		}
		if i := strings.IndexAny(c, "0o1liOI"); i >= 0 {
			t.Errorf("code %q has the ambiguous character %q", c, c[i])
		}
	}

	upperFullWidth := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '-' {
				return 'ー'
			}
			return r - '!' + '！'
		}, strings.ToUpper(s))
	}
	tests := []struct {
		name      string
		code      string
		wantIndex int
		wantOK    bool
	}{
		{"as shown", codes[3], 3, true},
		{"without the dash", strings.ReplaceAll(codes[0], "-", ""), 0, true},
		{"upper case with spaces", " " + strings.ToUpper(strings.ReplaceAll(codes[9], "-", " - ")) + " ", 9, true},
		{"full-width with a katakana dash", upperFullWidth(codes[5]), 5, true},
		{"wrong", "xxxxx-xxxxx", -1, false},
		{"one character off", codes[2][:10] + string(next(codes[2][10])), -1, false},
		{"empty", "", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			i, ok := MatchRecoveryCode(tt.code, hashes)
			if i != tt.wantIndex || ok != tt.wantOK {
				t.Errorf("MatchRecoveryCode(%q) = %d, %v; want %d, %v", tt.code, i, ok, tt.wantIndex, tt.wantOK)
			}
		})
	}
	t.Run("used once", func(t *testing.T) {
		t.Parallel()
		left := append([]string(nil), hashes...)
		i, ok := MatchRecoveryCode(codes[7], left)
		if !ok {
			t.Fatal("first use refused")
		}
		left = append(left[:i], left[i+1:]...) // what the caller does
		if _, ok := MatchRecoveryCode(codes[7], left); ok {
			t.Error("second use accepted")
		}
		if diff := cmp.Diff(len(hashes)-1, len(left)); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("n must be positive", func(t *testing.T) {
		t.Parallel()
		if _, _, err := NewRecoveryCodes(0); err == nil {
			t.Error("NewRecoveryCodes(0) succeeded")
		}
	})
}

// next returns the alphabet character after c, so a code changed by one character
// stays in the alphabet.
func next(c byte) byte {
	i := strings.IndexByte(recoveryAlphabet, c)
	return recoveryAlphabet[(i+1)%len(recoveryAlphabet)]
}

func TestMessagesExistInEveryLanguage(t *testing.T) {
	t.Parallel()
	c, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"ja", "en"} {
		ids := map[string]bool{}
		for _, id := range c.MessageIDs(lang) {
			ids[id] = true
		}
		for _, id := range allMessageIDs {
			if !ids[id] {
				t.Errorf("%s lacks %q", lang, id)
			}
		}
	}
	if bad := c.Missing(allMessageIDs); len(bad) > 0 {
		t.Errorf("missing in some language: %v", bad)
	}
	for _, id := range allMessageIDs {
		if !strings.HasPrefix(id, "credential.") {
			t.Errorf("message ID %q lacks the credential. prefix", id)
		}
	}
}
