// Package parentlink is the parents' personal links: the signed, purpose-bound URLs a
// parent gets in LINE (or through LIFF) to open their registration, absence, handout
// and year-rollover pages in a browser.
//
// A link's token is a random nonce and a MAC over the nonce and the purpose, so a
// forged or altered token, or a token used for another purpose, is refused before the
// database is asked. Only a hash of the nonce is stored, with the friend the link is
// for, its purpose and its expiry. The first browser to open a link is bound to it (a
// hash of a cookie is kept), so a forwarded link is useless to anyone else; a link
// handed to a browser whose LINE user LIFF proved is bound to that browser at once and
// marked as proved.
//
// The features that send such links (registration, absence, announce, rollover) reach
// this package through a narrow port of their own; the SQL is in internal/postgres.
package parentlink
