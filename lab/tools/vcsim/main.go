// vcsim for the lab: the STAND-IN FOR vCenter AND THE ESXi HOSTS (and the guests). govmomi's
// simulator (the vSphere SOAP API, with its vAPI REST and PBM endpoints) holding the inventory a
// stack names, built here through the API as an administrator would: a datacenter, a cluster with
// its hosts (CPU threads and memory as given), a datastore on every host, "VM Network" and a
// template VM (not the VM folder nor the resource pool: the stack creates those). With failure
// domains (`clusters`), one compute cluster per zone with its own datastore and port group; hosts
// with GPUs get them as passthrough-enabled PCI devices (hostPciDevices). Nothing here is a
// real hypervisor: simulated VMs never boot; a powered-on VM reports the address its guestinfo
// network config names (reportGuestNetworks, the stand-in for the guest).
//
//	vcsim -l 127.0.0.1:PORT -inventory inventory.json   # prints the URL, serves until killed
package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"gopkg.in/yaml.v3"

	_ "github.com/vmware/govmomi/pbm/simulator"
	// vCenter's namespace-management API (VM classes: the Tanzu back end's VirtualMachineClass).
	_ "github.com/vmware/govmomi/vapi/namespace/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

// Host is one of the stack's `hosts`: its CPU threads, memory and passthrough GPUs (PCI ids).
type Host struct {
	Name       string
	CPUThreads int32
	MemoryGiB  int64
	PciDevices []string
}

// Cluster is a compute cluster with its hosts, the datastore mounted on them and the port group
// they carry (a zone of `vsphere-spark:zones`).
type Cluster struct {
	Name, Datastore, Network string
	Hosts                    []Host
}

// Inventory is the stack's `inventory`, `hosts` and (with failure domains) `zones` settings
// (Pulumi.<stack>.yaml). Without `Clusters`, one cluster: ComputeCluster, Datastore, Network, Hosts.
// The template lives in ComputeCluster, on Datastore and Network.
type Inventory struct {
	Datacenter, ComputeCluster, Datastore, Network, Template, Folder, ResourcePool string
	Hosts                                                                          []Host
	Clusters                                                                       []Cluster
}

func main() {
	listen := flag.String("l", "127.0.0.1:8989", "listen address")
	file := flag.String("inventory", "", "inventory JSON (required)")
	user := flag.String("username", "administrator@vsphere.local", "login user")
	pass := flag.String("password", "vcsim-lab", "login password")
	flag.Parse()
	var inv Inventory
	data, err := os.ReadFile(*file)
	check(err)
	check(json.Unmarshal(data, &inv))
	if len(inv.Clusters) == 0 {
		inv.Clusters = []Cluster{{Name: inv.ComputeCluster, Datastore: inv.Datastore, Network: inv.Network, Hosts: inv.Hosts}}
	}
	log.Printf("vcsim: govmomi's simulator, the stand-in for vCenter and the ESXi hosts (no hypervisor: VMs never boot; a stand-in guest reports the address of its guestinfo.metadata)")

	model := simulator.VPX()
	model.Datacenter, model.Cluster, model.ClusterHost, model.Host, model.Datastore, model.Machine, model.Portgroup = 0, 0, 0, 0, 0, 0, 0
	check(model.Create())
	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}
	model.Service.TLS = new(tls.Config) // a self-signed certificate, as vCenter's out of the box
	s := model.Service.NewServer()

	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, s.URL, true)
	check(err)
	root := object.NewRootFolder(c.Client)
	dc, err := root.CreateDatacenter(ctx, inv.Datacenter)
	check(err)
	folders, err := dc.Folders(ctx)
	check(err)
	var templateHost *object.HostSystem
	var templatePool *object.ResourcePool
	n := 0
	for _, cl := range inv.Clusters {
		cluster, hosts := createCluster(ctx, c, folders, cl)
		n += len(hosts)
		if cl.Name == inv.ComputeCluster {
			pool, err := cluster.ResourcePool(ctx)
			check(err)
			templateHost, templatePool = hosts[0], pool
		}
	}
	if templateHost == nil {
		log.Fatalf("vcsim: the inventory's computeCluster %q is none of the clusters", inv.ComputeCluster)
	}
	createTemplate(ctx, c, dc, folders, templatePool, templateHost, inv)

	fmt.Printf("vcsim: the stand-in for vCenter and ESXi (%d hosts in %d clusters) serving at %s\n", n, len(inv.Clusters), s.URL)
	for range time.Tick(250 * time.Millisecond) {
		defaultSwapPlacement()
		reportGuestNetworks()
	}
}

