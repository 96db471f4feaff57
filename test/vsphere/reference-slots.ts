/** The VMs of the reference environment (Pulumi.dev.yaml): 4 hosts, 3 control planes, an HAProxy VM, 16 workers. */
import { HostSpec, VmSlot, planSlots } from "../../components/vsphere/placement";

export const REFERENCE_HOST_IDS = ["esxi-01", "esxi-02", "esxi-03", "esxi-04"];

const host = (id: string): HostSpec => ({ id, name: `${id}.lab.local`, cpuThreads: 96, memoryMiB: 768 * 1024, workers: 4 });

export const REFERENCE_SLOTS: VmSlot[] = planSlots({
  hosts: REFERENCE_HOST_IDS.map(host),
  profiles: { worker: { cpus: 16, memoryMiB: 122880, diskGiB: 100 }, small: { cpus: 8, memoryMiB: 65536, diskGiB: 60 } },
  controlPlaneHosts: ["esxi-01", "esxi-02", "esxi-03"],
  loadBalancerHost: "esxi-04",
});
