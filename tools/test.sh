#!/usr/bin/env bash
# The test command: installs what the tests need, builds the solution and runs every test project.
# Ends with a plain "N passed, N failed[, N skipped]" line; exit code 0 iff nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# npm fixtures (reference tokenizer) ------------------------------------------------------------
for dir in tests/fixtures/npm; do
  if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "== npm install in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm install failed in $dir"; exit 1; }
  fi
done
for script in tests/fixtures/npm/*.mjs; do
  [ -f "$script" ] || continue
  echo "== node $script"
  (cd tests/fixtures/npm && node "$(basename "$script")") || { echo "fixture script $script failed"; exit 1; }
done

# browser for the portal's end-to-end tests (Debian's chromium, driven by Playwright; no browser download) ----------
if [ ! -x /usr/bin/chromium ]; then
  echo "== apt-get install chromium"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 \
    || echo "chromium could not be installed; the portal's browser tests will fail with a message saying so"
fi

# build ----------------------------------------------------------------------------------------
echo "== dotnet build"
dotnet build DeepPerception.sln -c Release -nologo -v q || { echo "0 passed, 1 failed"; exit 1; }

# test -----------------------------------------------------------------------------------------
results="$root/.testresults"
rm -rf "$results"; mkdir -p "$results"
passed=0; failed=0; skipped=0; status=0
for proj in $(find tests -name '*.Tests.csproj' | sort); do
  name=$(basename "$proj" .csproj)
  echo "== $name"
  dotnet test "$proj" -c Release --no-build -nologo --logger "console;verbosity=normal" \
      --results-directory "$results/$name" 2>&1 | tee "$results/$name.log"
  rc=${PIPESTATUS[0]}
  # vstest prints either "Passed!  - Failed: F, Passed: P, Skipped: S, ..." or a block "Total tests / Passed / Failed / Skipped".
  line=$(grep -E '^(Passed|Failed)!' "$results/$name.log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$line")
    f=$(sed -E 's/.*Failed: *([0-9]+),.*/\1/' <<<"$line")
    s=$(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$line")
  elif grep -qE '^Total tests: *[0-9]+' "$results/$name.log"; then
    block=$(sed -n '/^Total tests:/,$p' "$results/$name.log")
    p=$(grep -E '^ *Passed: *[0-9]+' <<<"$block" | head -1 | grep -oE '[0-9]+' || true)
    f=$(grep -E '^ *Failed: *[0-9]+' <<<"$block" | head -1 | grep -oE '[0-9]+' || true)
    s=$(grep -E '^ *Skipped: *[0-9]+' <<<"$block" | head -1 | grep -oE '[0-9]+' || true)
    p=${p:-0}; f=${f:-0}; s=${s:-0}
  else
    echo "no test summary from $name (exit $rc)"; failed=$((failed + 1)); status=1; continue
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "$name exited with $rc although no test failed (crash or host abort)"; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  [ "$rc" -eq 0 ] || status=1
done

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