// createCluster creates a DRS cluster with its hosts (threads and memory as given, GPUs as PCI
// passthrough devices), its datastore mounted on every one of them and its port group ("VM Network"
// is every simulated datacenter's own; another name is added to the first host's vSwitch0, which
// makes it a network of the datacenter).
func createCluster(ctx context.Context, c *govmomi.Client, folders *object.DatacenterFolders, cl Cluster) (*object.ClusterComputeResource, []*object.HostSystem) {
	drs := true
	cluster, err := folders.HostFolder.CreateCluster(ctx, cl.Name, types.ClusterConfigSpecEx{DrsConfig: &types.ClusterDrsConfigInfo{Enabled: &drs}})
	check(err)
	var hosts []*object.HostSystem
	pci := map[types.ManagedObjectReference][]types.HostPciDevice{}
	for _, h := range cl.Hosts {
		// Each host is a copy of the simulator's ESXi template: give it the stack's threads and memory.
		esx.HostHardwareInfo.CpuInfo.NumCpuThreads, esx.HostHardwareInfo.CpuInfo.NumCpuCores = int16(h.CPUThreads), int16(h.CPUThreads/2)
		esx.HostHardwareInfo.MemorySize = h.MemoryGiB << 30
		hw := esx.HostSystem.Summary.Hardware
		hw.NumCpuThreads, hw.NumCpuCores, hw.MemorySize = int16(h.CPUThreads), int16(h.CPUThreads/2), h.MemoryGiB<<30
		task, err := cluster.AddHost(ctx, types.HostConnectSpec{HostName: h.Name}, true, nil, nil)
		check(err)
		info, err := task.WaitForResult(ctx, nil)
		check(err)
		ref := info.Result.(types.ManagedObjectReference)
		hosts = append(hosts, object.NewHostSystem(c.Client, ref))
		if len(h.PciDevices) > 0 {
			pci[ref] = addGpus(ref, h.PciDevices)
		}
	}
	aliasClusterAsComputeResource(cluster.Reference())
	configOptionsNameTheirHardwareVersion(cluster.Reference())
	if len(pci) > 0 {
		configTargetsListPassthroughDevices(cluster.Reference(), pci)
	}
	dir, err := os.MkdirTemp("", "vcsim-datastore-")
	check(err)
	var mounts []types.DatastoreHostMount
	var ds *object.Datastore
	for _, h := range hosts {
		dss, err := h.ConfigManager().DatastoreSystem(ctx)
		check(err)
		ds, err = dss.CreateLocalDatastore(ctx, cl.Datastore, dir)
		check(err)
		mounts = append(mounts, types.DatastoreHostMount{Key: h.Reference(), MountInfo: types.HostMountInfo{
			AccessMode: "readWrite", Mounted: types.NewBool(true), Accessible: types.NewBool(true)}})
	}
	// The simulator records only the first host's mount of a datastore shared this way, and checks a
	// datastore named "vsanDatastore" as vSAN does (three hosts or more): record every mount.
	simulator.Map.Get(ds.Reference()).(*simulator.Datastore).Host = mounts
	if cl.Network != "VM Network" {
		ns, err := hosts[0].ConfigManager().NetworkSystem(ctx)
		check(err)
		check(ns.AddPortGroup(ctx, types.HostPortGroupSpec{Name: cl.Network, VswitchName: "vSwitch0", Policy: types.HostNetworkPolicy{}}))
	}
	// The VM folder and the resource pool are not made here: the stack creates both (VsphereTopology,
	// components/vsphere/topology.ts), and vCenter refuses a second one of the same name (DuplicateName).
	return cluster, hosts
}

// NVIDIA's PCI vendor id, and the device id of the A100 80GB PCIe (the class: 3D controller).
const (
	nvidiaVendor   = 0x10de
	a100Device     = 0x20b5
	classDisplay3D = 0x0302
)

