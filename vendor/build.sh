#!/usr/bin/env bash
# Rebuilds the committed browser libraries from package-lock.json (`make vendor-js`).
# They are committed so that neither `make run` nor `make test` needs npm or the internet.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
cp node_modules/socket.io-client/dist/socket.io.min.js ../bot/web/static/widget/vendor/socket.io.min.js
cp node_modules/axe-core/axe.min.js ../tests/browser/vendor/axe.min.js
echo "vendored: socket.io-client $(node -p 'require("./node_modules/socket.io-client/package.json").version')," \
     "axe-core $(node -p 'require("./node_modules/axe-core/package.json").version')"
