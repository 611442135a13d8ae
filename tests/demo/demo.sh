#!/usr/bin/env bash
# make demo: a real container from a bundle made on the fly from /bin/busybox.
# It prints, from inside the container, its hostname, id, ps (its own PID 1)
# and its mounts, then removes everything it made.
set -euo pipefail
nook=${NOOK:-$(pwd)/nook}
work=$(mktemp -d /tmp/nook-demo.XXXXXX)
root=$work/state
id=nook-demo-$$
cleanup() {
	"$nook" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

bundle=$work/bundle
mkdir -p "$bundle/rootfs"/{bin,proc,dev,sys,tmp,etc,root}
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$bundle/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$bundle/rootfs/etc/passwd"
echo 'root:x:0:' >"$bundle/rootfs/etc/group"

"$nook" spec --bundle "$bundle"
# `nook spec` writes runc's interactive default; the demo runs a script instead.
jq '.process.terminal = false
  | .hostname = "nook-demo"
  | .process.args = ["sh", "-c", "echo \"hostname: $(hostname)\"; echo \"id: $(id)\"; echo; ps; echo; mount"]' \
	"$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

echo "== nook run (bundle $bundle) =="
"$nook" --root "$root" run --bundle "$bundle" "$id"
echo "== container exited with status $?; state root after run: $(ls -A "$root" | wc -l) entries =="
