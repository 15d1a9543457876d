#!/usr/bin/env bash
# The long randomized fault-injection run (SPEC §8): `npm run bench:faults [trials]`.
# Each trial is test/faults/randomFaults.test.ts's: a mock swarm hit by SIGINT, a
# second SIGINT, SIGKILL at a random moment or at the instant the target moves,
# while the user commits; then the checks (no process left, every task in one
# folder, every agent commit reachable, every task merged exactly once).
# The test suite runs 5 trials (one of each fault); this runs many (default 40).
# A failure prints its seed: OOMPA_FAULT_SEED=<seed> OOMPA_FAULT_KIND=<fault> replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
trials="${1:-40}"
echo "== $trials randomized fault trials; load: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
OOMPA_FAULT_TRIALS="$trials" npx vitest run test/faults/randomFaults.test.ts
echo "== $trials trials in $(( $(date +%s) - start )) s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
