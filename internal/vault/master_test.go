package vault_test

import (
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	aeadsubtle "github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/renraku/renraku/internal/vault"
)

// fakeKMS stands in for a cloud KMS client (tink-go-gcpkms, tink-go-awskms): it
// serves URIs under its prefix with a local AES-GCM key, or fails.
type fakeKMS struct {
	prefix     string
	aead       tink.AEAD
	getAEADErr error
}

func (f *fakeKMS) Supported(uri string) bool { return strings.HasPrefix(uri, f.prefix) }

func (f *fakeKMS) GetAEAD(string) (tink.AEAD, error) {
	if f.getAEADErr != nil {
		return nil, f.getAEADErr
	}
	return f.aead, nil
}

func newFakeKMS(t *testing.T, prefix string) *fakeKMS {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	a, err := aeadsubtle.NewAESGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeKMS{prefix: prefix, aead: a}
}

func TestMasterFromKMS(t *testing.T) {
	t.Parallel()
	// Tink's registry is process-wide and has no unregister: each client gets a
	// prefix no other test uses.
	registry.RegisterKMSClient(newFakeKMS(t, "fake-kms://renraku-vault-test/ok/"))
	registry.RegisterKMSClient(&fakeKMS{prefix: "fake-kms://renraku-vault-test/denied/", getAEADErr: errors.New("permission denied on key")})

	t.Run("registered client unlocks a keyset", func(t *testing.T) {
		t.Parallel()
		m, err := vault.MasterFromKMS(t.Context(), "fake-kms://renraku-vault-test/ok/key1")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "keyset.json")
		if err := vault.Generate(path, m); err != nil {
			t.Fatal(err)
		}
		v, err := vault.Open(path, m)
		if err != nil {
			t.Fatal(err)
		}
		ad := vault.NewAD("t", "c", "1")
		if got, err := v.DecryptPersonal(MustEncrypt(t, v, "値", ad), ad); err != nil || got.Reveal() != "値" {
			t.Fatalf("round trip: %v", err)
		}
		// Another KMS key (same fake, other AEAD) is a wrong master, not damage.
		other := newFakeKMS(t, "fake-kms://renraku-vault-test/other/")
		registry.RegisterKMSClient(other)
		m2, err := vault.MasterFromKMS(t.Context(), "fake-kms://renraku-vault-test/other/key")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := vault.Open(path, m2); !errors.Is(err, vault.ErrMasterKey) {
			t.Fatalf("other KMS key: %v, want ErrMasterKey", err)
		}
	})

	tests := []struct {
		name     string
		uri      string
		wantIs   error
		contains string
	}{
		{"gcp without a client", "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k", vault.ErrNoKMSClient, "no KMS client registered for gcp-kms://"},
		{"aws without a client", "aws-kms://arn:aws:kms:ap-northeast-1:123456789012:key/abc", vault.ErrNoKMSClient, "no KMS client registered for aws-kms://"},
		{"not a URI", "projects/p/cryptoKeys/k", nil, "RENRAKU_KMS_KEY_URI"},
		{"client refuses the key", "fake-kms://renraku-vault-test/denied/key", nil, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := vault.MasterFromKMS(t.Context(), tt.uri)
			if err == nil || !strings.Contains(err.Error(), tt.contains) || !strings.Contains(err.Error(), "RENRAKU_KMS_KEY_URI") {
				t.Fatalf("err = %v, want one containing %q and naming RENRAKU_KMS_KEY_URI", err, tt.contains)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
		})
	}
}
