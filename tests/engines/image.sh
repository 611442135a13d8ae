#!/usr/bin/env bash
# Builds the test image from the host's static busybox, with nothing downloaded:
#   OUT/rootfs.tar  a tiny root filesystem (bin/busybox + one symlink per applet, etc/passwd and group with
#                   root, user 1000 and nobody, the usual empty mount points), for `podman import`
#   OUT/oci.tar     the same filesystem as a one-layer OCI image archive (oci-layout, index.json, blobs),
#                   named IMAGE_NAME, for `ctr image import`
#
#   tests/engines/image.sh OUT IMAGE_NAME
#
# The tarball is reproducible (sorted names, numeric owners, mtime 0), so the layer digest only changes with busybox.
set -euo pipefail

out=${1:?usage: image.sh OUT IMAGE_NAME}
name=${2:?usage: image.sh OUT IMAGE_NAME}
busybox=${BUSYBOX:-/bin/busybox}

# busybox-static's /bin/busybox is static; the dynamic one from the busybox package would not run in an
# image without libc.
file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }
[[ -x "$busybox" ]] || { echo "image: $busybox missing (install busybox-static)" >&2; exit 1; }
file_is_static "$busybox" || { echo "image: $busybox is dynamically linked (install busybox-static)" >&2; exit 1; }

mkdir -p "$out"
root="$out/rootfs"
rm -rf "$root"
mkdir -p "$root"/{bin,etc,dev,proc,sys,tmp,run,root,var/tmp,home/user}
chmod 1777 "$root/tmp" "$root/var/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:1000:user:/home/user:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'user:x:1000:' 'nogroup:x:65534:' >"$root/etc/group"
chown 1000:1000 "$root/home/user"
# Run as root, so the files are owned by 0 except home/user (1000), as in the tarball.
tar --sort=name --numeric-owner --mtime=@0 -C "$root" -cf "$out/rootfs.tar" .

# The OCI image layout, by hand: every blob is named by the sha256 of its exact bytes.
layout="$out/oci"
rm -rf "$layout"
mkdir -p "$layout/blobs/sha256"
put_blob() { # put_blob FILE -> prints "sha256:<hex> <size>"
	local hex size
	hex=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$layout/blobs/sha256/$hex"
	echo "sha256:$hex $size"
}
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

cp "$out/rootfs.tar" "$layout/layer.tmp"
read -r layer_digest layer_size < <(put_blob "$layout/layer.tmp")

jq -cn --arg arch "$arch" --arg diff "$layer_digest" '{
	architecture: $arch, os: "linux",
	config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"]},
	rootfs: {type: "layers", diff_ids: [$diff]},
	history: [{created_by: "tests/engines/image.sh: static busybox"}]
}' >"$layout/config.tmp"
read -r config_digest config_size < <(put_blob "$layout/config.tmp")

jq -cn --arg cd "$config_digest" --argjson cs "$config_size" --arg ld "$layer_digest" --argjson ls "$layer_size" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
	layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $ld, size: $ls}]
}' >"$layout/manifest.tmp"
read -r manifest_digest manifest_size < <(put_blob "$layout/manifest.tmp")

# ctr names the image after io.containerd.image.name; other tools read the OCI ref.name (the tag).
jq -cn --arg md "$manifest_digest" --argjson ms "$manifest_size" --arg name "$name" --arg arch "$arch" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [{
		mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
		platform: {architecture: $arch, os: "linux"},
		annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": ($name | sub(".*:"; ""))}
	}]
}' >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$layout" -cf "$out/oci.tar" oci-layout index.json blobs
echo "image: $out/rootfs.tar and $out/oci.tar ($name, layer $layer_digest)"
