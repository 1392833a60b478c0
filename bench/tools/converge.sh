#!/usr/bin/env bash
# Issue 17's convergence figures with transmitter processes: meshes of 3 and 8 thynapse-transmitter processes (or the
# sizes given, comma-separated); each join (the mesh grown from a seed, then 10 leave-and-join rounds) is timed until a
# cell on every other member lists the new one, and 22 directory changes (a join, 20 META, a leave) until a WTCH on every
# other member has each. Prints p50/p99/max and fails above 1 s at p99. The suite runs 3 processes, 2 rounds, and holds
# the medians to a second.
# Usage: bench/tools/converge.sh [sizes] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
export THYNAPSE_CONVERGE_SIZES="${1:-3,8}"
export THYNAPSE_CONVERGE_REJOINS="${2:-10}"
export THYNAPSE_CONVERGE_P99=1
dotnet test tests/Thynapse.Fault.Tests -c Release --filter "FullyQualifiedName~ConvergenceFaultTests" --logger "console;verbosity=detailed"
