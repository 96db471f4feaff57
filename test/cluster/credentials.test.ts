/**
 * Certificate renewal and etcd snapshots as rendered into the control planes' user-data: the settings'
 * rules (each bad value named by its leaf key, with a negative control), the calendar validator held
 * against systemd's own parser, the units against `systemd-analyze verify`, the scripts against
 * shellcheck / python3, and which nodes carry what.
 */
import * as assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { resolveKubernetesSettings } from "../../components/cluster/settings";
import { calendarSpecProblem } from "../../components/cluster/calendar";
import {
  CERT_RENEWAL_SCRIPT, CERT_RENEWAL_SCRIPT_PATH, CERT_RENEWAL_TIMER, DEFAULT_CERTIFICATE_RENEWAL, renderCertRenewalTimer, renderCertRenewalUnit, renewalCheckTime,
} from "../../components/cluster/cert-renewal";
import {
  DEFAULT_ETCD_BACKUP, ETCD_BACKUP_NFS_MOUNT, ETCD_BACKUP_NFS_MOUNT_UNIT, ETCD_SNAPSHOT_SCRIPT, ETCD_SNAPSHOT_SCRIPT_PATH, ETCD_SNAPSHOT_TIMER,
  renderEtcdBackupMountUnit, renderEtcdSnapshotTimer, renderEtcdSnapshotUnit,
} from "../../components/cluster/etcd-backup";
import { BOOTSTRAP_SCRIPT_PATH, basePackages } from "../../components/cluster/cloud-init";
import { renderNode } from "../../components/cluster/topology";
import { caCertHash } from "../../components/cluster/pki";
import { decideStack } from "../../src/config/decisions";
import { referenceSpec, requireTool, samplePki, tmpDir } from "./helpers";

const run = promisify(execFile);
const K = "vsphere-spark:kubernetes";

function errorsOf(raw: unknown): Array<{ path: string; message: string }> {
  return resolveKubernetesSettings(raw, K).errors;
}

