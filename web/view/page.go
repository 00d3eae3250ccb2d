// Package view holds renraku's templ components. Components take plain view data,
// including the translated strings (through Page.T) and the CSRF token they need; they
// never reach a store or a service.
package view

import (
	"strconv"
	"strings"
)

// Page is what every full page needs from its handler.
type Page struct {
	// Lang is the page's language code, for <html lang>.
	Lang string
	// Title is the already translated page title.
	Title string
	// T translates a catalogue message ID into Lang.
	T func(id string, data ...map[string]any) string
	// CSRFToken goes into every form that changes state.
	CSRFToken string
	// Path is the current path, for the language switch links.
	Path string
	// Languages offered in the language switch, with their own names.
	Languages []Language
	// Flash is a one-time notice, already translated.
	Flash string
	// Nav is the signed-in staff member's menu, nil for visitors.
	Nav *Nav
	// LIFF, when set, loads the LIFF SDK so the page proves the parent's LINE user.
	LIFF *LIFF
	// Waiting is the number of items waiting for the signed-in person, shown before the
	// title in the browser's tab ("(3) ホーム | renraku"); 0 shows the plain title.
	Waiting int
}

// titleText is the text of a page's <title>: its title and the app's name, after the
// number of items waiting when there are any.
func titleText(p Page) string {
	t := p.Title + " | " + p.T("app.name")
	if p.Waiting > 0 {
		t = "(" + strconv.Itoa(p.Waiting) + ") " + t
	}
	return t
}

// LIFF is a page's LIFF app and where it sends the ID token.
type LIFF struct {
	ID        string
	VerifyURL string
	// Open: the verify URL answers with the page to go to ({"next": URL}), which the
	// browser then opens (a rich menu page opened through the LIFF app).
	Open bool
}

// LIFFPath is the vendored LIFF SDK (scripts/vendor-liff.sh).
const LIFFPath = "/static/vendor/liff-2.31.0.min.js"

// Nav is the staff menu in the header.
type Nav struct {
	// Admin shows the console link.
	Admin bool
	// Role is the translated role name.
	Role string
}

// Form is a form's state when it is shown again: what the person typed and, per
// field, the translated problem.
type Form struct {
	Values map[string]string
	Errors map[string]string
	// Message is a problem not tied to a field.
	Message string
}

// V returns the typed value of a field.
func (f Form) V(name string) string { return f.Values[name] }

// E returns the problem with a field, or "".
func (f Form) E(name string) string { return f.Errors[name] }

// Language is one entry of the language switch.
type Language struct {
	Code    string
	Label   string
	Current bool
}

// HTMXPath is the vendored htmx build, served with a long cache lifetime because the
// version is in its name.
const HTMXPath = "/static/vendor/htmx-2.0.11.min.js"

// Option is one choice of a select.
type Option struct {
	Value string
	Label string
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func brandHref(p Page) string {
	if p.Nav != nil {
		return "/staff/"
	}
	return "/"
}

func containsRune(s, r string) bool {
	for _, c := range s {
		if string(c) == r {
			return true
		}
	}
	return false
}

func gradeOptions(p Page, grades []int) []Option {
	out := make([]Option, 0, len(grades))
	for _, g := range grades {
		out = append(out, Option{Value: itoa(g), Label: p.T("structure.grade_n", map[string]any{"Grade": g})})
	}
	return out
}

func containsWord(list, w string) bool {
	for _, x := range strings.Fields(list) {
		if x == w {
			return true
		}
	}
	return false
}

// Isolate wraps s, a name or text someone typed, in FIRST STRONG ISOLATE and POP
// DIRECTIONAL ISOLATE, so that where it is set into a translated sentence (plain
// text, where <bdi> cannot go) its direction cannot reorder the words around it.
func Isolate(s string) string { return "\u2068" + s + "\u2069" }

// describedBy names what describes a field's box: its hint, if it has one, and its
// problem.
func describedBy(name, hint string) string {
	if hint != "" {
		return "h-" + name + " e-" + name
	}
	return "e-" + name
}
