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
 * The CAs (pki/ca.crt, pki/front-proxy-ca.crt, pki/etcd/ca.crt) are checked first, on every run, and
 * a CA that has expired or expires within the window refuses the run (CERT_RENEWAL_EXIT.caExpiring):
 * nothing is backed up, renewed or restarted. Facts (kubernetes/kubernetes v1.34.4, the kubeadm the boot
 * lab runs):
 * - cmd/kubeadm/app/phases/certs/renewal/manager.go, NewManager: "we are not offering support for
 *   renewing CAs"; RenewUsingLocalCA ("CA renewal is not supported") gives every renewed leaf
 *   NotBefore = now - 5 min and, unless ClusterConfiguration.certificateValidityPeriod says otherwise,
 *   NotAfter = NotBefore + CertificateValidityPeriod (one year) in
 *   cmd/kubeadm/app/util/pkiutil/pki_helpers.go, NewSignedCert, which never clamps a leaf to its CA's
 *   NotAfter.
 * - cmd/kubeadm/app/phases/certs/certs.go, LoadCertificateAuthority -> CheckCertificatePeriodValidity:
 *   an expired CA is only a klog warning ("could not validate bounds for certificate"), and the leaves
 *   are signed with it anyway.
 * - cmd/kubeadm/app/cmd/certs.go, fetchCertificateExpirationInfo: `kubeadm certs check-expiration`
 *   lists the CAs apart (CertificateAuthorities), for the operator to act on.
 * So a renewal under a CA in its last days writes leaves that read "365 days" (this script's check
 * after the renewal would pass) and stop verifying the day the CA expires. The threshold is the
 * renewal window, not the leaves' year: a CA with more than the window left still carries renewed
 * leaves until its own expiry, which is later than the leaves due now would last without renewal, so
 * refusing then would break the control plane sooner; such a CA gets a warning line. Inside the window
 * a renewal gains at most the window's days, restarts every static Pod for it and hides the real
 * deadline; the CA must be rotated by hand (kubernetes/website
 * content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-certs.md#certificate-authority-rotation:
 * kubeadm does not rotate or replace CAs; the steps:
 * content/en/docs/tasks/tls/manual-rotation-of-ca-certificates.md @ 086d7df50b230a6dd54b81b29422872edadd859b),
 * and the refusal fails the unit every day until then.
 *
 * One control plane at a time: each one's check runs at `time` plus 30 minutes per control plane
 * before it (renewalCheckTime), and a node restarts its static Pods only while every other control
 * plane's API server answers /readyz; otherwise it defers to the next day (the window leaves weeks).
 */
import { ConfigReader } from "../config-reader";
import { APISERVER_PORT, BOOTSTRAP_DONE_PATH } from "./types";

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
  /**
   * Refused: a CA (KUBEADM_CA_CERTIFICATES) has expired or expires within the window. Nothing is
   * backed up, renewed or restarted; the CA must be rotated by hand. A failure for systemd (not in
   * SuccessExitStatus), so the unit shows failed every day until then; `--check-only` says it too.
   */
  caExpiring: 12,
} as const;

