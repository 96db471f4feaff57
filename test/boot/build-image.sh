#!/bin/bash
# Builds (once, then cached) the boot lab's Debian 12 guest: a debootstrap root from the Debian
# mirror with what a vSphere template for vsphere-spark carries (systemd, udev, the cloud kernel,
# cloud-init, netplan, open-vm-tools, containerd, curl), plus the lab's stand-ins from
# test/boot/guest/ (each one says in its header that it is a stand-in). Nothing is downloaded from
# anywhere but the Debian mirror: the one this machine's apt uses, or $VSPHERE_SPARK_DEBIAN_MIRROR
# (debian-mirror.sh; no address is written here).
#
# HAProxy is not in the image: the load balancer's bootstrap installs it, as from a template's
# internal mirror. Its packages (those the root lacks) are downloaded here from the Debian mirror into
# a flat repository the lab serves on the gateway address; the template's apt source points there.
#
# Output (printed on stdout): a folder with disk.raw (ext4, no partition table), vmlinuz, initrd.img,
# and mirror/ (that repository).
#
# VSPHERE_SPARK_BOOT_K8S=<folder> (real-kubeadm.boot.ts; the folder test/boot/real-k8s.ts writes):
# the variant with the REAL kubeadm, kubelet, kubectl and crictl from <folder>/bin, the kubelet package's unit
# and kubeadm's drop-in (guest-kubeadm/, from kubernetes/release's packaging), and the control plane's
# images (<folder>/images/*.tar) with the registry's stand-in that imports them at boot, instead of
# the stand-ins. Its own cache entry (the folder's name is keyed by its inputs), on a larger disk.
# Cache: $VSPHERE_SPARK_BOOT_CACHE, default test/boot/.cache (gitignored).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=debian-mirror.sh
. "$here/debian-mirror.sh"
mirror=$(debian_mirror)
cache=${VSPHERE_SPARK_BOOT_CACHE:-$here/.cache}
mkdir -p "$cache"

packages=systemd,systemd-sysv,systemd-resolved,udev,dbus,kmod,procps,linux-image-cloud-amd64,cloud-init,python3-cffi-backend,locales,netplan.io,open-vm-tools,iproute2,curl,ca-certificates,gnupg,containerd
base_key=$(printf '%s\n' "bookworm" "$mirror" "$packages" "$(sed -n '/^# base-begin/,/^# base-end/p' "$0")" | sha256sum | cut -c1-16)
base=$cache/rootfs-$base_key
log() { echo "build-image: $*" >&2; }

mirror_dir=$cache/mirror-$base_key

if [ ! -f "$base/.complete" ]; then
  rm -rf "$base" "$base.tmp" "$mirror_dir" "$mirror_dir.tmp"
  log "debootstrap bookworm into $base (Debian mirror $mirror)"
  t0=$(date +%s)
  debootstrap --variant=minbase --include="$packages" bookworm "$base.tmp" "$mirror" >"$cache/debootstrap-$base_key.log" 2>&1 \
    || { tail -n 30 "$cache/debootstrap-$base_key.log" >&2; exit 1; }
