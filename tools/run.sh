#!/usr/bin/env bash
# The run command: builds and starts the one-process DeepPerception host on http://127.0.0.1:5080
# (override with DP_URLS, e.g. DP_URLS=http://0.0.0.0:8080). Data (artifacts, grain state, scratch) lives under
# ./data in the repository unless DP_DATA_DIR names another folder. Stop it with Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
urls="${DP_URLS:-http://127.0.0.1:5080}"
data="$(mkdir -p "${DP_DATA_DIR:-data}" && cd "${DP_DATA_DIR:-data}" && pwd)"
configuration="${DP_CONFIGURATION:-Release}"

echo "== building the host ($configuration)"
dotnet build src/DeepPerception.Host/DeepPerception.Host.csproj -c "$configuration" -nologo -v q
out="src/DeepPerception.Host/bin/$configuration/net10.0/linux-x64"

echo "== DeepPerception host"
echo "   listening on: $urls  (health: $urls/health/ready, status: $urls/v1/status)"
echo "   data folder:  $data  (artifacts/, grains/, work/)"
exec dotnet "$out/DeepPerception.Host.dll" --urls "$urls" --contentRoot "$(pwd)/src/DeepPerception.Host" \
  --DeepPerception:DataDirectory "$data" "$@"
