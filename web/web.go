// Package web carries the files the browser and the translators see: templ views (in
// web/view), static assets and the message catalogue. They are embedded in the binary.
package web

import "embed"

// Static holds CSS, images and vendored JavaScript, served under /static/.
//
//go:embed static
var Static embed.FS

// Catalog holds the message catalogue, JSON files named <area>.<lang>.json (i18n/active.ja.json …).
//
//go:embed i18n/*.json
var Catalog embed.FS