# base-begin
  r=$base.tmp
  echo "en_US.UTF-8 UTF-8" >"$r/etc/locale.gen"
  chroot "$r" locale-gen >/dev/null
  echo 'LANG=en_US.UTF-8' >"$r/etc/default/locale"
  printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$r/etc/fstab"
  echo template >"$r/etc/hostname"
  # Only the guestinfo (VMware) datasource, as the README asks of a template.
  printf 'datasource_list: [ VMware, None ]\n' >"$r/etc/cloud/cloud.cfg.d/90-vsphere-spark-template.cfg"
  chroot "$r" systemctl enable systemd-networkd systemd-resolved >/dev/null 2>&1
  # The lab mirror: HAProxy and what it needs beyond this root, as a flat repository (Packages and
  # Release written here; unsigned, so the template's source says trusted=yes).
  # (the root's resolv.conf points at systemd-resolved, which does not run in a chroot: the host's meanwhile)
  mv "$r/etc/resolv.conf" "$r/etc/resolv.conf.template"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  chroot "$r" apt-get -q update >/dev/null
  chroot "$r" apt-get clean # debootstrap's own downloads: the root has them
  chroot "$r" apt-get -q install --download-only -y --no-install-recommends haproxy >/dev/null
  rm -f "$r/etc/resolv.conf"
  mv "$r/etc/resolv.conf.template" "$r/etc/resolv.conf"
  m=$mirror_dir.tmp
  mkdir -p "$m"
  mv "$r"/var/cache/apt/archives/*.deb "$m/"
  (cd "$m" && for d in *.deb; do
    dpkg-deb -f "$d"
    printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$d" "$(stat -c %s "$d")" "$(sha256sum "$d" | cut -d' ' -f1)"
  done) >"$m/Packages"
  printf 'Origin: vsphere-spark boot lab\nLabel: lab-mirror\nDate: %s\nSHA256:\n %s %s Packages\n' \
    "$(date -Ru)" "$(sha256sum "$m/Packages" | cut -d' ' -f1)" "$(stat -c %s "$m/Packages")" >"$m/Release"
  echo "deb [trusted=yes] http://192.168.1.254/ ./" >"$r/etc/apt/sources.list"
  chroot "$r" apt-get clean
  rm -rf "$r/var/lib/apt/lists/"*
# base-end
  mv "$mirror_dir.tmp" "$mirror_dir"
  mv "$base.tmp" "$base"
  touch "$base/.complete"
  log "debootstrap done in $(( $(date +%s) - t0 )) s"
fi

# The lab layer: stand-ins and the report collector, keyed by their content.
k8s=${VSPHERE_SPARK_BOOT_K8S:-}
lab_key=$(cd "$here/guest" && { echo "$base_key"; find . -type f | LC_ALL=C sort | xargs sha256sum
  if [ -n "$k8s" ]; then echo "real: $(basename "$k8s")"; (cd "$here/guest-kubeadm" && find . -type f | LC_ALL=C sort | xargs sha256sum); fi
} | sha256sum | cut -c1-16)
if [ -n "$k8s" ]; then
  [ -f "$k8s/.complete" ] || { log "VSPHERE_SPARK_BOOT_K8S=$k8s: not a finished payload (test/boot/real-k8s.ts)"; exit 1; }
  out=$cache/image-kubeadm-$lab_key
else
  out=$cache/image-$lab_key
fi
if [ ! -f "$out/.complete" ]; then
  rm -rf "$out" && mkdir -p "$out"
  root=$out/root
  log "assembling $out"
  cp -a "$base" "$root"
  rm -f "$root/.complete"
  # The stand-in guestinfo channel replaces open-vm-tools' vmware-rpctool (diverted, not deleted).
  chroot "$root" dpkg-divert --quiet --local --rename --add /usr/bin/vmware-rpctool
  install -m 0755 "$here/guest/vmware-rpctool" "$root/usr/bin/vmware-rpctool"
  if [ -n "$k8s" ]; then
    # The real tools, where the packages put them (installMode: preinstalled), with the kubelet
    # package's unit and kubeadm's drop-in; the images and the registry's stand-in that imports them.
    for t in kubeadm kubelet kubectl; do install -m 0755 "$k8s/bin/$t" "$root/usr/bin/$t"; done
    # crictl, as the cri-tools package kubeadm's depends on puts it, with its configuration.
    install -m 0755 "$k8s/bin/crictl" "$root/usr/bin/crictl"
    install -m 0644 "$here/guest-kubeadm/crictl.yaml" "$root/etc/crictl.yaml"
    install -m 0644 "$here/guest-kubeadm/kubelet.service" "$root/lib/systemd/system/kubelet.service"
    install -D -m 0644 "$here/guest-kubeadm/10-kubeadm.conf" "$root/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"
    install -d "$root/var/lib/lab-images"
    cp "$k8s"/images/*.tar "$root/var/lib/lab-images/"
    install -m 0755 "$here/guest-kubeadm/lab-registry" "$root/usr/local/sbin/lab-registry"
    install -m 0644 "$here/guest-kubeadm/lab-registry.service" "$root/etc/systemd/system/lab-registry.service"
    ln -sf /etc/systemd/system/lab-registry.service "$root/etc/systemd/system/multi-user.target.wants/lab-registry.service"
    install -D -m 0755 "$here/guest-kubeadm/lab-report-kubeadm" "$root/usr/local/lib/lab-report.d/kubeadm"
  else
    # Recording stand-ins for the Kubernetes tools (installMode: preinstalled puts them in /usr/bin).
    for t in kubeadm kubelet kubectl; do install -m 0755 "$here/guest/k8s-standin" "$root/usr/bin/$t"; done
    install -m 0644 "$here/guest/kubelet.service" "$root/lib/systemd/system/kubelet.service"
  fi
  install -m 0755 "$here/guest/lab-report" "$root/usr/local/sbin/lab-report"
  install -m 0755 "$here/guest/lab-haproxy-watch" "$root/usr/local/sbin/lab-haproxy-watch"
  install -m 0644 "$here/guest/lab-report.service" "$root/etc/systemd/system/lab-report.service"
  ln -sf /etc/systemd/system/lab-report.service "$root/etc/systemd/system/multi-user.target.wants/lab-report.service"
  echo qemu_fw_cfg >"$root/etc/modules-load.d/lab-fw-cfg.conf"
  cp -a "$mirror_dir" "$out/mirror"
  cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
  cp "$root"/boot/initrd.img-* "$out/initrd.img"
  # (the real variant: about 1.5 GB of binaries and images, unpacked again by containerd, and room
  # for the kubelet's disk-pressure thresholds; the file is sparse)
  mkfs.ext4 -q -F -L root -d "$root" "$out/disk.raw" "$([ -n "$k8s" ] && echo 12G || echo 3G)" >&2
  rm -rf "$root"
  touch "$out/.complete"
fi
echo "$out"
