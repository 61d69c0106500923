#!/usr/bin/env bash
# Puts the portal into the built demo, at www/dist/portal/ (chatseal-relay --www serves it at
# /portal/): the page, and in vendor/ what its import map names — chatseal's browser files
# as the demo installed them (www/node_modules/chatseal: the ES modules and web/ with the
# .wasm as its own file) and stream-chat as one browser ES module (esbuild; stream-chat's
# own ESM build imports axios and others by bare name). The page's CSP allows the inline
# import map by its hash, written in here.
# Usage: www/portal/build.sh PATH/TO/esbuild [DIST]
set -euo pipefail
esbuild=$(realpath "${1:?usage: build.sh PATH/TO/esbuild [DIST]}")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
www=$(cd "$here/.." && pwd)
dist=${2:-$www/dist}
out=$dist/portal
pkg=$(realpath "$www/node_modules/chatseal")
rm -rf "$out" && mkdir -p "$out/vendor/chatseal"
cp "$here/portal.js" "$here/portal.css" "$out/"
for f in index.js facade.js labels.js widget.js widget-keys.js widget-labels.js widget-style.js \
  stream-composer.js stream-shim.js stream-uploads.js stream-attachments.js; do
  cp "$pkg/$f" "$out/vendor/chatseal/"
done
cp -r "$pkg/web" "$out/vendor/chatseal/web"
find "$out/vendor/chatseal/web" -type f ! -name '*.js' ! -name '*.wasm' -delete
(cd "$www" && "$esbuild" node_modules/stream-chat/dist/esm/index.mjs --bundle --format=esm \
  --platform=browser --minify --legal-comments=none --log-level=warning --outfile="$out/vendor/stream-chat.js")
python3 - "$here/index.html" "$out/index.html" <<'PY'
import base64, hashlib, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
maps = re.findall(r'<script type="importmap">(.*?)</script>', html, re.S)
assert len(maps) == 1, "index.html must have one inline import map"
digest = base64.b64encode(hashlib.sha256(maps[0].encode("utf-8")).digest()).decode()
assert "'sha256-IMPORTMAP'" in html
open(sys.argv[2], "w", encoding="utf-8").write(html.replace("'sha256-IMPORTMAP'", f"'sha256-{digest}'"))
PY
echo "portal: $out ($(du -sh "$out" | cut -f1))"
