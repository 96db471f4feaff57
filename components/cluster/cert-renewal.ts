/**
 * Renewal of kubeadm's leaf certificates before they expire (`vsphere-spark:kubernetes.certificateRenewal`):
 * the settings, each control plane's daily check time, and what its first-boot user-data carries (a
 * bash script, CERT_RENEWAL_SCRIPT, run verbatim by the real-systems lab against real certificates,
 * test/lab/etcd-snapshot.lab.ts; a systemd service and timer).
 *
 * Facts it rests on (kubernetes/kubernetes):
 * - cmd/kubeadm/app/cmd/certs.go @ 035f22d7810a8970e42d60f276f71a519b174a44: `kubeadm certs renew all`
 *   renews "unconditionally, regardless of expiration date" (so the window is decided here, not by
 *   kubeadm), then says "You must restart the kube-apiserver, kube-controller-manager, kube-scheduler
 *   and etcd, so that they can use the new certificates". Without --config it reads the cluster's
 *   configuration through /etc/kubernetes/admin.conf (the kubeadm-config ConfigMap), falling back to
 *   defaults; so it runs while admin.conf is still valid, i.e. before expiry.
 * - cmd/kubeadm/app/phases/certs/renewal/manager.go @ 04791b4906602ffda5ccf9bc4c84d3329f1d7080: what it
 *   renews: every signed certificate of the PKI tree except the CAs (apiserver, apiserver-kubelet-client,
 *   apiserver-etcd-client, front-proxy-client, etcd server, peer and healthcheck-client) and the client
 *   certificates embedded in admin.conf, controller-manager.conf, scheduler.conf (super-admin.conf from
 *   1.29); kubelet.conf is excluded: the kubelet rotates its own client certificate.
 * - constants.go: those certificates live one year (`CertificateValidityPeriod`), the CAs ten.
 * - kubernetes/website content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-certs.md (Manual
 *   certificate renewal): "To restart a static Pod you can temporarily remove its manifest file from
 *   /etc/kubernetes/manifests/ and wait for 20 seconds (see the fileCheckFrequency value in
 *   KubeletConfiguration struct) ... You can then move the file back"; the script waits for the
 *   container to be gone (crictl) and the component healthy instead of fixed sleeps.
 *
 * One control plane at a time: each one's check runs at `time` plus 30 minutes per control plane
 * before it (renewalCheckTime), and a node restarts its static Pods only while every other control
 * plane's API server answers /readyz; otherwise it defers to the next day (the window leaves weeks).
 */
import { ConfigReader } from "../config-reader";
import { APISERVER_PORT } from "./types";
import { BOOTSTRAP_DONE_PATH } from "./cloud-init";

export interface CertificateRenewalSettings {
  enabled: boolean;
  /** Renew once the earliest leaf certificate expires within this many days. */
  daysBeforeExpiry: number;
  /** `HH:MM` (the guest's clock, UTC on Debian's cloud images) of the first control plane's daily check. */
  time: string;
}

export const DEFAULT_CERTIFICATE_RENEWAL: CertificateRenewalSettings = { enabled: true, daysBeforeExpiry: 30, time: "03:00" };
/** The bounds of the window: under a week leaves no room for a deferred or failed run; over 180 days renews more than twice a year for nothing. */
export const RENEWAL_WINDOW_DAYS = { min: 7, max: 180 } as const;
/** Minutes between two control planes' daily checks. */
export const RENEWAL_STAGGER_MINUTES = 30;

export const CERT_RENEWAL_SCRIPT_PATH = "/usr/local/sbin/vsphere-spark-cert-renewal";
export const CERT_RENEWAL_UNIT = "vsphere-spark-cert-renewal.service";
export const CERT_RENEWAL_TIMER = "vsphere-spark-cert-renewal.timer";
/** The certificates and kubeconfigs as they were before each renewal (one folder per run). */
export const CERT_BACKUP_DIR = "/var/lib/vsphere-spark/cert-backup";

