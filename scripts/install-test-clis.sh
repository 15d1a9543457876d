#!/usr/bin/env bash
# Installs the real agent CLIs (claude, codex, opencode, gemini, qwen, pi, kilo,
# copilot) pinned in
# test-cli/package.json into test-cli/node_modules, for `npm run test:cli` only.
# They are not oompa's dependencies.
#
# - Install scripts: npm 11 blocks dependency install scripts unless the
#   project's "allowScripts" allows them. claude-code and opencode-ai NEED
#   their postinstall (it copies the platform's native binary over a stub
#   bin/*.exe); test-cli/package.json allows exactly those two and denies
#   node-pty / keytar (gemini's optional PTY/keychain helpers, not needed
#   headless; @lydell/node-pty ships prebuilt anyway). kilo's and copilot's
#   native binaries come as optional platform packages and need no script
#   (kilo's postinstall only re-checks them); qwen and pi are JS bundles.
# - Why `npm install --no-save` and not `npm ci`: the registry this project can
#   reach does not carry opencode's darwin/windows platform packages, so the
#   lock file cannot list them and `npm ci` refuses it as "out of sync".
#   `npm install` with the committed lock file installs the same locked
#   versions (integrity-checked) and --no-save leaves the lock untouched.
# - Caching: packages come from npm's cache (~/.npm/_cacache) when present;
#   CI may cache that folder. If test-cli/node_modules already matches the
#   package.json + lock (stamp file) and every CLI answers --version, nothing
#   is done.
set -euo pipefail
cd "$(dirname "$0")/../test-cli"

# The executables the tests run, one per pinned CLI package.
CLIS="claude codex opencode gemini qwen pi kilo copilot"

stamp_file=node_modules/.oompa-install-stamp
want_stamp="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1) $(node --version)"

clis_ok() {
  local c
  for c in $CLIS; do
    [ -x "node_modules/.bin/$c" ] || return 1
    timeout 60 "node_modules/.bin/$c" --version >/dev/null 2>&1 || return 1
  done
}

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want_stamp" ] && clis_ok; then
  echo "install-test-clis: up to date"
else
  npm install --no-save --no-audit --no-fund --prefer-offline --loglevel=error
  clis_ok || {
    echo "install-test-clis: a CLI does not run after install:" >&2
    for c in $CLIS; do
      echo "--- $c" >&2
      timeout 60 "node_modules/.bin/$c" --version >&2 || true
    done
    exit 1
  }
  echo "$want_stamp" > "$stamp_file"
fi

for c in $CLIS; do
  printf '%-9s %s\n' "$c" "$(timeout 60 "node_modules/.bin/$c" --version 2>&1 | head -1)"
done