describe("credentials over time: settings", () => {
  it("defaults: renewal 30 days before expiry at 03:00, snapshots every 6 hours, 12 kept, local directory only", () => {
    const { settings, errors } = resolveKubernetesSettings(undefined, K);
    assert.deepEqual(errors, []);
    assert.deepEqual(settings.certificateRenewal, DEFAULT_CERTIFICATE_RENEWAL);
    assert.deepEqual(settings.etcdBackup, DEFAULT_ETCD_BACKUP);
    assert.equal(calendarSpecProblem(DEFAULT_ETCD_BACKUP.schedule, { minIntervalMinutes: 15 }), undefined);
  });

  it("good values are taken as given", () => {
    const { settings, errors } = resolveKubernetesSettings(
      { certificateRenewal: { daysBeforeExpiry: 45, time: "22:15" }, etcdBackup: { schedule: "Mon..Fri 02:00", retain: 30, directory: "/srv/etcd-snapshots/", nfs: { export: "nas.example.internal:/exports/etcd" } } },
      K,
    );
    assert.deepEqual(errors, []);
    assert.equal(settings.certificateRenewal.daysBeforeExpiry, 45);
    assert.equal(settings.etcdBackup.directory, "/srv/etcd-snapshots");
    assert.deepEqual(settings.etcdBackup.nfs, { export: "nas.example.internal:/exports/etcd", options: "hard,timeo=600,retrans=2,_netdev" });
  });

  // Each bad value, the leaf key it is reported at, and a word of the message.
  const BAD: Array<[string, unknown, string, RegExp]> = [
    ["window below a week", { certificateRenewal: { daysBeforeExpiry: 3 } }, "certificateRenewal.daysBeforeExpiry", /at least 7|>= 7|7/],
    ["window above 180 days", { certificateRenewal: { daysBeforeExpiry: 365 } }, "certificateRenewal.daysBeforeExpiry", /180/],
    ["window not a whole number", { certificateRenewal: { daysBeforeExpiry: 30.5 } }, "certificateRenewal.daysBeforeExpiry", /integer|whole/],
    ["time not HH:MM", { certificateRenewal: { time: "3am" } }, "certificateRenewal.time", /HH:MM/],
    ["time 24:00", { certificateRenewal: { time: "24:00" } }, "certificateRenewal.time", /HH:MM/],
    ["unknown renewal key", { certificateRenewal: { window: 30 } }, "certificateRenewal.window", /unknown|not a known|did you mean/i],
    ["schedule typo", { etcdBackup: { schedule: "dayly" } }, "etcdBackup.schedule", /calendar/],
    ["schedule every minute", { etcdBackup: { schedule: "*-*-* *:*:00" } }, "etcdBackup.schedule", /every 1 minutes|at least 15/],
    ["schedule with a time zone", { etcdBackup: { schedule: "*-*-* 03:00:00 Europe/Berlin" } }, "etcdBackup.schedule", /time zone/],
    ["retain 0", { etcdBackup: { retain: 0 } }, "etcdBackup.retain", /1/],
    ["relative directory", { etcdBackup: { directory: "snapshots" } }, "etcdBackup.directory", /absolute/],
    ["directory inside /var/lib/etcd", { etcdBackup: { directory: "/var/lib/etcd/snap" } }, "etcdBackup.directory", /kubeadm reset/],
    ["directory on tmpfs", { etcdBackup: { directory: "/run/etcd" } }, "etcdBackup.directory", /temporary/],
    ["directory /var", { etcdBackup: { directory: "/var" } }, "etcdBackup.directory", /system directory/],
    ["directory the NFS mount", { etcdBackup: { directory: `${ETCD_BACKUP_NFS_MOUNT}/x` } }, "etcdBackup.directory", /NFS/],
    ["nfs without export", { etcdBackup: { nfs: {} } }, "etcdBackup.nfs.export", /required/],
    ["nfs export not host:/path", { etcdBackup: { nfs: { export: "nas/exports" } } }, "etcdBackup.nfs.export", /NFS export/],
    ["nfs soft mount", { etcdBackup: { nfs: { export: "nas:/e", options: "soft,timeo=10" } } }, "etcdBackup.nfs.options", /soft/],
    ["enabled not a boolean", { etcdBackup: { enabled: "yes" } }, "etcdBackup.enabled", /boolean|true or false/],
  ];
  for (const [what, raw, leaf, msg] of BAD) {
    it(`refuses ${what}, naming ${K}.${leaf}`, () => {
      const errs = errorsOf(raw);
      const e = errs.find((x) => x.path === `${K}.${leaf}`);
      assert.ok(e, `expected an error at ${K}.${leaf}, got ${JSON.stringify(errs)}`);
      assert.match(e.message, msg);
    });
  }

  it("reports every problem at once", () => {
    const errs = errorsOf({ certificateRenewal: { daysBeforeExpiry: 1, time: "x" }, etcdBackup: { retain: -1, schedule: "never" } });
    assert.deepEqual(errs.map((e) => e.path).sort(), [`${K}.certificateRenewal.daysBeforeExpiry`, `${K}.certificateRenewal.time`, `${K}.etcdBackup.retain`, `${K}.etcdBackup.schedule`]);
  });

  it("on a Tanzu stack both keys are refused by name (the Supervisor runs its own control plane)", () => {
    for (const key of ["certificateRenewal", "etcdBackup"]) {
      const r = decideStack({ "vsphere-spark:backend": "tanzu", [K]: JSON.stringify({ [key]: { enabled: false } }) });
      assert.ok(r.errors.some((e) => e.path === `${K}.${key}` && /only used with/.test(e.message)), JSON.stringify(r.errors));
    }
  });
});

describe("credentials over time: calendar events against systemd's parser", () => {
  // Accepted here: must parse in systemd. Refused for their syntax: systemd refuses them too.
  const ACCEPTED = ["daily", "hourly", "weekly", "*-*-* 00/6:00:00", "*-*-* 02:30", "Mon..Fri 02:00", "Sat,Sun 04:15:30", "*-*-01 00:00:00", "2027-*-* 12:00", "*-*-* 0,12:00", "*-*-* 03..05:45"];
  const SYNTAX = ["dayly", "*-*-* 25:00", "*-13-* 00:00", "Mon..Funday 02:00", "*-*-* 02:60", "02", "*-*-32 00:00"];
  it("the table's accepted specs are accepted by calendarSpecProblem; its bad ones are refused", () => {
    for (const s of ACCEPTED) assert.equal(calendarSpecProblem(s, { minIntervalMinutes: 15 }), undefined, s);
    for (const s of SYNTAX) assert.ok(calendarSpecProblem(s), s);
    assert.match(calendarSpecProblem("*-*-* *:00/5", { minIntervalMinutes: 15 }) ?? "", /every 5 minutes/);
    assert.match(calendarSpecProblem("minutely", { minIntervalMinutes: 15 }) ?? "", /every minute/);
  });

  it("systemd-analyze calendar agrees on every spec of the table (the real parser; negative control: it refuses the bad ones)", function () {
    requireTool(this, "systemd-analyze", "systemd");
    for (const s of ACCEPTED) {
      const r = spawnSync("systemd-analyze", ["calendar", s], { encoding: "utf8" });
      assert.equal(r.status, 0, `${s}: ${r.stderr}`);
    }
    for (const s of SYNTAX) {
      const r = spawnSync("systemd-analyze", ["calendar", s], { encoding: "utf8" });
      assert.notEqual(r.status, 0, `systemd accepts ${s}`);
    }
  });
});

