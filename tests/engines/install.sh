#!/usr/bin/env bash
# Installs the engines the end-to-end tests drive, from Debian 12's own packages, if they are missing:
#   podman      podman 4.3 (pulls golang-github-containers-common: default containers.conf, policy.json)
#   conmon      podman's container monitor (it runs the runtime's create/start/exec)
#   containerd  containerd 1.6 with ctr and containerd-shim-runc-v2 (the runc v2 shim that runs nook)
# plus what the scenarios use: runc (the reference), busybox-static (the image), jq (OCI layout and
# runtime state), util-linux's script (a pty for the --tty scenarios).
#
# Without Recommends: as root with --network none podman needs neither slirp4netns, uidmap, fuse-overlayfs
# (the kernel's overlayfs works as root) nor netavark; buildah and catatonit are not used.
# Quiet and idempotent: nothing is run when everything is there. Prints the time it took on stdout.
set -euo pipefail

PKGS=(podman conmon containerd runc busybox-static jq bsdutils)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "install: nothing to do (${PKGS[*]} present)"
	exit 0
fi

start=$(date +%s%3N)
echo "install: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/nook-e2e-apt.XXXXXX)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "install: apt-get failed" >&2
	exit 1
fi
rm -f "$log"
end=$(date +%s%3N)
d=$((end - start))
printf 'install: done in %d.%ds\n' $((d / 1000)) $(((d % 1000) / 100))