/** kubeadm's CAs, relative to /etc/kubernetes: `kubeadm certs renew` never renews them (renewal/manager.go). */
export const KUBEADM_CA_CERTIFICATES = ["pki/ca.crt", "pki/front-proxy-ca.crt", "pki/etcd/ca.crt"] as const;
/** kubeadm's leaf certificate validity, the NotAfter a renewal gives (constants.go `CertificateValidityPeriod`). */
export const LEAF_CERTIFICATE_DAYS = 365;
/** kubeadm's documented manual CA rotation (the renewal script names it when it refuses). */
export const CA_ROTATION_DOC = "https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/";

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
    `# ${CERT_RENEWAL_EXIT.caExpiring} (a CA expires within the window, nothing renewed) is a failure on purpose: the unit shows failed until the CA is rotated.`,
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
#                              [--backup-dir DIR] [--lock-file FILE]
# Reads the expiry of every certificate kubeadm renews and of its three CAs (openssl). A CA that has
# expired or expires within N days refuses the run: kubeadm certs renew never renews a CA and would sign
# leaves that stop verifying when it expires; nothing is backed up, renewed or restarted, and the log
# names the CA and the steps (rotate it by hand). Otherwise, when the earliest leaf expires within N
# days: unless --check-only, and only while every --other-api serves /readyz, copies the old files to
# ${CERT_BACKUP_DIR}/<time>/, runs kubeadm certs renew all, checks the new expiry, then restarts
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler one by one (manifest out, Pod gone,
# manifest back, healthy again).
# Prints one line on stdout: decision=<not-due|due|renewed|deferred|ca-expiring> earliest=<file> days=<n>
# (ca-expiring: the CA's file and its days left, negative once expired).
# Exit: 0 not due or renewed, 10 due (--check-only), 11 deferred, 3 no kubeadm certificate, 1 failed, 2 usage,
# ${CERT_RENEWAL_EXIT.caExpiring} refused: a CA expires within N days or has expired (also with --check-only).
set -euo pipefail
log() { echo "vsphere-spark-cert-renewal: $*" >&2; }
WINDOW_DAYS=""
CHECK_ONLY=0
K=/etc/kubernetes
OTHERS=()
BACKUP_ROOT=${CERT_BACKUP_DIR}
LOCK_FILE=/run/vsphere-spark-cert-renewal.lock
while [ $# -gt 0 ]; do
  case "$1" in
    --window-days) WINDOW_DAYS=\${2:-}; shift 2 ;;
    --check-only) CHECK_ONLY=1; shift ;;
    --kubernetes-dir) K=\${2:-}; shift 2 ;;
    --other-api) OTHERS+=("\${2:-}"); shift 2 ;;
    --backup-dir) BACKUP_ROOT=\${2:-}; shift 2 ;;
    --lock-file) LOCK_FILE=\${2:-}; shift 2 ;;
    *) log "unknown argument: $1"; exit 2 ;;
  esac
done
if ! [[ "$WINDOW_DAYS" =~ ^[0-9]+$ ]]; then log "--window-days N is required"; exit 2; fi

LEAVES=(${KUBEADM_LEAF_CERTIFICATES.join(" ")})
KUBECONFIGS=(${KUBEADM_RENEWED_KUBECONFIGS.join(" ")})
CAS=(${KUBEADM_CA_CERTIFICATES.join(" ")})
# kubeadm's leaf validity: a renewal sets NotAfter to now + this, whatever the CA's NotAfter.
LEAF_DAYS=${LEAF_CERTIFICATE_DAYS}
# kubeadm's documented manual CA rotation, named when a CA refuses the run.
CA_DOC=${CA_ROTATION_DOC}

# cert_pem FILE: the certificate of a leaf file, or the client certificate embedded in a kubeconfig.
cert_pem() {
  case "$1" in
    *.conf) sed -n 's/^ *client-certificate-data: *//p' "$K/$1" | head -n 1 | base64 -d ;;
    *) cat "$K/$1" ;;
  esac
}

# not_after FILE: its certificate's notAfter in seconds since the epoch; exits 1 when none can be read.
not_after() {
  local end
  end=$(cert_pem "$1" 2>/dev/null | openssl x509 -noout -enddate 2>/dev/null | sed 's/^notAfter=//') || end=""
  if [ -z "$end" ]; then log "$K/$1: no certificate could be read from it"; exit 1; fi
  date -d "$end" +%s
}

utc() { date -u -d "@$1" +%Y-%m-%dT%H:%MZ; }

# scan: sets EARLIEST (seconds since the epoch), EARLIEST_NAME and FOUND over every file present.
scan() {
  local f secs now
  EARLIEST=""
  EARLIEST_NAME=""
  FOUND=0
  now=$(date +%s)
  for f in "\${LEAVES[@]}" "\${KUBECONFIGS[@]}"; do
    [ -f "$K/$f" ] || continue
    secs=$(not_after "$f")
    FOUND=$((FOUND + 1))
    log "$f expires $(utc "$secs") (in $(((secs - now) / 86400)) days)"
    if [ -z "$EARLIEST" ] || [ "$secs" -lt "$EARLIEST" ]; then EARLIEST=$secs; EARLIEST_NAME=$f; fi
  done
  if [ "$FOUND" -eq 0 ]; then log "no kubeadm certificate under $K: not a kubeadm control plane"; exit 3; fi
  DAYS_LEFT=$(((EARLIEST - now) / 86400))
  if [ $((EARLIEST - now)) -le $((WINDOW_DAYS * 86400)) ]; then DUE=1; else DUE=0; fi
}