/** Exit codes of the renewal script. */
export const CERT_RENEWAL_EXIT = {
  /** Nothing due, or renewed and every static Pod back. */
  ok: 0,
  failed: 1,
  usage: 2,
  /** No kubeadm certificate found (not a kubeadm control plane). */
  none: 3,
  /** `--check-only`: a renewal is due. */
  due: 10,
  /** Due, but another control plane is not ready (or a renewal runs): tried again at the next run. */
  deferred: 11,
} as const;

/** kubeadm's renewable leaf certificates, relative to /etc/kubernetes (renewal/manager.go). */
export const KUBEADM_LEAF_CERTIFICATES = [
  "pki/apiserver.crt",
  "pki/apiserver-kubelet-client.crt",
  "pki/apiserver-etcd-client.crt",
  "pki/front-proxy-client.crt",
  "pki/etcd/server.crt",
  "pki/etcd/peer.crt",
  "pki/etcd/healthcheck-client.crt",
] as const;
/** The kubeconfigs whose embedded client certificate kubeadm renews (not kubelet.conf). */
export const KUBEADM_RENEWED_KUBECONFIGS = ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"] as const;

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function resolveCertificateRenewal(r: ConfigReader, raw: unknown, path: string): CertificateRenewalSettings {
  const s: CertificateRenewalSettings = { ...DEFAULT_CERTIFICATE_RENEWAL };
  if (raw === undefined || raw === null) return s;
  const o = r.object(raw, path, ["enabled", "daysBeforeExpiry", "time"]);
  if (!o) return s;
  s.enabled = r.boolean(o, "enabled", path, s.enabled);
  s.daysBeforeExpiry = r.number(o, "daysBeforeExpiry", path, s.daysBeforeExpiry, { integer: true, min: RENEWAL_WINDOW_DAYS.min, max: RENEWAL_WINDOW_DAYS.max });
  s.time = r.optString(o, "time", path, (v) => (HHMM.test(v) ? undefined : `"${v}" is not a time of day like "03:00" (24-hour HH:MM)`)) ?? s.time;
  return s;
}

