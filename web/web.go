// Package web carries the files the browser and the translators see: templ views (in
// web/view), static assets and the message catalogue. They are embedded in the binary.
package web

import "embed"

// Static holds CSS, images and vendored JavaScript, served under /static/.
//
//go:embed static
var Static embed.FS

// Catalog holds the message catalogue, one JSON file per language (i18n/active.xx.json).
//
//go:embed i18n/*.json
var Catalog embed.FS
