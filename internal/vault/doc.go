// Package vault encrypts renraku's personal fields before they reach SQL, computes the
// blind indexes by which a few of them are found, and manages the keys (SPEC §2 P2,
// P7). All cryptography is Google's Tink (tink-go/v2); this package only chooses
// templates, binds ciphertexts to their place and runs the key lifecycle.
//
// # What is encrypted
//
// Every personal field is stored only as ciphertext (a bytea column, by convention
// named …_enc): guardian and child names, relationship, nickname, message bodies,
// absence report texts, LINE user IDs and reply tokens, webhook payloads, and the LINE
// channel secrets and tokens. A database dump, a replica or a backup therefore holds
// no readable personal data. Counts, dates, school and class IDs, and statuses stay in
// clear so that the database can filter and aggregate on them.
//
// Plaintext travels through the program as Personal, whose every printed, logged or
// marshalled form is "[redacted]"; Reveal is the one way to the value. Stores call
// EncryptPersonal / DecryptPersonal (or the Bytes forms for documents and payloads) on
// the way in and out. An empty value is encrypted like any other; a NULL column means
// "no value" and is the store's business, never passed to Decrypt.
//
// # Binding to the place: associated data
//
// Each value is AES-256-GCM (Tink's AES256GCM key template, random 96-bit nonce) with
// associated data naming its table, column and row (AD: NewAD, NewADForID,
// Column.AD), each part length-prefixed so no two places encode alike. A ciphertext
// copied to another row, column or table — a family's name pasted into another
// family's record by a bug or by someone with write access to the database — does not
// decrypt: the read fails with ErrDecrypt, wrapped with the table and column (never
// the value or the row), instead of showing one family's data as another's. Tampered
// or truncated ciphertexts fail the same way; nothing in this package panics on bad
// input.
//
// # Blind indexes
//
// A value that must be found by equality — a LINE user ID on every webhook, a class
// registration code — is stored encrypted and also as BlindIndex(domain, value): a
// 32-byte HMAC-SHA256 (Tink PRF) under a separate key, so the database can look it up
// without holding it in clear. Each use has its own domain string ("line.user_id",
// "registration.code", …) so equal values in two uses give unrelated indexes and an
// index cannot be matched across tables. BlindIndex normalises nothing; a caller that
// wants case- or space-insensitive matching normalises first, identically on write and
// on lookup. The PRF key is never rotated, since every index would have to be
// recomputed from plaintext; the audit log's MAC chain uses it too, under its own
// domain.
//
// # Keys live outside the database
//
// The keyset file (RENRAKU_KEYSET_FILE, mode 0600, written atomically) is a small
// versioned JSON envelope holding two Tink keysets — the AEAD keys and the PRF key —
// each encrypted by Tink under a master AEAD with associated data naming its purpose,
// plus a check value that tells a wrong master key from a damaged file:
//
//	{"format": "renraku-keyset", "version": 2, "master_check": "…", "aead": "…", "prf": "…"}
//
// The master AEAD is either a local 32-byte key (RENRAKU_MASTER_KEY, base64;
// MasterFromBase64 / MasterFromKey) or, in production, a cloud KMS key
// (RENRAKU_KMS_KEY_URI; MasterFromKMS). Neither the keyset file nor the master key is
// ever in the database, so a stolen dump is useless, and the keyset file alone is
// useless without the master. Open refuses to start without a usable keyset and says
// which: ErrKeysetMissing, ErrKeysetCorrupt, ErrKeysetVersion, ErrMasterKey,
// ErrMasterKeyFormat, ErrNoMaster, ErrNoKMSClient.
//
// # Cloud KMS
//
// MasterFromKMS resolves the URI through Tink's KMS client registry
// (core/registry.GetKMSClient). renraku links no cloud SDK by default: Tink's GCP
// client (github.com/tink-crypto/tink-go-gcpkms/v2, v2.4.0) brings gRPC, the Google
// API client and OpenTelemetry — 331 packages from 35 modules; built cold on a 2-core
// machine it takes 74 s where Tink's AEAD alone takes 20 s — and the AWS one
// (tink-go-awskms/v2, v2.1.0; 94 packages, 33 s cold) depends on aws-sdk-go v1, which
// is past its end of support. A deployment that uses a KMS adds one file to
// cmd/renraku, behind a build tag, and builds with that tag:
//
//	//go:build gcpkms
//
//	package main
//
//	import (
//		"context"
//
//		"github.com/tink-crypto/tink-go-gcpkms/v2/integration/gcpkms"
//		"github.com/tink-crypto/tink-go/v2/core/registry"
//	)
//
//	func init() {
//		c, err := gcpkms.NewClientWithOptions(context.Background(), "gcp-kms://")
//		if err != nil {
//			panic(err) // no credentials: refuse to start
//		}
//		registry.RegisterKMSClient(c)
//	}
//
// (for AWS: awskms.NewClientWithOptions("aws-kms://") from
// github.com/tink-crypto/tink-go-awskms/v2/integration/awskms), after
// `go get <module>@<version>`. Without a registered client, start-up fails with
// "no KMS client registered for gcp-kms://".
//
// # Rotation without downtime, across instances
//
// The lifecycle of an AEAD key, with several app instances sharing one keyset file:
//
//  1. Rotate (renraku keys rotate) adds a new AES-256-GCM key to the file and makes it
//     primary. Old keys stay for decryption. Concurrent Rotate/Retire calls are
//     serialised by a lock on the file's folder.
//  2. Every instance notices within FileCheckInterval (a stat on the Encrypt/Decrypt
//     path, one caller per interval) and then encrypts under the new key. Until then
//     it still writes under the old one, which every instance can read. An instance
//     that reads a row under a key it does not know yet reloads the file at once
//     (rate-limited) and retries, so rows written by faster instances are readable
//     everywhere from the first moment. Each ciphertext names its key in Tink's 5-byte
//     prefix (KeyIDOf).
//  3. Rewrap, run by a periodic job, re-encrypts the rows still under an old key,
//     batch by batch, each batch one transaction that skips locked rows and never
//     overwrites a concurrent write. It keeps no state: a crash leaves every row
//     readable, and the next run continues. Progress counts rows per key per column
//     (renraku keys status).
//  4. Retire (renraku keys retire) deletes an old key only when RowsUsingKey reports no
//     row under it, after all instances have had time to pick up the rotation.
//
// A retired key is gone for good, and so are any backups' rows still under it unless
// the keyset file of that time is kept with the backup: back up the keyset file and
// the master key, separately from the database.
package vault
