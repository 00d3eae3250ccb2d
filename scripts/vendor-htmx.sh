#!/usr/bin/env bash
# Fetches htmx from the npm registry at the pinned version and copies its minified build
# into web/static/vendor. npm verifies the package against the registry's integrity hash.
set -euo pipefail
version=2.0.11
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "htmx.org@${version}" >/dev/null
tar xzf "htmx.org-${version}.tgz"
install -m 0644 package/dist/htmx.min.js "$top/web/static/vendor/htmx-${version}.min.js"
echo "vendored htmx ${version}"
