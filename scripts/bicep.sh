#!/usr/bin/env bash
# Runs the Bicep CLI, restoring it first from NuGet with `dotnet` when it is not cached yet.
#
#   bash scripts/bicep.sh build infra/main.bicep --stdout
#   bash scripts/bicep.sh lint infra/main.bicep
#   bash scripts/bicep.sh --version
#
# The Bicep CLI is not on npm; the NuGet package Azure.Bicep.CommandLine.linux-x64 carries the real,
# self-contained binary under tools/. The first call writes a throwaway project into a temp folder
# (nothing committed), `dotnet restore`s the package into .tools/bicep/<version>/ (git-ignored) and
# marks the binary executable; later calls exec the cached binary straight away.
# A lock serialises concurrent first calls (jest runs test files in parallel).
set -euo pipefail

# Pinned: bump deliberately and re-run `npm run infra:build` (newer CLIs can add linter rules).
BICEP_VERSION="${BICEP_VERSION:-0.49.2}"
PACKAGE_ID="Azure.Bicep.CommandLine.linux-x64"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${BICEP_CACHE_DIR:-$repo_root/.tools/bicep/$BICEP_VERSION}"
bicep_bin="$cache_dir/bicep"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "bicep.sh: only linux-x64 is supported (package $PACKAGE_ID); got $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac

restore() {
  command -v dotnet >/dev/null 2>&1 || { echo "bicep.sh: dotnet SDK not found on PATH; it is needed to restore $PACKAGE_ID" >&2; exit 2; }
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/bicep-restore.XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now: it is local to this function
  trap "rm -rf '$work'" EXIT
  # PackageDownload fetches the package without referencing it (no assets, no compatibility check).
  # The target framework is whatever this SDK bundles, so no targeting pack has to be downloaded.
  cat >"$work/restore-bicep.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net\$(BundledNETCoreAppTargetFrameworkVersion)</TargetFramework>
    <DisableImplicitFrameworkReferences>true</DisableImplicitFrameworkReferences>
    <DisableImplicitNuGetFallbackFolder>true</DisableImplicitNuGetFallbackFolder>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$PACKAGE_ID" Version="[$BICEP_VERSION]" />
  </ItemGroup>
</Project>
EOF
  local packages="$cache_dir/packages"
  mkdir -p "$packages"
  echo "bicep.sh: restoring $PACKAGE_ID $BICEP_VERSION with dotnet (first run only)..." >&2
  if ! dotnet restore "$work/restore-bicep.csproj" --packages "$packages" --verbosity quiet >&2; then
    echo "bicep.sh: dotnet restore of $PACKAGE_ID $BICEP_VERSION failed" >&2
    exit 3
  fi
  # NuGet lower-cases the id in the global-packages layout: <id>/<version>/tools/bicep
  local pkg_dir
  pkg_dir="$packages/$(echo "$PACKAGE_ID" | tr '[:upper:]' '[:lower:]')/$BICEP_VERSION"
  local found=""
  for candidate in "$pkg_dir/tools/bicep" "$pkg_dir/tools/linux-x64/bicep"; do
    if [ -f "$candidate" ]; then found="$candidate"; break; fi
  done
  if [ -z "$found" ]; then
    found="$(find "$pkg_dir" -type f -name bicep 2>/dev/null | head -n 1 || true)"
  fi
  if [ -z "$found" ]; then
    echo "bicep.sh: no 'bicep' binary found in $pkg_dir (package layout changed?)" >&2
    exit 3
  fi
  chmod +x "$found"
  # Only the extracted binary is used: drop the ~110 MB archive NuGet keeps beside it.
  rm -f "$pkg_dir"/*.nupkg
  # A relative symlink keeps the cache relocatable with the checkout.
  ln -sfn "${found#"$cache_dir"/}" "$bicep_bin.tmp"
  mv -fT "$bicep_bin.tmp" "$bicep_bin"
  rm -rf "$work"
  trap - EXIT
}

if [ ! -x "$bicep_bin" ]; then
  mkdir -p "$cache_dir"
  exec 9>"$cache_dir/.restore.lock"
  flock 9
  # Another process may have restored it while this one waited for the lock.
  if [ ! -x "$bicep_bin" ]; then restore; fi
  flock -u 9
  exec 9>&-
fi

exec "$bicep_bin" "$@"
