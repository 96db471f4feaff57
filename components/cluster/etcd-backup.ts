/**
 * etcd snapshots on a schedule (`vsphere-spark:kubernetes.etcdBackup`): the settings and their rules,
 * and what every control plane's first-boot user-data carries for them: one Python script
 * (ETCD_SNAPSHOT_SCRIPT, run verbatim by the real-systems lab against a real 3-member etcd,
 * test/lab/etcd-snapshot.lab.ts), a systemd service and timer, and for an NFS destination a mount unit.
 *
 * Who snapshots: every control plane, its own member (https://127.0.0.1:2379), into its own
 * subdirectory. No coordination between nodes is needed, leadership changes do not matter, and the
 * loss of any one node (or of the NFS server, for the local copies) leaves the others' snapshots.
 * A member without a leader (partitioned, or the cluster below quorum) is skipped: its data may be
 * stale. Each snapshot records the member's revision, raft index and leader next to it (`.json`).
 *
 * How (etcd v3.6.16; control planes carry no etcdctl, python3 is there wherever cloud-init runs):
 * - POST /v3/maintenance/status on the local member (leader, revision, raftIndex), then
 *   POST /v3/maintenance/snapshot through the v3 JSON gateway: a server stream of SnapshotResponse
 *   messages. etcd-io/etcd server/etcdserver/api/v3rpc/maintenance.go `Snapshot`: the database in
 *   32 KiB blobs, then one last message whose blob is the SHA-256 of everything sent before.
 *   The script writes all blobs in order, as `etcdctl snapshot save` does.
 * - Verified before it counts (and `verify FILE` for any file): etcd-io/etcd etcdutl/snapshot/
 *   v3_snapshot.go `hasChecksum` (size % 512 == 32: "has appended sha256 hash digest") and the
 *   restore's check that those last 32 bytes are the SHA-256 of the rest; plus bbolt's first meta
 *   page (go.etcd.io/bbolt: page header of 16 bytes (id 8, flags 2 at offset 8: 0x04 for a meta page, count 2, overflow 4), then the meta with magic 0xED0CDAED).
 *   Written as `.part`, fsynced, then renamed: a file with the final name is always whole.
 * - Pruned: of this node's files (`etcd-<node>-<UTC time>-rev<revision>.db`), the newest `retain`
 *   stay in each place; stale `.part` files go too.
 */
import { ConfigReader } from "../config-reader";
import { ETCD_CLIENT_PY } from "./etcd-member";
import { calendarSpecProblem } from "./calendar";
import { BOOTSTRAP_DONE_PATH } from "./types";

export interface EtcdBackupSettings {
  enabled: boolean;
  /** systemd `OnCalendar` of the snapshots (each control plane). */
  schedule: string;
  /** Snapshots kept per node in each place (local directory, NFS). */
  retain: number;
  /** Local directory on each control plane (a subdirectory per node). */
  directory: string;
  /** An NFS export every control plane also copies each verified snapshot to (a subdirectory per node). */
  nfs?: { export: string; options: string };
}

export const DEFAULT_ETCD_BACKUP: EtcdBackupSettings = {
  enabled: true,
  schedule: "*-*-* 00/6:00:00",
  retain: 12,
  directory: "/var/lib/vsphere-spark/etcd-snapshots",
};
export const DEFAULT_NFS_OPTIONS = "hard,timeo=600,retrans=2,_netdev";

export const ETCD_SNAPSHOT_SCRIPT_PATH = "/usr/local/sbin/vsphere-spark-etcd-snapshot";
export const ETCD_SNAPSHOT_UNIT = "vsphere-spark-etcd-snapshot.service";
export const ETCD_SNAPSHOT_TIMER = "vsphere-spark-etcd-snapshot.timer";
/** Where an NFS destination is mounted (a name without dashes: its mount unit is `mnt-etcdbackup.mount`). */
export const ETCD_BACKUP_NFS_MOUNT = "/mnt/etcdbackup";
export const ETCD_BACKUP_NFS_MOUNT_UNIT = "mnt-etcdbackup.mount";

/** Exit codes of the snapshot script. */
export const ETCD_SNAPSHOT_EXIT = {
  ok: 0,
  usage: 2,
  /** The local member did not answer. */
  unreachable: 3,
  /** The local member has no leader: its data may be stale, no snapshot taken. */
  noLeader: 4,
  /** The snapshot (or the file given to `verify`) is not a whole etcd snapshot. */
  invalid: 5,
  /** The copy to the second destination failed (the local snapshot is kept). */
  copyFailed: 6,
} as const;