# check_cas: logs every CA's expiry (CA_NAME, CA_DAYS: the earliest); a CA that has expired or expires
# within the window refuses the whole run here, before anything is locked, copied, renewed or restarted.
check_cas() {
  local f secs now left refused=0 earliest=""
  now=$(date +%s)
  CA_NAME=""
  CA_DAYS=""
  for f in "\${CAS[@]}"; do
    if [ ! -f "$K/$f" ]; then log "CA $f: not present"; continue; fi
    secs=$(not_after "$f")
    left=$(((secs - now) / 86400))
    if [ "$secs" -le "$now" ]; then
      left=$((-((now - secs) / 86400)))
      log "REFUSED: the CA $K/$f expired on $(utc "$secs") ($((-left)) days ago)"
      refused=1
    elif [ $((secs - now)) -le $((WINDOW_DAYS * 86400)) ]; then
      log "REFUSED: the CA $K/$f expires on $(utc "$secs"), in $left days, within the $WINDOW_DAYS-day renewal window"
      refused=1
    elif [ $((secs - now)) -lt $((LEAF_DAYS * 86400)) ]; then
      log "CA $f expires $(utc "$secs") (in $left days), before certificates renewed now would ($LEAF_DAYS days): they stop verifying on that date; rotate this CA before (see $CA_DOC)"
    else
      log "CA $f expires $(utc "$secs") (in $left days)"
    fi
    if [ -z "$earliest" ] || [ "$secs" -lt "$earliest" ]; then earliest=$secs; CA_NAME=$f; CA_DAYS=$left; fi
  done
  [ "$refused" -eq 1 ] || return 0
  log "nothing was backed up, renewed or restarted: kubeadm certs renew never renews a CA, and leaves it signs now would stop verifying when the CA expires (kubeadm only warns)"
  log "to do: rotate the CA by hand on every node, control planes one at a time, as kubeadm documents it: $CA_DOC (sudo kubeadm certs check-expiration lists the CAs)"
  log "a CA vsphere-spark created lives in its Pulumi stack (the KubeadmBootstrap's tls.SelfSignedCert resources ...-ca, ...-front-proxy-ca, ...-etcd-ca, 10 years) and the program does not rotate it into a running cluster: before it expires, either build a new cluster on a new stack and move the workloads, or rotate it by hand as above"
  log "after a rotation by hand the stack still holds the old CA: add no node with it (new nodes get the old CA files and CA hash; the exported kubeconfig trusts the old CA), and a pulumi up after the old CA's expiry replaces it (tls provider: ready_for_renewal) with a new CA the cluster does not know"
  log "this check fails every day until the CA is rotated; once it is, the next run renews the leaves as usual"
  echo "decision=ca-expiring earliest=$CA_NAME days=$CA_DAYS"
  exit ${CERT_RENEWAL_EXIT.caExpiring}
}

scan
check_cas
CAS_NOTE="the earliest CA, \${CA_NAME:-none present}, expires in \${CA_DAYS:-?} days"
if [ "$DUE" -eq 0 ]; then
  log "not due: the earliest, $EARLIEST_NAME, expires in $DAYS_LEFT days; renewal starts $WINDOW_DAYS days before; $CAS_NOTE"
  echo "decision=not-due earliest=$EARLIEST_NAME days=$DAYS_LEFT"
  exit 0
fi
log "due: $EARLIEST_NAME expires in $DAYS_LEFT days (window: $WINDOW_DAYS days); $CAS_NOTE"
if [ "$CHECK_ONLY" -eq 1 ]; then
  echo "decision=due earliest=$EARLIEST_NAME days=$DAYS_LEFT"
  exit 10
fi

exec 9>"$LOCK_FILE"
if ! flock -n 9; then log "another renewal is running"; echo "decision=deferred earliest=$EARLIEST_NAME days=$DAYS_LEFT"; exit 11; fi
for o in "\${OTHERS[@]}"; do
  if ! curl -ksf --max-time 5 "https://$o/readyz" >/dev/null 2>&1; then
    log "deferred: control plane $o does not serve /readyz, and restarting this node's control plane now could leave no API server; the next run tries again"
    echo "decision=deferred earliest=$EARLIEST_NAME days=$DAYS_LEFT"
    exit 11
  fi
done

BACKUP=$BACKUP_ROOT/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BACKUP"
chmod 0700 "$BACKUP_ROOT" "$BACKUP"
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
