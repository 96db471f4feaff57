/**
 * VM class names and arguments, pure. A VM class is a vCenter-wide object: its name is its id in
 * `/api/vcenter/namespace-management/virtual-machine-classes/{vm_class}` (vSphere Automation API;
 * govmomi `vapi/namespace/internal/internal.go` at v0.46.3, `VmClassesPath`, and its simulator keys
 * the classes by that id alone). Two stacks that named classes only by key and size would create
 * the same id, and destroying one would delete the other's class. The name therefore starts with
 * the vSphere Namespace's name, which is itself unique in vCenter (the namespace API is keyed by it:
 * `/api/vcenter/namespaces/instances/{namespace}`), and each stack creates its own namespace.
 */
import type { TanzuSettings, VmClassSpec } from "./types";
import { vgpuNameSuffix } from "./gpu";

/**
 * The vCenter name of a VM class: the namespace, the key and the size, e.g. `spark-worker-16c-120g`
 * (`-r<cpu>-<mem>` appended when reservations are set); an adopted class keeps its own name.
 *
 * Why the size is in the name: editing a VirtualMachineClass does not resize the VMs already
 * created from it (vm-operator reads the class at VM creation only, vmware-tanzu/vm-operator PR #57;
 * terraform-provider-vsphere `vsphere/resource_vsphere_virtual_machine_class.go` at 469883da updates
 * the class in place with `UpdateVmClass`). A new size is therefore a new class: the cluster then
 * points its node pools at the new name and Cluster API rolls the nodes onto it.
 */
export function vmClassName(namespace: string, key: string, spec: VmClassSpec): string {
  if (spec.existing !== undefined) return spec.existing;
  const mem = spec.memoryMiB % 1024 === 0 ? `${spec.memoryMiB / 1024}g` : `${spec.memoryMiB}m`;
  const reserved =
    spec.cpuReservation !== undefined || spec.memoryReservation !== undefined ? `-r${spec.cpuReservation ?? 0}-${spec.memoryReservation ?? 0}` : "";
  return `${namespace}-${key}-${spec.cpus}c-${mem}${reserved}${vgpuNameSuffix(spec)}`;
}

/** The `vsphere:index/virtualMachineClass:VirtualMachineClass` inputs of one class (memory in MB). */
export function vmClassArgs(namespace: string, key: string, spec: VmClassSpec): {
  name: string;
  cpus: number;
  memory: number;
  cpuReservation?: number;
  memoryReservation?: number;
  vgpuDevices?: string[];
} {
  const args: ReturnType<typeof vmClassArgs> = { name: vmClassName(namespace, key, spec), cpus: spec.cpus, memory: spec.memoryMiB };
  if (spec.cpuReservation !== undefined) args.cpuReservation = spec.cpuReservation;
  if (spec.memoryReservation !== undefined) args.memoryReservation = spec.memoryReservation;
  if (spec.vgpuDevices?.length) args.vgpuDevices = [...spec.vgpuDevices];
  return args;
}

/** The derived vCenter class name of a class key in these settings. */
export function classNameOf(settings: TanzuSettings, key: string): string {
  const spec = settings.vmClasses[key];
  if (!spec) throw new Error(`no VM class "${key}"`);
  return vmClassName(settings.namespace.name, key, spec);
}

/** Class keys in use (control plane and node pools), in order of first use. */
export function usedClassKeys(settings: TanzuSettings): string[] {
  return [...new Set([settings.cluster.controlPlane.vmClass, ...settings.cluster.nodePools.map((p) => p.vmClass)])];
}

/** The classes this stack creates (and deletes): every class that is not an adopted `existing` one. */
export function managedClasses(settings: TanzuSettings): [string, VmClassSpec][] {
  return Object.entries(settings.vmClasses).filter(([, spec]) => spec.existing === undefined);
}
