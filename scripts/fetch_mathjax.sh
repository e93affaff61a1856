#!/usr/bin/env bash
# Put MathJax 3 under _vendor/mathjax so the built book renders formulas offline and from file://.
# It comes from the npm registry (`npm pack`, no node_modules); Sphinx copies _vendor/ into the
# build's _static/. Not under _static/ itself: Jupyter Book would load every .js file there on
# every page.
set -euo pipefail
version="${MATHJAX_VERSION:-3.2.2}"
dest="_vendor/mathjax"
if [ -f "$dest/tex-chtml.js" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "error: npm is needed once to fetch MathJax $version (Debian: apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "Fetching MathJax $version from the npm registry ..."
(cd "$tmp" && npm pack "mathjax@$version" --silent >/dev/null)
tar -xzf "$tmp"/mathjax-*.tgz -C "$tmp"
rm -rf "$dest"
mkdir -p "$dest"
cp -r "$tmp"/package/es5/. "$dest"/
echo "$version" > "$dest/VERSION"
echo "MathJax $version is in $dest"
