#!/usr/bin/env bash
# The junk flood of issue 18 (item 8), run longer than in the suite: garbage, oversized frames and a storm of HELOs
# with a wrong secret against a transmitter process, while two authenticated cells keep a steady flow. Prints the
# flow's rate and the transmitter's RSS and descriptors before, during and after. Usage: bench/tools/junk-flood.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
export THYNAPSE_FLOOD_SECONDS="${1:-60}"
dotnet test tests/Thynapse.Fault.Tests -c Release --filter "FullyQualifiedName~JunkFloodTests" --logger "console;verbosity=detailed"
