/**
 * Reading containerd's effective configuration (`containerd config dump`: the file merged over
 * containerd's defaults, as the daemon would run with it) instead of the file's text. A key in a
 * misspelled table is still in the text but not where containerd reads it: only the dump shows that.
 */

/** The CRI plugin's table (its `sandbox_image`, the pause image). */
export const CRI_TABLE = '[plugins."io.containerd.grpc.v1.cri"]';
/** The CRI plugin's runc runtime table and its options table (containerd 1.x config version 2). */
export const RUNC_TABLE = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]';
export const RUNC_OPTIONS_TABLE = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]';

/**
 * The `key = value` lines directly in `table` (up to the next table header) of a dump, values as
 * written (strings keep their quotes). Undefined when the table is not in the dump.
 */
export function tomlTable(dump: string, table: string): Record<string, string> | undefined {
  const lines = dump.split("\n");
  const start = lines.findIndex((l) => l.trim() === table);
  if (start < 0) return undefined;
  const out: Record<string, string> = {};
  for (const l of lines.slice(start + 1)) {
    const t = l.trim();
    if (t.startsWith("[")) break;
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(t);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** What the kubelet needs of containerd (kubeadm configures the kubelet's systemd cgroup driver): problems, none when right. */
export function containerdProblems(dump: string): string[] {
  const problems: string[] = [];
  const runc = tomlTable(dump, RUNC_TABLE);
  if (runc?.runtime_type !== '"io.containerd.runc.v2"') problems.push(`runc runtime_type is ${runc?.runtime_type ?? "absent"}, not "io.containerd.runc.v2"`);
  const opts = tomlTable(dump, RUNC_OPTIONS_TABLE);
  if (opts?.SystemdCgroup !== "true") problems.push(`runc SystemdCgroup is ${opts?.SystemdCgroup ?? "absent"} in the effective configuration, not true`);
  return problems;
}
