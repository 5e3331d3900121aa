#!/usr/bin/env bash
# The browser tests' accessibility check runs axe-core in the page. Take it, pinned, from the npm registry
# (npm pack: no install scripts run) into the git-ignored .cache/axe-core/, once; check the tarball's hash.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.14.1
SHA256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
DEST=.cache/axe-core
[ -f "$DEST/axe-$VERSION.min.js" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "error: the accessibility test needs npm (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$VERSION" >/dev/null)
echo "$SHA256  $work/axe-core-$VERSION.tgz" | sha256sum --check --quiet
tar -xzf "$work/axe-core-$VERSION.tgz" -C "$work" package/axe.min.js package/LICENSE
mkdir -p "$DEST"
mv "$work/package/LICENSE" "$DEST/LICENSE"
mv "$work/package/axe.min.js" "$DEST/axe-$VERSION.min.js"
