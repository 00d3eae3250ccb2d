package vault

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	aeadsubtle "github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// MasterKeyLen is the length of a local master key (RENRAKU_MASTER_KEY, before base64).
const MasterKeyLen = 32

// Master unlocks the keyset file: a local key or a cloud KMS key. The zero Master
// unlocks nothing; every function that takes one refuses it with ErrNoMaster.
type Master struct {
	aead tink.AEAD
}

// MasterFromKey uses a 32-byte key (RENRAKU_MASTER_KEY, decoded) with AES-256-GCM.
// The key is used as it is, so it must come from a cryptographic random source
// (`head -c32 /dev/urandom | base64`), never from a password.
func MasterFromKey(key []byte) (Master, error) {
	if len(key) != MasterKeyLen {
		return Master{}, fmt.Errorf("%w: it decodes to %d bytes", ErrMasterKeyFormat, len(key))
	}
	a, err := aeadsubtle.NewAESGCM(key)
	if err != nil {
		return Master{}, fmt.Errorf("%w: %v", ErrMasterKeyFormat, err)
	}
	return Master{aead: a}, nil
}

// MasterFromBase64 decodes RENRAKU_MASTER_KEY (standard base64 of 32 bytes, surrounding
// white space ignored) and calls MasterFromKey. The error never repeats the value.
func MasterFromBase64(s string) (Master, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return Master{}, fmt.Errorf("%w: it is not standard base64", ErrMasterKeyFormat)
	}
	return MasterFromKey(key)
}

// MasterFromKMS uses a cloud KMS key (RENRAKU_KMS_KEY_URI, e.g. gcp-kms://projects/…
// or aws-kms://arn:aws:kms:…) through Tink's KMS client registry. renraku links no
// cloud SDK itself (they are heavy; see the package documentation): the deployment's
// build registers the client for its cloud with registry.RegisterKMSClient before
// start-up. Without one, MasterFromKMS returns ErrNoKMSClient naming the URI's scheme.
// The context is accepted for the KMS clients that will take one; Tink's registry
// does not yet.
func MasterFromKMS(_ context.Context, uri string) (Master, error) {
	scheme, _, ok := strings.Cut(uri, "://")
	if !ok || scheme == "" {
		return Master{}, fmt.Errorf("vault: RENRAKU_KMS_KEY_URI must look like gcp-kms://… or aws-kms://…")
	}
	c, err := registry.GetKMSClient(uri)
	if err != nil {
		return Master{}, fmt.Errorf("%w %s:// (RENRAKU_KMS_KEY_URI); build renraku with that cloud's Tink KMS module, see docs/OPERATIONS.md", ErrNoKMSClient, scheme)
	}
	a, err := c.GetAEAD(uri)
	if err != nil {
		return Master{}, fmt.Errorf("vault: RENRAKU_KMS_KEY_URI: %s KMS key: %w", scheme, err)
	}
	return Master{aead: a}, nil
}

func (m Master) check() error {
	if m.aead == nil {
		return ErrNoMaster
	}
	return nil
}
