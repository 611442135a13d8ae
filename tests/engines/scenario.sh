#!/usr/bin/env bash
# Runs one scenario in a bash of its own, so run.sh can bound it with `timeout` and log it to a file:
#
#   tests/engines/scenario.sh ENGINE SCENARIO RUNTIME            # the scenario, then its cleanup
#   tests/engines/scenario.sh ENGINE SCENARIO RUNTIME --cleanup  # only the cleanup (after a timeout)
#
# ENGINE is podman or containerd, RUNTIME runc or nook. run.sh exports T (temp dir), TAG (unique name),
# NOOK and RUNC (binaries). Exit status 0 when the scenario passed.
set -u

E2E_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck disable=SC2034 # RT and SCENARIO are read by the sourced scenario functions
ENGINE=${1:?engine} SCENARIO=${2:?scenario} RT=${3:?runtime}
: "${T:?T unset: run tests/engines/run.sh}" "${TAG:?}" "${NOOK:?}" "${RUNC:?}"
# shellcheck source=lib.sh
source "$E2E_DIR/lib.sh"
# shellcheck disable=SC1090
source "$E2E_DIR/$ENGINE.sh"

if [[ "${4:-}" == --cleanup ]]; then
	"${ENGINE}_scenario_cleanup"
	exit 0
fi
"${ENGINE}_${SCENARIO}"
rc=$?
"${ENGINE}_scenario_cleanup"
exit "$rc"
