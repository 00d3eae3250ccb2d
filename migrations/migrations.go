// Package migrations embeds renraku's SQL migrations (golang-migrate format: numbered
// up/down pairs, each wrapped in a transaction) so the binary carries its schema.
package migrations

import "embed"

// FS holds the *.sql migration files.
//
//go:embed *.sql
var FS embed.FS
