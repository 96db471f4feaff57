/**
 * The load balancer's boot with its health checks exercised: the kube-apiserver stand-ins
 * (apiserver-standins.ts) on the control planes' addresses the generated haproxy.cfg names, and the
 * collector waiting, after the bootstrap, for guest/lab-haproxy-watch to relay HAProxy's view of
 * them through the scenario (haproxy-health.ts). Used by first-boot.boot.ts and, with a broken
 * haproxy.cfg, by negative.boot.ts.
 */
import { parse, stringify } from "yaml";
import { BootOptions, BootResult, Chain, GATEWAY, Image, Lab, ProgramVm, boot, withDocuments } from "./lab";
import { Backend, HealthScenario, backendsOf, healthScenario } from "./haproxy-health";
import { HAPROXY_CONFIG_PATH } from "../../components/cluster/cloud-init";

const DONE = "/var/lib/vsphere-spark/bootstrap.done";
/** Upper bound for the watch (the scenario takes about a minute and a half). */
const WATCH_SECONDS = 360;

export interface LoadBalancerRun {
  chain: Chain<BootResult>;
  /** The haproxy.cfg the guest got. */
  haproxyCfg: string;
  backends: Backend[];
  scenario: HealthScenario;
  address: string;
}

/** The load balancer's haproxy.cfg as the program wrote it into its user-data. */
export function haproxyCfgOf(vm: ProgramVm): string {
  const ud = parse(vm.userData.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: { path: string; content: string }[] };
  return ud.write_files.find((f) => f.path === HAPROXY_CONFIG_PATH)!.content;
}

/** The load balancer's guestinfo with haproxy.cfg replaced (negative controls). */
export function withHaproxyCfg(vm: ProgramVm, cfg: string): Record<string, string> {
  const ud = parse(vm.userData.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: { path: string; content: string }[] };
  ud.write_files.find((f) => f.path === HAPROXY_CONFIG_PATH)!.content = cfg;
  return withDocuments(vm.extraConfig, `#cloud-config\n${stringify(ud, { version: "1.1", lineWidth: 0 })}`);
}

export function loadBalancerBoot(
  lab: Lab,
  image: () => Image,
  lb: ProgramVm,
  o: { haproxyCfg?: string; files?: string[]; onDone?: (r: BootResult) => void } = {},
): LoadBalancerRun {
  const haproxyCfg = o.haproxyCfg ?? haproxyCfgOf(lb);
  const backends = backendsOf(haproxyCfg);
  const scenario = healthScenario(backends);
  const address = /addresses:\n\s+- (\d+\.\d+\.\d+\.\d+)\//.exec(lb.metaData)![1];
  const opts: BootOptions = {
    extraConfig: o.haproxyCfg === undefined ? lb.extraConfig : withHaproxyCfg(lb, o.haproxyCfg),
    mac: lb.macAddress!,
    dataDisksGiB: lb.dataDisksGiB,
    // Behind a PCIe root port at slot 192 (the kernel calls it ens192 already).
    nicSlot: "ens192",
    memoryMiB: 2048,
    files: o.files ?? [],
    until: `test -f ${DONE} && /usr/local/sbin/lab-haproxy-watch http://${GATEWAY}:8080 ${address}:6443 ${WATCH_SECONDS}`,
    timeoutSeconds: 1500,
  };
  // The image has no HAProxy: the bootstrap installs Debian's from the template's mirror.
  const chain = lab.chain(
    [],
    async (net) => {
      const r = await boot(image(), net, opts);
      o.onDone?.(r);
      return r;
    },
    { mirror: true, apiservers: scenario },
  );
  return { chain, haproxyCfg, backends, scenario, address };
}
