#!/usr/bin/env bash
# azd `prepackage` hook of service `api` (azure.yaml): stages the deployment package that `azd deploy`
# zips and uploads (remoteBuild: false, see docs/deploy.md).
#
#   <stage>/host.json  package.json  package-lock.json
#   <stage>/dist/shared/**                         compiled with this checkout's TypeScript and tsconfig
#   <stage>/dist/bundle/functions.js               every function module in one file (package.json "main";
#                                                  scripts/build-functions.ts), requiring dist/shared
#   <stage>/node_modules/**                        production dependencies only (npm ci --omit=dev)
#
# What ships is what the tests ran against: same lockfile, no build on the server, no dev dependencies
# (Azurite, jest, TypeScript) in the package, so the package stays small and cold starts stay short.
# The stage lives under .tools/ (git-ignored). It compiles into a temp folder, so the dist/ that tests
# and the sandbox use is left as it is.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
stage="${AZD_PACKAGE_DIR:-$repo_root/.tools/azd-package}"

build="$(mktemp -d "${TMPDIR:-/tmp}/azd-build.XXXXXX")"
trap 'rm -rf "$build"' EXIT

echo "stage-package: compiling TypeScript"
npx --no-install tsc -p tsconfig.json --outDir "$build" --sourceMap false

rm -rf "$stage"
mkdir -p "$stage/dist"
cp host.json package.json package-lock.json "$stage/"
cp -R "$build/shared" "$stage/dist/"
echo "stage-package: bundling the function modules"
FUNCTIONS_REPO_ROOT="$repo_root" NODE_PATH="$repo_root/node_modules" \
  node "$build/scripts/build-functions.js" --dist "$stage/dist" --no-sourcemap
echo "stage-package: bundling the operations console"
CONSOLE_REPO_ROOT="$repo_root" NODE_PATH="$repo_root/node_modules" \
  node "$build/scripts/build-console.js" --out "$stage/dist/console"

echo "stage-package: installing production dependencies"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund ${STAGE_NPM_FLAGS:-})

# The Functions host loads package.json "main" (dist/bundle/functions.js): fail here, not in Azure, when
# the function modules cannot be loaded with production dependencies only.
(cd "$stage" && node -e '
  const main = require("./package.json").main;
  require("./" + main);
  console.log("stage-package: " + main + " loads with production dependencies");
')
echo "stage-package: staged $stage ($(du -sh "$stage" | cut -f1))"
