#!/usr/bin/env bash
# Makes sure the system packages that `make run` and `make test` need are installed:
#   postgres  — PostgreSQL server binaries (the dev mode and tests start a local server)
#   browser   — Chromium and a Japanese font (the UI tests take screenshots of Japanese)
#   pdf       — a Japanese TrueType font (certificates) and poppler-utils (tests render them)
#   cc        — a C compiler and libc headers: `go test -race` builds with cgo, and Go turns
#               cgo off by itself where it finds no compiler
# It installs Debian's packages when it can (root and apt-get); otherwise it stops and
# says what to install.
set -euo pipefail

have_postgres() {
  [ -n "${RENRAKU_PG_BIN:-}" ] && [ -x "${RENRAKU_PG_BIN}/postgres" ] && return 0
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null && return 0
  command -v postgres >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1
}
have_pdf() {
  command -v pdftoppm >/dev/null 2>&1 && [ -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ]
}
have_cc() {
  command -v "${CC:-gcc}" >/dev/null 2>&1 && [ -f /usr/include/stdlib.h ]
}
have_browser() {
  { [ -n "${RENRAKU_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; } || return 1
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ja family 2>/dev/null)" ]
}

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: $* — install them (Debian: sudo apt-get install $*) and run make again" >&2
    exit 1
  fi
  echo "installing Debian packages: $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "$@" >/dev/null
  }
}

for need in "$@"; do
  case "$need" in
    postgres) have_postgres || apt_install postgresql ;;
    browser)  have_browser  || apt_install chromium fonts-ipafont-gothic fontconfig ;;
    pdf)      have_pdf      || apt_install poppler-utils fonts-ipafont-gothic ;;
    cc)       have_cc       || apt_install gcc libc6-dev ;;
    *) echo "ensure-deps: unknown need $need" >&2; exit 2 ;;
  esac
done
