#!/usr/bin/env bash
# Measures MemTotal (what the kubelet reports as memory capacity) against the RAM configured for a VM.
#
# Boots Debian 12's cloud kernel (the one the kubeadm back end's nodes run) directly under QEMU TCG
# with a busybox initramfs that prints /proc/meminfo and powers off, once per memory size.
# Usage: bench/memtotal/measure.sh [sizes in MiB...]   (default 2048 4096 8192 16384 32768 65536 122880)
# Output: one JSON line per size on stdout; work files under $WORK (default /tmp/memtotal).
# Needs: apt-get (Debian's mirror), dpkg-deb, gzip, qemu-system-x86_64. Run as root or with
# write access to $WORK. QEMU allocates guest RAM lazily, so large sizes only touch what the kernel
# touches (mainly its page structures, about 1.6 % of the size).
set -euo pipefail
WORK=${WORK:-/tmp/memtotal}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(2048 4096 8192 16384 32768 65536 122880)
mkdir -p "$WORK/deb" "$WORK/root"
cd "$WORK/deb"
if ! ls linux-image-6*.deb >/dev/null 2>&1; then
  kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-6/ {print $2; exit}')
  apt-get download linux-image-cloud-amd64 "$kpkg" busybox-static >&2
fi
for d in *.deb; do dpkg-deb -x "$d" "$WORK/root"; done
kernel=$(ls "$WORK"/root/boot/vmlinuz-* | head -1)
kver=${kernel##*/vmlinuz-}
pkgver=$(dpkg-deb -f "$(ls linux-image-6*.deb | head -1)" Version)

# initramfs: busybox, an init that prints meminfo between markers and powers off
ird="$WORK/initramfs"
rm -rf "$ird" && mkdir -p "$ird/bin" "$ird/proc"
cp "$WORK/root/bin/busybox" "$ird/bin/busybox"
for a in sh mount cat poweroff sleep; do ln -sf busybox "$ird/bin/$a"; done
cat > "$ird/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
echo "@@MEMINFO-BEGIN"
cat /proc/meminfo
echo "@@MEMINFO-END"
echo "@@CMDLINE $(cat /proc/cmdline)"
poweroff -f
INIT
chmod +x "$ird/init"
# busybox's own cpio writes the archive, so the host needs no cpio package
(cd "$ird" && find . | "$WORK/root/bin/busybox" cpio -o -H newc | gzip -9) > "$WORK/initramfs.gz"

for mib in "${SIZES[@]}"; do
  log="$WORK/boot-$mib.log"
  # reserve=off: the guest RAM is mapped MAP_NORESERVE, so the host's overcommit check admits sizes
  # above its own RAM; only the pages the guest touches are ever allocated.
  timeout 900 qemu-system-x86_64 -machine q35,accel=tcg,memory-backend=ram0 -cpu max -smp 1 -m "${mib}M" \
    -object "memory-backend-ram,id=ram0,size=${mib}M,reserve=off" \
    -kernel "$kernel" -initrd "$WORK/initramfs.gz" \
    -append 'console=ttyS0 panic=-1 quiet' -nographic -no-reboot >"$log" 2>&1 || true
  total=$(awk '/@@MEMINFO-BEGIN/{on=1} on && /^MemTotal:/ {print $2; exit}' "$log" | tr -d '\r')
  if [ -z "$total" ]; then echo "no MemTotal for $mib MiB; see $log" >&2; continue; fi
  printf '{"configuredMiB": %d, "memTotalKiB": %d, "kernel": "%s", "package": "linux-image-%s %s", "machine": "qemu q35 tcg"}\n' \
    "$mib" "$total" "$kver" "$kver" "$pkgver"
done
