#!/usr/bin/env bash
# Builds the LIFF SDK (@line/liff, LINE's own package from the npm registry) at the
# pinned version into one script in web/static/vendor, with esbuild at a pinned version.
# LINE publishes the SDK as ES modules only; the bundle sets window.liff. Using LIFF means
# agreeing to the LINE Developers Agreement (the package's licence).
set -euo pipefail
liff=2.31.0
esbuild=0.25.12
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
echo '{"private":true}' >package.json
npm install --silent --no-audit --no-fund --save-exact "@line/liff@${liff}" "esbuild@${esbuild}" >/dev/null
printf 'import liff from "@line/liff";\nwindow.liff = liff;\n' >entry.mjs
./node_modules/.bin/esbuild entry.mjs --bundle --minify --format=iife --target=es2019 --legal-comments=none \
  --log-level=warning --outfile="$top/web/static/vendor/liff-${liff}.min.js"
echo "vendored @line/liff ${liff}"
