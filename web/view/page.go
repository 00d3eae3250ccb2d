// Package view holds renraku's templ components. Components take plain view data,
// including the translated strings (through Page.T) and the CSRF token they need; they
// never reach a store or a service.
package view

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
}

// Language is one entry of the language switch.
type Language struct {
	Code    string
	Label   string
	Current bool
}

// HTMXPath is the vendored htmx build, served with a long cache lifetime because the
// version is in its name.
const HTMXPath = "/static/vendor/htmx-2.0.11.min.js"