// addGpus gives the host the stack's GPUs as PCI devices (hardware.pciDevice, where the vSphere
// provider looks a VM's pci_device_id up: terraform-provider-vsphere
// vsphere/internal/virtualdevice/virtual_machine_device_subresource.go, getHostPciDevice). The
// host's hardware is a shallow copy of the simulator's template: its device list is copied first.
func addGpus(ref types.ManagedObjectReference, ids []string) []types.HostPciDevice {
	hs := simulator.Map.Get(ref).(*simulator.HostSystem)
	hw := *hs.Hardware
	hw.PciDevice = append([]types.HostPciDevice(nil), hw.PciDevice...)
	var gpus []types.HostPciDevice
	for _, id := range ids {
		var bus, slot, fn uint8
		var domain uint16
		_, err := fmt.Sscanf(id, "%04x:%02x:%02x.%x", &domain, &bus, &slot, &fn)
		check(err)
		d := types.HostPciDevice{
			Id: id, ClassId: classDisplay3D, Bus: bus, Slot: slot, Function: fn,
			VendorId: nvidiaVendor, DeviceId: int16(a100Device), VendorName: "NVIDIA Corporation", DeviceName: "GA100 [A100 PCIe 80GB]",
		}
		gpus = append(gpus, d)
	}
	hw.PciDevice = append(hw.PciDevice, gpus...)
	hs.Hardware = &hw
	return gpus
}

// passthroughBrowser works around a vcsim gap: vcsim's QueryConfigTarget lists no PCI passthrough
// devices (govmomi simulator/environment_browser.go), and the vSphere provider takes a passthrough
// device's SystemId from that list (terraform-provider-vsphere
// vsphere/internal/helper/envbrowse/environment_browser_helper.go, SystemID: "could not find
// SystemId" otherwise). This browser answers as its cluster's does, plus each asked host's GPUs, as
// vCenter lists a host's passthrough-enabled devices, with the host's system UUID as SystemId.
type passthroughBrowser struct {
	*simulator.EnvironmentBrowser
	pci map[types.ManagedObjectReference][]types.HostPciDevice
}

func (b *passthroughBrowser) QueryConfigTarget(ctx *simulator.Context, req *types.QueryConfigTarget) soap.HasFault {
	body := b.EnvironmentBrowser.QueryConfigTarget(ctx, req).(*methods.QueryConfigTargetBody)
	for ref, devs := range b.pci {
		if req.Host != nil && *req.Host != ref {
			continue
		}
		id := simulator.Map.Get(ref).(*simulator.HostSystem).Hardware.SystemInfo.Uuid
		for _, d := range devs {
			body.Res.Returnval.PciPassthrough = append(body.Res.Returnval.PciPassthrough, &types.VirtualMachinePciPassthroughInfo{
				VirtualMachineTargetInfo: types.VirtualMachineTargetInfo{Name: d.DeviceName},
				PciDevice:                d,
				SystemId:                 id,
			})
		}
	}
	return body
}

// configTargetsListPassthroughDevices puts a passthroughBrowser in place of the cluster's
// environment browser (same reference, same state).
func configTargetsListPassthroughDevices(ref types.ManagedObjectReference, pci map[types.ManagedObjectReference][]types.HostPciDevice) {
	cc := simulator.Map.Get(ref).(*simulator.ClusterComputeResource)
	eb := simulator.Map.Get(*cc.EnvironmentBrowser).(*simulator.EnvironmentBrowser)
	simulator.Map.Put(&passthroughBrowser{EnvironmentBrowser: eb, pci: pci})
}

// createTemplate creates the template the stack clones: Ubuntu guest, EFI, pvscsi, one thin
// 20 GiB disk, one vmxnet3 NIC on the network, then marks it a template.
func createTemplate(ctx context.Context, c *govmomi.Client, dc *object.Datacenter, folders *object.DatacenterFolders, pool *object.ResourcePool, host *object.HostSystem, inv Inventory) {
	net, err := find.NewFinder(c.Client).SetDatacenter(dc).Network(ctx, inv.Network)
	check(err)
	backing, err := net.EthernetCardBackingInfo(ctx)
	check(err)
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	check(err)
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), types.ManagedObjectReference{}, fmt.Sprintf("[%s] %s/disk0.vmdk", inv.Datastore, inv.Template))
	disk.CapacityInKB = 20 << 20
	disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).ThinProvisioned = types.NewBool(true)
	nic, err := devices.CreateEthernetCard("vmxnet3", backing)
	check(err)
	devices = append(devices, disk, nic)
	changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	check(err)
	spec := types.VirtualMachineConfigSpec{
		Name: inv.Template, GuestId: "ubuntu64Guest", Firmware: "efi", NumCPUs: 2, MemoryMB: 2048,
		Files: &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", inv.Datastore)}, DeviceChange: changes,
	}
	task, err := folders.VmFolder.CreateVM(ctx, spec, pool, host)
	check(err)
	info, err := task.WaitForResult(ctx, nil)
	check(err)
	check(object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference)).MarkAsTemplate(ctx))
}

