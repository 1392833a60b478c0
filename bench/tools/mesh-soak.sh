#!/usr/bin/env bash
# Issue 17's soak: five transmitters, one of them starved of CPU (a cgroup giving it and a busy loop a fifth of one CPU),
# with background traffic through each, for 10 minutes (or the seconds given): no death may be declared. The suite runs
# the same test for 20 s. Needs root (cgroups). Usage: bench/tools/mesh-soak.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
export THYNAPSE_SOAK_SECONDS="${1:-600}"
dotnet test tests/Thynapse.Fault.Tests -c Release --filter "FullyQualifiedName~StarvedMeshTests" --logger "console;verbosity=detailed"
