#!/usr/bin/env bash
# Issue 17's failover distribution: a transmitter process in a mesh of three is killed with SIGKILL again and again
# (25 times, or the number given); each time five cells time how long until another transmitter welcomes them, and the
# test prints p50/p90/p99/max over all of them and fails above 3 s at p99. The suite runs 3 kills.
# Usage: bench/tools/failover-kills.sh [kills]
set -euo pipefail
cd "$(dirname "$0")/../.."
export THYNAPSE_FAILOVER_KILLS="${1:-25}"
dotnet test tests/Thynapse.Fault.Tests -c Release --filter "FullyQualifiedName~FailoverDistributionTests" --logger "console;verbosity=detailed"