const ABS_PATH = /^\/[A-Za-z0-9._\/-]*$/;
const NFS_EXPORT = /^[A-Za-z0-9.-]+:\/[A-Za-z0-9._\/-]*$/;
const NFS_OPTIONS = /^[A-Za-z0-9_]+(=[A-Za-z0-9_.:\/-]+)?(,[A-Za-z0-9_]+(=[A-Za-z0-9_.:\/-]+)?)*$/;
/** Directories a snapshot directory may not be (system directories). */
const SYSTEM_DIRS = ["/", "/etc", "/usr", "/var", "/var/lib", "/boot", "/home", "/root", "/srv", "/opt", "/mnt"];
/** Trees a snapshot directory may not be in: etcd's and kubeadm's own data, kernel and temporary filesystems. */
const FORBIDDEN_TREES = ["/var/lib/etcd", "/etc/kubernetes", "/proc", "/sys", "/dev", "/run", "/tmp", ETCD_BACKUP_NFS_MOUNT];

/** Why `v` cannot be the local snapshot directory, or undefined. */
export function snapshotDirectoryProblem(v: string): string | undefined {
  if (!ABS_PATH.test(v) || v.includes("//") || /(^|\/)\.\.?(\/|$)/.test(v)) return `"${v}" is not an absolute directory path of letters, digits, ".", "_", "-" and "/"`;
  const d = v.replace(/\/+$/, "") || "/";
  if (SYSTEM_DIRS.includes(d)) return `"${v}" is a system directory: snapshots belong in a directory of their own (default ${DEFAULT_ETCD_BACKUP.directory})`;
  const tree = FORBIDDEN_TREES.find((t) => d === t || d.startsWith(`${t}/`));
  if (tree === ETCD_BACKUP_NFS_MOUNT) return `"${v}" is where the NFS destination is mounted; the local directory must be on the node's own disk`;
  if (tree === "/run" || tree === "/tmp") return `"${v}" is on a temporary filesystem: snapshots there are lost at reboot`;
  if (tree) return `"${v}" is inside ${tree}: ${tree === "/var/lib/etcd" ? "kubeadm reset empties it, and a snapshot there dies with the member it should restore" : tree === "/etc/kubernetes" ? "kubeadm owns it (kubeadm reset empties it)" : "not a place for files"}`;
  return undefined;
}

/** The settings, or the defaults where the input was unusable; every problem named by its leaf. */
export function resolveEtcdBackup(r: ConfigReader, raw: unknown, path: string): EtcdBackupSettings {
  const s: EtcdBackupSettings = { ...DEFAULT_ETCD_BACKUP };
  if (raw === undefined || raw === null) return s;
  const o = r.object(raw, path, ["enabled", "schedule", "retain", "directory", "nfs"]);
  if (!o) return s;
  s.enabled = r.boolean(o, "enabled", path, s.enabled);
  s.schedule = r.optString(o, "schedule", path, (v) => calendarSpecProblem(v, { minIntervalMinutes: 15 })) ?? s.schedule;
  s.retain = r.number(o, "retain", path, s.retain, { integer: true, min: 1, max: 1000 });
  s.directory = r.optString(o, "directory", path, snapshotDirectoryProblem)?.replace(/\/+$/, "") ?? s.directory;
  if (o.nfs !== undefined && o.nfs !== null) {
    const np = `${path}.nfs`;
    const n = r.object(o.nfs, np, ["export", "options"]);
    if (n) {
      const exp = r.requiredString(n, "export", np, (v) => (NFS_EXPORT.test(v) ? undefined : `"${v}" is not an NFS export like "nas.example.internal:/exports/etcd"`));
      const options = r.string(n, "options", np, DEFAULT_NFS_OPTIONS, (v) =>
        !NFS_OPTIONS.test(v) ? `"${v}" is not a comma-separated list of mount options like "${DEFAULT_NFS_OPTIONS}"` : /(^|,)soft(,|$)/.test(v) ? `"soft" lets a slow server truncate a snapshot copy silently; use "hard" (the default options: ${DEFAULT_NFS_OPTIONS})` : undefined,
      );
      if (exp !== undefined) s.nfs = { export: exp, options };
    }
  }
  return s;
}