// aliasClusterAsComputeResource works around a vcsim gap: vCenter resolves a managed object
// reference by its value, so `ComputeResource:domain-c7` names the cluster `ClusterComputeResource:
// domain-c7`; vcsim's registry is keyed by type and value and answers ManagedObjectNotFound. The
// vSphere provider looks a resource pool's owner up that way (terraform-provider-vsphere
// vsphere/internal/helper/computeresource/computeresource_helper.go, StandaloneFromID, reached from
// resourcepool.ValidateHost when a VM sets host_system_id): every VM the stack pins to a host failed
// with "The object has already been deleted or has not been completely created". The alias is the
// cluster's ComputeResource part under the ComputeResource type (a copy taken after the hosts are
// added: the lab adds none later), with the same parent, so its inventory path resolves too.
func aliasClusterAsComputeResource(ref types.ManagedObjectReference) {
	cc := simulator.Map.Get(ref).(*simulator.ClusterComputeResource)
	alias := cc.ClusterComputeResource.ComputeResource
	alias.Self = types.ManagedObjectReference{Type: "ComputeResource", Value: ref.Value}
	simulator.Map.Put(&alias)
}

// configOptionsNameTheirHardwareVersion works around a vcsim gap: vcsim's QueryConfigOption answers
// an option whose hardwareOptions.hwVersion is 0 (govmomi simulator/environment_browser.go), where
// vSphere names the hardware version the option describes. The vSphere provider's update reads that
// number as the VM's current version and, the VM's own (13) being different, upgrades the VM to the
// version it already has (terraform-provider-vsphere
// vsphere/internal/helper/virtualmachine/virtual_machine_helper.go, SetHardwareVersion, after every
// reconfigure in resourceVSphereVirtualMachineUpdate): vcsim answers AlreadyUpgradedFault and every
// in-place update of a VM failed. The cluster's environment browser (its VMs') answers the option of
// the simulator's hardware version (esx.HardwareVersion, vmx-13: the template's and so every
// clone's), numbered.
func configOptionsNameTheirHardwareVersion(ref types.ManagedObjectReference) {
	var hw int32
	_, err := fmt.Sscanf(esx.HardwareVersion, "vmx-%d", &hw)
	check(err)
	cc := simulator.Map.Get(ref).(*simulator.ClusterComputeResource)
	eb := simulator.Map.Get(*cc.EnvironmentBrowser).(*simulator.EnvironmentBrowser)
	eb.QueryConfigOptionResponse.Returnval = &types.VirtualMachineConfigOption{
		Version: esx.HardwareVersion, DefaultDevice: esx.VirtualDevice, HardwareOptions: types.VirtualHardwareOption{HwVersion: hw},
	}
}

// defaultSwapPlacement works around a vcsim gap: vcsim keeps no swap placement (its VMs report an
// empty config.swapPlacement whatever the spec said), where vCenter reports the VM's policy,
// "inherit" unless set otherwise. The vSphere provider sends "inherit" (its swap_placement_policy
// default: terraform-provider-vsphere vsphere/virtual_machine_config_structure.go) and reads the
// policy back, so against vcsim every VM showed `+ swapPlacementPolicy: "inherit"` on the next
// preview. A VM without one is given "inherit", as vCenter's default.
func defaultSwapPlacement() {
	eachVM(func(ctx *simulator.Context, vm *simulator.VirtualMachine) {
		if vm.Config != nil && vm.Config.SwapPlacement == "" {
			ctx.Update(vm, []types.PropertyChange{{Name: "config.swapPlacement", Val: string(types.VirtualMachineConfigInfoSwapPlacementTypeInherit)}})
		}
	})
}

// eachVM runs f on every VM of the simulator, holding that VM's lock.
func eachVM(f func(ctx *simulator.Context, vm *simulator.VirtualMachine)) {
	ctx := simulator.SpoofContext()
	for _, e := range simulator.Map.All("VirtualMachine") {
		if vm, ok := e.(*simulator.VirtualMachine); ok {
			simulator.Map.WithLock(ctx, vm, func() { f(ctx, vm) })
		}
	}
}

