/**
 * Which in-place changes of a vSphere VM power it off and on: `pulumi preview` shows them as a plain
 * update, because the provider decides the reboot at apply time (Update), not in its diff.
 *
 * Source: vmware/terraform-provider-vsphere @ b45b5b4101a197e4272ae590aaa0c863dbad175a (the Pulumi
 * vSphere provider is a bridge over it):
 * - vsphere/resource_vsphere_virtual_machine.go, resourceVSphereVirtualMachineUpdate: when
 *   `reboot_required` is set and the VM is not powered off, "Attempt a graceful shutdown"
 *   (virtualmachine.GracefulPowerOff, then the reconfigure, then power-on). A hardware_version
 *   upgrade and an EVC mode change set it too.
 * - vsphere/virtual_machine_config_structure.go:
 *   - expandCPUCountConfig: adding CPUs reboots unless cpu_hot_add_enabled was already on (the
 *     pre-update value); removing CPUs reboots unless cpu_hot_remove_enabled was.
 *   - expandMemorySizeConfig: adding memory reboots unless memory_hot_add_enabled was on;
 *     "Removing memory always requires a reboot".
 *   - getWithRestart / getBoolWithRestart: a change of guest_id, alternate_guest_name,
 *     memory_hot_add_enabled, cpu_hot_add_enabled, cpu_hot_remove_enabled, swap_placement_policy,
 *     firmware, nested_hv_enabled, cpu_performance_counters_enabled, num_cores_per_socket,
 *     num_cores_per_numa_node, efi_secure_boot_enabled, enable_disk_uuid, hv_mode, ept_rvi_mode,
 *     enable_logging, vbs_enabled, vvtd_enabled, tools_upgrade_policy and run_tools_scripts_*.
 *   - expandExtraConfig: any extra_config change reboots unless extra_config_reboot_required is false.
 *   - expandVAppConfig: any vapp change reboots.
 * - vsphere/resource_vsphere_virtual_machine.go, applyVirtualDevices: a SCSI bus change (scsi_type,
 *   scsi_controller_count, scsi_bus_sharing: NormalizeBus) reboots; pci_device_id changes reboot.
 * - vsphere/internal/virtualdevice/virtual_machine_disk_subresource.go, DiskSubresource.Update: a
 *   disk's unit_number or controller_type change reboots (SetRestart); a size increase does not.
 * - vsphere/internal/virtualdevice/virtual_machine_network_interface_subresource.go: an adapter_type
 *   change re-creates the NIC, which reboots only when VMware Tools is not running (not decided here).
 *
 * Not reboots: host_system_id / resource_pool_id (vMotion), datastore_id (Storage vMotion),
 * disk growth, network_id, name, folder.
 */

/** Plan input paths (Pulumi camelCase) whose change reboots the VM whatever the values. */
export const REBOOT_ON_ANY_CHANGE: Record<string, string> = {
  guestId: "guest_id",
  alternateGuestName: "alternate_guest_name",
  memoryHotAddEnabled: "memory_hot_add_enabled",
  cpuHotAddEnabled: "cpu_hot_add_enabled",
  cpuHotRemoveEnabled: "cpu_hot_remove_enabled",
  swapPlacementPolicy: "swap_placement_policy",
  firmware: "firmware",
  nestedHvEnabled: "nested_hv_enabled",
  cpuPerformanceCountersEnabled: "cpu_performance_counters_enabled",
  numCoresPerSocket: "num_cores_per_socket",
  numCoresPerNumaNode: "num_cores_per_numa_node",
  efiSecureBootEnabled: "efi_secure_boot_enabled",
  enableDiskUuid: "enable_disk_uuid",
  hvMode: "hv_mode",
  eptRviMode: "ept_rvi_mode",
  enableLogging: "enable_logging",
  vbsEnabled: "vbs_enabled",
  vvtdEnabled: "vvtd_enabled",
  toolsUpgradePolicy: "tools_upgrade_policy",
  runToolsScriptsAfterPowerOn: "run_tools_scripts_after_power_on",
  runToolsScriptsAfterResume: "run_tools_scripts_after_resume",
  runToolsScriptsBeforeGuestStandby: "run_tools_scripts_before_guest_standby",
  runToolsScriptsBeforeGuestShutdown: "run_tools_scripts_before_guest_shutdown",
  runToolsScriptsBeforeGuestReboot: "run_tools_scripts_before_guest_reboot",
  scsiType: "scsi_type (NormalizeBus)",
  scsiControllerCount: "scsi_controller_count (NormalizeBus)",
  scsiBusSharing: "scsi_bus_sharing (NormalizeBus)",
  pciDeviceIds: "pci_device_id",
  vapp: "vapp",
  hardwareVersion: "hardware_version",
  evcMode: "evc_mode",
};

export const REBOOT_SOURCE =
  "terraform-provider-vsphere virtual_machine Update: reboot_required → graceful power-off (expandCPUCountConfig, expandMemorySizeConfig, getWithRestart)";

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const num = (x: unknown) => (typeof x === "number" ? x : undefined);

/**
 * Why an in-place update of a VM from `before` to `after` inputs powers it off and on; empty when it
 * does not. Changes under `ignoreChanges` never reach the provider and are skipped.
 */
export function rebootReasons(before: unknown, after: unknown, ignoreChanges: string[] = []): string[] {
  if (!isObj(before) || !isObj(after)) return [];
  const ignored = (k: string) => ignoreChanges.some((p) => p === k || k.startsWith(`${p}.`) || k.startsWith(`${p}[`));
  const out: string[] = [];
  const changed = (k: string) => !ignored(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]);

  const oc = num(before.numCpus);
  const nc = num(after.numCpus);
  if (oc !== undefined && nc !== undefined && oc !== nc && !ignored("numCpus")) {
    if (nc > oc && before.cpuHotAddEnabled !== true) out.push(`vCPU ${oc} → ${nc} without CPU hot-add`);
    if (nc < oc && before.cpuHotRemoveEnabled !== true) out.push(`vCPU ${oc} → ${nc} without CPU hot-remove`);
  }
  const om = num(before.memory);
  const nm = num(after.memory);
  if (om !== undefined && nm !== undefined && om !== nm && !ignored("memory")) {
    if (nm > om && before.memoryHotAddEnabled !== true) out.push(`memory ${om} → ${nm} MiB without memory hot-add`);
    if (nm < om) out.push(`memory ${om} → ${nm} MiB (removing memory always reboots)`);
  }
  for (const [k, tf] of Object.entries(REBOOT_ON_ANY_CHANGE)) if (changed(k)) out.push(`${k} changed (${tf})`);
  if (changed("extraConfig") && after.extraConfigRebootRequired !== false) out.push("extraConfig changed (extra_config_reboot_required)");
  const bd = Array.isArray(before.disks) ? before.disks : [];
  const ad = Array.isArray(after.disks) ? after.disks : [];
  for (let i = 0; i < Math.min(bd.length, ad.length); i++) {
    const a = bd[i] as Record<string, unknown>;
    const b = ad[i] as Record<string, unknown>;
    for (const k of ["unitNumber", "controllerType"]) {
      if (isObj(a) && isObj(b) && JSON.stringify(a[k]) !== JSON.stringify(b[k]) && !ignored(`disks[${i}].${k}`)) out.push(`disks[${i}].${k} changed (disk unit_number/controller_type)`);
    }
  }
  return out;
}
