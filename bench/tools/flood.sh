#!/usr/bin/env bash
# The flood fault tests of issue 15 (findings 11 and 12), run longer than in the suite: connections that never read
# against a steady flow, and connect floods under a low descriptor limit. Usage: bench/tools/flood.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
export THYNAPSE_FLOOD_SECONDS="${1:-60}"
dotnet test tests/Thynapse.Fault.Tests -c Release --filter "FullyQualifiedName~FloodFaultTests" --logger "console;verbosity=detailed"