// reportGuestNetworks is the STAND-IN FOR THE GUEST's network as VMware Tools reports it. vcsim runs
// no guest, so a VM's guest.net never gets an address and guest.ipStack no default route; the
// vSphere provider's create waits for both (wait_for_guest_net_timeout, 5 minutes by default, and
// wait_for_guest_net_routable: terraform-provider-vsphere
// vsphere/internal/helper/virtualmachine/virtual_machine_helper.go, WaitForGuestNet) and fails
// without them. For a powered-on VM whose guestinfo.metadata (base64) holds a cloud-init network
// config (version 2, an ethernet with a static address and a 0.0.0.0/0 route), this reports what
// the guest would once cloud-init applied it: the default route (guest.ipStack), then that address
// on the first NIC with its MAC (guest.net), and guest.net again every few seconds, as Tools
// refreshes it. (WaitForGuestNet learns the gateway from guest.ipStack and accepts an address only
// in a later guest.net change: given both in one update, guest.net first, it keeps waiting.) A VM
// without such metadata reports nothing, as before.
func reportGuestNetworks() {
	eachVM(func(ctx *simulator.Context, vm *simulator.VirtualMachine) {
		ref := vm.Reference()
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || vm.Config == nil || vm.Config.Template || len(vm.Guest.Net) == 0 {
			delete(reported, ref)
			return
		}
		if t, ok := reported[ref]; ok && time.Since(t) < 3*time.Second {
			return
		}
		addr, prefix, gw, ok := metadataNetwork(vm.Config.ExtraConfig)
		if !ok {
			return
		}
		if _, again := reported[ref]; !again {
			ctx.Update(vm, []types.PropertyChange{{Name: "guest.ipStack", Val: []types.GuestStackInfo{{IpRouteConfig: &types.NetIpRouteConfigInfo{IpRoute: []types.NetIpRouteConfigInfoIpRoute{
				{Network: "0.0.0.0", PrefixLength: 0, Gateway: types.NetIpRouteConfigInfoGateway{IpAddress: gw}},
			}}}}}})
			log.Printf("vcsim: stand-in guest %s reports %s/%d via %s (from its guestinfo.metadata)", vm.Name, addr, prefix, gw)
		}
		nics := append([]types.GuestNicInfo(nil), vm.Guest.Net...)
		if cards := object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualEthernetCard)(nil)); len(cards) > 0 {
			nics[0].MacAddress = strings.ToLower(cards[0].(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().MacAddress)
		}
		nics[0].IpAddress = []string{addr}
		nics[0].IpConfig = &types.NetIpConfigInfo{IpAddress: []types.NetIpConfigInfoIpAddress{{IpAddress: addr, PrefixLength: prefix, State: "preferred"}}}
		ctx.Update(vm, []types.PropertyChange{
			{Name: "guest.net", Val: nics},
			{Name: "guest.ipAddress", Val: addr},
			{Name: "summary.guest.ipAddress", Val: addr},
		})
		reported[ref] = time.Now()
	})
}

// reported: when each powered-on VM's stand-in guest last reported its network (only the ticker's goroutine uses it).
var reported = map[types.ManagedObjectReference]time.Time{}

// metadataNetwork reads the static address, prefix and default gateway from guestinfo.metadata.
func metadataNetwork(extra []types.BaseOptionValue) (addr string, prefix int32, gw string, ok bool) {
	var encoded string
	for _, o := range extra {
		if v := o.GetOptionValue(); v.Key == "guestinfo.metadata" {
			encoded, _ = v.Value.(string)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if encoded == "" || err != nil {
		return "", 0, "", false
	}
	var md struct {
		Network struct {
			Ethernets map[string]struct {
				Addresses []string
				Routes    []struct{ To, Via string }
			}
		}
	}
	if yaml.Unmarshal(raw, &md) != nil {
		return "", 0, "", false
	}
	for _, eth := range md.Network.Ethernets {
		if len(eth.Addresses) == 0 {
			continue
		}
		ip, n, err := net.ParseCIDR(eth.Addresses[0])
		if err != nil {
			continue
		}
		ones, _ := n.Mask.Size()
		for _, r := range eth.Routes {
			if r.To == "0.0.0.0/0" || r.To == "default" {
				return ip.String(), int32(ones), r.Via, true
			}
		}
	}
	return "", 0, "", false
}

func check(err error) {
	if err != nil {
		log.Fatalf("vcsim: %v", err)
	}
}
