#!/usr/bin/env bash
# Re-fetch the vendored uPlot (the HTML report's charts) from the npm registry
# into loadtest/report/assets/. The report embeds these files; nothing is
# fetched at run time. Bump VERSION, run this, check the report in the browser
# test (tests/e2e/test_html_browser.py), and commit the files with the version.
set -euo pipefail
VERSION=1.6.32
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$VERSION" >/dev/null && tar xzf "uplot-$VERSION.tgz")
dest=loadtest/report/assets
cp "$work/package/dist/uPlot.iife.min.js" "$dest/uPlot.iife.min.js"
cp "$work/package/dist/uPlot.min.css" "$dest/uPlot.min.css"
cp "$work/package/LICENSE" "$dest/uPlot.LICENSE"
echo "uplot $VERSION (npm: uplot@$VERSION, files dist/uPlot.iife.min.js, dist/uPlot.min.css, LICENSE)" \
    > "$dest/uPlot.VERSION"
echo "vendored uplot $VERSION into $dest"