/** The snapshot service: one run, only once the node's bootstrap is done. */
export function renderEtcdSnapshotUnit(nodeName: string, s: EtcdBackupSettings): string {
  const args = [
    "snapshot",
    "--endpoint https://127.0.0.1:2379",
    "--cacert /etc/kubernetes/pki/etcd/ca.crt",
    "--cert /etc/kubernetes/pki/etcd/healthcheck-client.crt",
    "--key /etc/kubernetes/pki/etcd/healthcheck-client.key",
    `--node ${nodeName}`,
    `--dir ${s.directory}`,
    `--retain ${s.retain}`,
    ...(s.nfs ? [`--copy-dir ${ETCD_BACKUP_NFS_MOUNT}`] : []),
  ];
  return [
    "# Generated by vsphere-spark: a verified snapshot of this control plane's etcd member (components/cluster/etcd-backup.ts).",
    "[Unit]",
    "Description=vsphere-spark etcd snapshot",
    "Wants=network-online.target",
    "After=network-online.target",
    `ConditionPathExists=${BOOTSTRAP_DONE_PATH}`,
    ...(s.nfs ? [`RequiresMountsFor=${ETCD_BACKUP_NFS_MOUNT}`] : []),
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${ETCD_SNAPSHOT_SCRIPT_PATH} ${args.join(" ")}`,
    "Nice=10",
    "IOSchedulingClass=idle",
    "TimeoutStartSec=30min",
    "",
  ].join("\n");
}

/** The timer: the user's schedule on every control plane, spread over 5 minutes, caught up after downtime. */
export function renderEtcdSnapshotTimer(s: EtcdBackupSettings): string {
  return [
    "# Generated by vsphere-spark: when this control plane snapshots its etcd member (vsphere-spark:kubernetes.etcdBackup.schedule).",
    "[Unit]",
    "Description=vsphere-spark etcd snapshot schedule",
    "",
    "[Timer]",
    `OnCalendar=${s.schedule}`,
    "RandomizedDelaySec=5min",
    "Persistent=true",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}

/** The NFS destination, mounted on demand by the service (`RequiresMountsFor`). */
export function renderEtcdBackupMountUnit(nfs: NonNullable<EtcdBackupSettings["nfs"]>): string {
  return [
    "# Generated by vsphere-spark: the etcd snapshots' NFS destination (vsphere-spark:kubernetes.etcdBackup.nfs).",
    "[Unit]",
    "Description=vsphere-spark etcd snapshot destination (NFS)",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Mount]",
    `What=${nfs.export}`,
    `Where=${ETCD_BACKUP_NFS_MOUNT}`,
    "Type=nfs",
    `Options=${nfs.options}`,
    "TimeoutSec=2min",
    "",
  ].join("\n");
}

export const ETCD_SNAPSHOT_SCRIPT = String.raw`#!/usr/bin/python3
"""vsphere-spark-etcd-snapshot: a verified snapshot of one etcd member, with retention.

Generated by vsphere-spark (components/cluster/etcd-backup.ts). Usage:
  vsphere-spark-etcd-snapshot snapshot --endpoint URL --node NAME --dir DIR --retain N
                              [--copy-dir DIR] [--cacert F --cert F --key F] [--timeout SECONDS]
  vsphere-spark-etcd-snapshot verify FILE
snapshot: asks the member at URL for its status (it must have a leader), streams its snapshot into
  DIR/NAME/etcd-NAME-<UTC time>-rev<revision>.db (with a .json of the member's status beside it),
  verifies it, copies it to --copy-dir/NAME/ (verified again), then keeps the newest N of this
  node's snapshots in each place.
verify: checks FILE is a whole etcd snapshot: bbolt's meta page, size % 512 == 32, and the last
  32 bytes are the SHA-256 of the rest (what etcdutl snapshot restore checks).
Exit: 0 done, 2 usage, 3 member unreachable, 4 member has no leader (nothing taken),
  5 not a whole snapshot, 6 copy to --copy-dir failed (the local snapshot is kept).
"""
${ETCD_CLIENT_PY}
import base64

SHA = 32
BOLT_MAGIC = 0xED0CDAED
BOLT_META_FLAG = 0x04


class Invalid(Exception):
    pass


def verify(path):
    """Raises Invalid unless path is a whole snapshot; returns (size, sha256 of the whole file)."""
    size = os.path.getsize(path)
    if size < 4096 + SHA:
        raise Invalid("%s: %d bytes, too small for an etcd snapshot" % (path, size))
    if size % 512 != SHA:
        raise Invalid("%s: %d bytes: no SHA-256 trailer (size %% 512 is %d, not 32): truncated or not a snapshot" % (path, size, size % 512))
    whole = hashlib.sha256()
    body = hashlib.sha256()
    left = size - SHA
    with open(path, "rb") as f:
        head = f.read(32)
        flags = struct.unpack_from("<H", head, 8)[0]
        magic = struct.unpack_from("<I", head, 16)[0]
        if flags != BOLT_META_FLAG or magic != BOLT_MAGIC:
            raise Invalid("%s: no bbolt meta page at the start (flags %#x, magic %#x)" % (path, flags, magic))
        whole.update(head)
        body.update(head)
        left -= len(head)
        while left > 0:
            chunk = f.read(min(1 << 20, left))
            if not chunk:
                raise Invalid("%s: shorter than its size" % path)
            whole.update(chunk)
            body.update(chunk)
            left -= len(chunk)
        trailer = f.read()
    whole.update(trailer)
    if body.digest() != trailer:
        raise Invalid("%s: SHA-256 of the database (%s) is not the trailer's (%s): corrupted" % (path, body.hexdigest(), trailer.hex()))
    return size, whole.hexdigest()


def fsync_dir(d):
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(d, node, retain):
    prefix = "etcd-%s-" % node
    names = sorted(n for n in os.listdir(d) if n.startswith(prefix) and n.endswith(".db"))
    for n in os.listdir(d):
        if n.startswith("." + prefix) and n.endswith(".part"):
            os.unlink(os.path.join(d, n))
    gone = names[:-retain] if len(names) > retain else []
    for n in gone:
        os.unlink(os.path.join(d, n))
        meta = os.path.join(d, n[:-3] + ".json")
        if os.path.exists(meta):
            os.unlink(meta)
    if gone:
        log("%s: removed %d old snapshot(s), kept %d" % (d, len(gone), retain))


def write_meta(path, meta):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def take(etcd, a):
    ep = a.endpoint
    try:
        st = etcd.call(ep, "/v3/maintenance/status", {})
    except Exception as e:  # noqa: BLE001 - unreachable is its own exit status
        log("%s: no status (%s)" % (ep, e))
        return 3
    leader = str(st.get("leader") or "0")
    if leader == "0":
        log("%s has no leader: its data may be stale, no snapshot taken" % ep)
        return 4
    header = st.get("header") or {}
    rev = int(header.get("revision") or 0)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = "etcd-%s-%s-rev%d.db" % (a.node, stamp, rev)
    d = os.path.join(a.dir, a.node)
    os.makedirs(d, mode=0o700, exist_ok=True)
    part = os.path.join(d, "." + name + ".part")
    final = os.path.join(d, name)
    sent = 0
    try:
        with open(part, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            for msg in etcd.stream(ep, "/v3/maintenance/snapshot", {}):
                blob = base64.b64decode(msg.get("blob") or "")
                f.write(blob)
                sent += len(blob)
            f.flush()
            os.fsync(f.fileno())
        size, digest = verify(part)
    except Invalid as e:
        log("snapshot from %s is not whole: %s" % (ep, e))
        os.unlink(part)
        return 5
    except Exception as e:  # noqa: BLE001 - a broken stream leaves no file behind
        log("snapshot from %s failed after %d bytes: %s" % (ep, sent, e))
        if os.path.exists(part):
            os.unlink(part)
        return 3
    os.rename(part, final)
    fsync_dir(d)
    meta = {"file": name, "bytes": size, "sha256": digest, "node": a.node, "endpoint": ep, "memberId": str(header.get("member_id")),
            "leader": leader, "revision": rev, "raftIndex": str(st.get("raftIndex")), "raftTerm": str(st.get("raftTerm")),
            "etcdVersion": st.get("version"), "dbSize": str(st.get("dbSize")), "takenAt": stamp}
    write_meta(final[:-3] + ".json", meta)
    log("%s: %d bytes, sha256 %s, revision %d, verified" % (final, size, digest, rev))
    prune(d, a.node, a.retain)
    if not a.copy_dir:
        return 0
    try:
        cd = os.path.join(a.copy_dir, a.node)
        os.makedirs(cd, mode=0o700, exist_ok=True)
        cpart = os.path.join(cd, "." + name + ".part")
        with open(final, "rb") as src, open(cpart, "wb") as dst:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        csize, cdigest = verify(cpart)
        if (csize, cdigest) != (size, digest):
            raise Invalid("the copy differs from %s" % final)
        os.rename(cpart, os.path.join(cd, name))
        fsync_dir(cd)
        write_meta(os.path.join(cd, name[:-3] + ".json"), meta)
        log("copied to %s, verified" % os.path.join(cd, name))
        prune(cd, a.node, a.retain)
    except Exception as e:  # noqa: BLE001 - the local snapshot stands; the failure is reported
        log("copy to %s failed: %s (the local snapshot %s is kept)" % (a.copy_dir, e, final))
        return 6
    return 0


def main():
    p = argparse.ArgumentParser(add_help=True)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--node", required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--retain", type=int, required=True)
    s.add_argument("--copy-dir")
    s.add_argument("--cacert")
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--timeout", type=float, default=60.0)
    v = sub.add_parser("verify")
    v.add_argument("file")
    a = p.parse_args()
    if a.command == "verify":
        try:
            size, digest = verify(a.file)
        except (Invalid, OSError) as e:
            log("INVALID: %s" % e)
            return 5
        print("%s: whole etcd snapshot, %d bytes, sha256 %s" % (a.file, size, digest))
        return 0
    if a.retain < 1:
        log("--retain must be at least 1")
        return 2
    try:
        etcd = Etcd(a)
    except Exception as e:  # noqa: BLE001 - without a client certificate the member cannot be asked
        log("cannot load the etcd client credentials (%s)" % e)
        return 3
    return take(etcd, a)


if __name__ == "__main__":
    sys.exit(main())
`;