/** The `HH:MM` of the daily check of the control plane at `index` (0 = first): `time` + 30 min per control plane before it, around the clock. */
export function renewalCheckTime(time: string, index: number): string {
  const m = HHMM.exec(time);
  if (!m || !Number.isInteger(index) || index < 0) throw new Error(`renewalCheckTime: bad arguments ${time}, ${index}`);
  const minutes = (Number(m[1]) * 60 + Number(m[2]) + index * RENEWAL_STAGGER_MINUTES) % 1440;
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** The service: one check (and renewal when due), only once the node's bootstrap is done. */
export function renderCertRenewalUnit(s: CertificateRenewalSettings, otherControlPlanes: string[]): string {
  const others = otherControlPlanes.map((a) => ` --other-api ${a}:${APISERVER_PORT}`).join("");
  return [
    "# Generated by vsphere-spark: renews kubeadm's leaf certificates on this control plane before they expire (components/cluster/cert-renewal.ts).",
    "[Unit]",
    "Description=vsphere-spark kubeadm certificate renewal",
    "Wants=network-online.target",
    "After=network-online.target",
    `ConditionPathExists=${BOOTSTRAP_DONE_PATH}`,
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${CERT_RENEWAL_SCRIPT_PATH} --window-days ${s.daysBeforeExpiry}${others}`,
    `# Deferred (another control plane not ready) is not a failure: the next day's run tries again.`,
    `SuccessExitStatus=${CERT_RENEWAL_EXIT.deferred}`,
    "TimeoutStartSec=30min",
    "",
  ].join("\n");
}

export function renderCertRenewalTimer(s: CertificateRenewalSettings, controlPlaneIndex: number): string {
  return [
    "# Generated by vsphere-spark: this control plane's daily certificate check (vsphere-spark:kubernetes.certificateRenewal.time,",
    `# plus ${RENEWAL_STAGGER_MINUTES} minutes per control plane before it, so that two never restart their static Pods at once).`,
    "[Unit]",
    "Description=vsphere-spark kubeadm certificate renewal check",
    "",
    "[Timer]",
    `OnCalendar=*-*-* ${renewalCheckTime(s.time, controlPlaneIndex)}:00`,
    "Persistent=true",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}

/** String.raw for bash: \`\${\` gives bash's \`\${\` (in a template literal it would interpolate). */
function bash(strings: TemplateStringsArray, ...values: unknown[]): string {
  return String.raw(strings, ...values).replace(/\\\$\{/g, "${");
}

export const CERT_RENEWAL_SCRIPT = bash`#!/bin/bash
# vsphere-spark-cert-renewal: renews kubeadm's leaf certificates on this control plane before they expire.
# Generated by vsphere-spark (components/cluster/cert-renewal.ts). Usage:
#   vsphere-spark-cert-renewal --window-days N [--check-only] [--kubernetes-dir DIR] [--other-api HOST:PORT]...
# Reads the expiry of every certificate kubeadm renews (openssl); when the earliest expires within N
# days: unless --check-only, and only while every --other-api serves /readyz, copies the old files to
# ${CERT_BACKUP_DIR}/<time>/, runs kubeadm certs renew all, checks the new expiry, then restarts
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler one by one (manifest out, Pod gone,
# manifest back, healthy again).
# Prints one line on stdout: decision=<not-due|due|renewed|deferred> earliest=<file> days=<n>.
# Exit: 0 not due or renewed, 10 due (--check-only), 11 deferred, 3 no kubeadm certificate, 1 failed, 2 usage.
set -euo pipefail
log() { echo "vsphere-spark-cert-renewal: $*" >&2; }
WINDOW_DAYS=""
CHECK_ONLY=0
K=/etc/kubernetes
OTHERS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --window-days) WINDOW_DAYS=\${2:-}; shift 2 ;;
    --check-only) CHECK_ONLY=1; shift ;;
    --kubernetes-dir) K=\${2:-}; shift 2 ;;
    --other-api) OTHERS+=("\${2:-}"); shift 2 ;;
    *) log "unknown argument: $1"; exit 2 ;;
  esac
done
if ! [[ "$WINDOW_DAYS" =~ ^[0-9]+$ ]]; then log "--window-days N is required"; exit 2; fi

LEAVES=(${KUBEADM_LEAF_CERTIFICATES.join(" ")})
KUBECONFIGS=(${KUBEADM_RENEWED_KUBECONFIGS.join(" ")})

# cert_pem FILE: the certificate of a leaf file, or the client certificate embedded in a kubeconfig.
cert_pem() {
  case "$1" in
    *.conf) sed -n 's/^ *client-certificate-data: *//p' "$K/$1" | head -n 1 | base64 -d ;;
    *) cat "$K/$1" ;;
  esac
}

# scan: sets EARLIEST (seconds since the epoch), EARLIEST_NAME and FOUND over every file present.
scan() {
  local f end secs now
  EARLIEST=""
  EARLIEST_NAME=""
  FOUND=0
  now=$(date +%s)
  for f in "\${LEAVES[@]}" "\${KUBECONFIGS[@]}"; do
    [ -f "$K/$f" ] || continue
    end=$(cert_pem "$f" 2>/dev/null | openssl x509 -noout -enddate 2>/dev/null | sed 's/^notAfter=//') || end=""
    if [ -z "$end" ]; then log "$K/$f: no certificate could be read from it"; exit 1; fi
    secs=$(date -d "$end" +%s)
    FOUND=$((FOUND + 1))
    log "$f expires $(date -u -d "@$secs" +%Y-%m-%dT%H:%MZ) (in $(((secs - now) / 86400)) days)"
    if [ -z "$EARLIEST" ] || [ "$secs" -lt "$EARLIEST" ]; then EARLIEST=$secs; EARLIEST_NAME=$f; fi
  done
  if [ "$FOUND" -eq 0 ]; then log "no kubeadm certificate under $K: not a kubeadm control plane"; exit 3; fi
  DAYS_LEFT=$(((EARLIEST - now) / 86400))
  if [ $((EARLIEST - now)) -le $((WINDOW_DAYS * 86400)) ]; then DUE=1; else DUE=0; fi
}

scan
if [ "$DUE" -eq 0 ]; then
  log "not due: the earliest, $EARLIEST_NAME, expires in $DAYS_LEFT days; renewal starts $WINDOW_DAYS days before"
  echo "decision=not-due earliest=$EARLIEST_NAME days=$DAYS_LEFT"
  exit 0
fi
log "due: $EARLIEST_NAME expires in $DAYS_LEFT days (window: $WINDOW_DAYS days)"
if [ "$CHECK_ONLY" -eq 1 ]; then
  echo "decision=due earliest=$EARLIEST_NAME days=$DAYS_LEFT"
  exit 10
fi

exec 9>/run/vsphere-spark-cert-renewal.lock
if ! flock -n 9; then log "another renewal is running"; echo "decision=deferred earliest=$EARLIEST_NAME days=$DAYS_LEFT"; exit 11; fi
for o in "\${OTHERS[@]}"; do
  if ! curl -ksf --max-time 5 "https://$o/readyz" >/dev/null 2>&1; then
    log "deferred: control plane $o does not serve /readyz, and restarting this node's control plane now could leave no API server; the next run tries again"
    echo "decision=deferred earliest=$EARLIEST_NAME days=$DAYS_LEFT"
    exit 11
  fi
done

BACKUP=${CERT_BACKUP_DIR}/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BACKUP"
chmod 0700 ${CERT_BACKUP_DIR} "$BACKUP"
cp -a "$K/pki" "$BACKUP/"
for c in "\${KUBECONFIGS[@]}"; do if [ -f "$K/$c" ]; then cp -a "$K/$c" "$BACKUP/"; fi; done
log "old certificates and kubeconfigs copied to $BACKUP"
kubeadm certs renew all
scan
if [ "$DUE" -eq 1 ]; then log "after kubeadm certs renew all, $EARLIEST_NAME still expires in $DAYS_LEFT days: not restarting anything"; exit 1; fi

# Static Pods read their certificates at start: each is restarted, one at a time (kubeadm-certs.md).
export CONTAINER_RUNTIME_ENDPOINT=unix:///run/containerd/containerd.sock
PAUSED=$K/vsphere-spark/manifests-paused
mkdir -p "$PAUSED"
# A manifest left outside by a failure is moved back, whatever happens.
restore() { local m; for m in "$PAUSED"/*.yaml; do if [ -f "$m" ]; then mv "$m" "$K/manifests/"; log "moved $(basename "$m") back"; fi; done; }
trap restore EXIT
etcd_ok() { curl -sf --max-time 5 --cacert "$K/pki/etcd/ca.crt" --cert "$K/pki/etcd/healthcheck-client.crt" --key "$K/pki/etcd/healthcheck-client.key" https://127.0.0.1:2379/health | grep -q '"health":"true"'; }
apiserver_ok() { curl -ksf --max-time 5 https://127.0.0.1:${APISERVER_PORT}/readyz >/dev/null; }
controller_manager_ok() { curl -ksf --max-time 5 https://127.0.0.1:10257/healthz >/dev/null; }
scheduler_ok() { curl -ksf --max-time 5 https://127.0.0.1:10259/healthz >/dev/null; }
running() { [ -n "$(crictl ps --name "^$1\$" --state running -q 2>/dev/null)" ]; }
stopped() { ! running "$1"; }
# until_ok SECONDS DESCRIPTION COMMAND...
until_ok() {
  local deadline=$(($(date +%s) + $1)) what=$2
  shift 2
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then log "timed out: $what"; return 1; fi
    sleep 2
  done
}
restart_static_pod() {
  local name=$1 check=$2
  [ -f "$K/manifests/$name.yaml" ] || { log "no manifest for $name"; return 1; }
  mv "$K/manifests/$name.yaml" "$PAUSED/"
  until_ok 120 "$name stopped" stopped "$name"
  mv "$PAUSED/$name.yaml" "$K/manifests/"
  until_ok 300 "$name running" running "$name"
  until_ok 300 "$name healthy" "$check"
  log "$name restarted with the new certificates"
}
restart_static_pod etcd etcd_ok
restart_static_pod kube-apiserver apiserver_ok
restart_static_pod kube-controller-manager controller_manager_ok
restart_static_pod kube-scheduler scheduler_ok
log "renewed: every certificate now expires in $DAYS_LEFT days or more"
echo "decision=renewed earliest=$EARLIEST_NAME days=$DAYS_LEFT"
`;