describe("credentials over time: units and scripts", () => {
  it("each control plane checks 30 minutes after the one before it, around the clock", () => {
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => renewalCheckTime("03:00", i)), ["03:00", "03:30", "04:00", "04:30", "05:00"]);
    assert.deepEqual([0, 1, 2].map((i) => renewalCheckTime("23:15", i)), ["23:15", "23:45", "00:15"]);
    assert.match(renderCertRenewalTimer(DEFAULT_CERTIFICATE_RENEWAL, 2), /^OnCalendar=\*-\*-\* 04:00:00$/m);
  });

  it("the units pass `systemd-analyze verify` (negative control: a unit with an unknown directive fails it)", async function () {
    requireTool(this, "systemd-analyze", "systemd");
    const root = tmpDir("units");
    try {
      const sbin = path.join(root, "usr/local/sbin");
      const units = path.join(root, "etc/systemd/system");
      fs.mkdirSync(sbin, { recursive: true });
      fs.mkdirSync(units, { recursive: true });
      // systemd's own units (sysinit.target, timers.target, …) under the root, as on a node.
      fs.cpSync("/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
      fs.writeFileSync(path.join(root, CERT_RENEWAL_SCRIPT_PATH), CERT_RENEWAL_SCRIPT, { mode: 0o755 });
      fs.writeFileSync(path.join(root, ETCD_SNAPSHOT_SCRIPT_PATH), ETCD_SNAPSHOT_SCRIPT, { mode: 0o755 });
      const nfs = { ...DEFAULT_ETCD_BACKUP, nfs: { export: "nas.example.internal:/exports/etcd", options: "hard,_netdev" } };
      const files: Record<string, string> = {
        "vsphere-spark-cert-renewal.service": renderCertRenewalUnit(DEFAULT_CERTIFICATE_RENEWAL, ["192.168.1.12", "192.168.1.13"]),
        [CERT_RENEWAL_TIMER]: renderCertRenewalTimer(DEFAULT_CERTIFICATE_RENEWAL, 1),
        "vsphere-spark-etcd-snapshot.service": renderEtcdSnapshotUnit("cp-1", nfs),
        [ETCD_SNAPSHOT_TIMER]: renderEtcdSnapshotTimer(nfs),
        [ETCD_BACKUP_NFS_MOUNT_UNIT]: renderEtcdBackupMountUnit(nfs.nfs),
      };
      for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(units, n), c);
      const verify = (names: string[]) => spawnSync("systemd-analyze", ["verify", `--root=${root}`, ...names.map((n) => path.join(units, n))], { encoding: "utf8" });
      const r = verify(Object.keys(files));
      // The executables are checked under --root; only warnings about the host's own units may remain.
      const ours = r.stderr.split("\n").filter((l) => /vsphere-spark|etcdbackup/.test(l));
      assert.deepEqual(ours, [], r.stderr);
      assert.equal(r.status, 0, r.stderr);
      fs.writeFileSync(path.join(units, "bad.timer"), "[Timer]\nOnCalendar=dayly\n");
      fs.writeFileSync(path.join(units, "bad.service"), "[Service]\nExecStart=/usr/local/sbin/missing\n");
      const bad = verify(["bad.timer", "bad.service"]);
      assert.notEqual(bad.status, 0, "systemd-analyze verify fails on a bad calendar and a missing executable");
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("the renewal script passes shellcheck (style level) and the snapshot script compiles with python3", async function () {
    requireTool(this, "shellcheck", "shellcheck");
    const dir = tmpDir("credentials");
    try {
      const sh = path.join(dir, "renew.sh");
      fs.writeFileSync(sh, CERT_RENEWAL_SCRIPT);
      await run("bash", ["-n", sh]);
      await run("shellcheck", ["-S", "style", sh]).catch((e) => assert.fail(e.stdout));
      assert.doesNotMatch(CERT_RENEWAL_SCRIPT, /\\\$\{/, "no escaped ${ left in the bash text");
      const py = path.join(dir, "snap.py");
      fs.writeFileSync(py, ETCD_SNAPSHOT_SCRIPT);
      await run("python3", ["-m", "py_compile", py]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("control planes carry both (enabled by their bootstrap once done), workers and the load balancer neither; disabled: none", () => {
    const pki = samplePki();
    const secrets = { token: "abcdef.0123456789abcdef", caCertHash: caCertHash(pki.caCert), pki, certificateKey: "ab".repeat(32) };
    const spec = referenceSpec("haproxy", "packages", 1);
    for (const node of spec.nodes) {
      const doc = parse(renderNode(spec, node, secrets).userData, { version: "1.1" }) as { write_files: Array<{ path: string; content: string }> };
      const paths = doc.write_files.map((f) => f.path);
      const script = doc.write_files.find((f) => f.path === BOOTSTRAP_SCRIPT_PATH)!.content;
      const cp = node.role === "control-plane";
      assert.equal(paths.includes(CERT_RENEWAL_SCRIPT_PATH), cp, node.name);
      assert.equal(paths.includes(ETCD_SNAPSHOT_SCRIPT_PATH), cp, node.name);
      assert.equal(paths.includes(`/etc/systemd/system/${ETCD_SNAPSHOT_TIMER}`), cp, node.name);
      assert.equal(/systemctl enable --now vsphere-spark-cert-renewal\.timer vsphere-spark-etcd-snapshot\.timer/.test(script), cp, node.name);
      if (cp) {
        const i = ["cp-1", "cp-2", "cp-3"].indexOf(node.name);
        const timer = doc.write_files.find((f) => f.path === `/etc/systemd/system/${CERT_RENEWAL_TIMER}`)!.content;
        assert.match(timer, new RegExp(`OnCalendar=\\*-\\*-\\* ${renewalCheckTime("03:00", i)}:00`));
        const unit = doc.write_files.find((f) => f.path === "/etc/systemd/system/vsphere-spark-cert-renewal.service")!.content;
        const others = spec.nodes.filter((n) => n.role === "control-plane" && n.name !== node.name).map((n) => `--other-api ${n.address}:6443`);
        for (const o of others) assert.ok(unit.includes(o), `${node.name}: ${o}`);
        assert.ok(!unit.includes(`--other-api ${node.address}:`), "never itself");
      }
    }
    const off = referenceSpec("haproxy", "packages", 1);
    off.settings = { ...off.settings, certificateRenewal: { ...off.settings.certificateRenewal, enabled: false }, etcdBackup: { ...off.settings.etcdBackup, enabled: false } };
    const cp = off.nodes.find((n) => n.role === "control-plane")!;
    const doc = parse(renderNode(off, cp, secrets).userData, { version: "1.1" }) as { write_files: Array<{ path: string; content: string }> };
    assert.ok(!doc.write_files.some((f) => /vsphere-spark-(cert-renewal|etcd-snapshot)/.test(f.path)), "disabled: nothing rendered");
    assert.doesNotMatch(doc.write_files.find((f) => f.path === BOOTSTRAP_SCRIPT_PATH)!.content, /systemctl enable --now/);
  });

  it("an NFS destination: nfs-common installed, the mount unit rendered, the service requires it; control planes only", () => {
    const s = resolveKubernetesSettings({ etcdBackup: { nfs: { export: "nas:/exports/etcd" } } }, K).settings;
    assert.ok(basePackages("join-control-plane", "packages", s).includes("nfs-common"));
    assert.ok(!basePackages("join-worker", "packages", s).includes("nfs-common"));
    assert.ok(!basePackages("join-control-plane", "packages", resolveKubernetesSettings(undefined, K).settings).includes("nfs-common"), "negative control: no NFS, no nfs-common");
    assert.match(renderEtcdSnapshotUnit("cp-1", s.etcdBackup), new RegExp(`^RequiresMountsFor=${ETCD_BACKUP_NFS_MOUNT}$`, "m"));
    assert.match(renderEtcdSnapshotUnit("cp-1", s.etcdBackup), / --copy-dir \/mnt\/etcdbackup$/m);
    const mount = spawnSync("systemd-escape", ["-p", "--suffix=mount", ETCD_BACKUP_NFS_MOUNT], { encoding: "utf8" });
    if (mount.status === 0) assert.equal(mount.stdout.trim(), ETCD_BACKUP_NFS_MOUNT_UNIT, "the mount unit's name is systemd's escape of its path");
  });
});
