// vcsim for the lab: the STAND-IN FOR vCenter AND THE ESXi HOSTS (and the guests). govmomi's
// simulator (the vSphere SOAP API, with its vAPI REST and PBM endpoints) holding the inventory a
// stack names, built here through the API as an administrator would: a datacenter, a cluster with
// its hosts (CPU threads and memory as given), a datastore on every host, "VM Network", a VM
// folder, a resource pool, and a template VM. Nothing here is a real hypervisor: simulated VMs
// never boot and report no guest IP.
//
//	vcsim -l 127.0.0.1:PORT -inventory inventory.json   # prints the URL, serves until killed
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/types"

	_ "github.com/vmware/govmomi/pbm/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

// Inventory is the stack's `inventory` and `hosts` settings (Pulumi.<stack>.yaml).
type Inventory struct {
	Datacenter, ComputeCluster, Datastore, Network, Template, Folder, ResourcePool string
	Hosts                                                                          []struct {
		Name       string
		CPUThreads int32
		MemoryGiB  int64
	}
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
	if inv.Network != "VM Network" {
		log.Fatalf("vcsim: only the network every simulated datacenter has, \"VM Network\", not %q", inv.Network)
	}
	log.Printf("vcsim: govmomi's simulator, the stand-in for vCenter and the ESXi hosts (no hypervisor: VMs never boot, report no guest IP)")

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
	drs := true
	cluster, err := folders.HostFolder.CreateCluster(ctx, inv.ComputeCluster, types.ClusterConfigSpecEx{DrsConfig: &types.ClusterDrsConfigInfo{Enabled: &drs}})
	check(err)
	var hosts []*object.HostSystem
	for _, h := range inv.Hosts {
		// Each host is a copy of the simulator's ESXi template: give it the stack's threads and memory.
		esx.HostHardwareInfo.CpuInfo.NumCpuThreads, esx.HostHardwareInfo.CpuInfo.NumCpuCores = int16(h.CPUThreads), int16(h.CPUThreads/2)
		esx.HostHardwareInfo.MemorySize = h.MemoryGiB << 30
		hw := esx.HostSystem.Summary.Hardware
		hw.NumCpuThreads, hw.NumCpuCores, hw.MemorySize = int16(h.CPUThreads), int16(h.CPUThreads/2), h.MemoryGiB<<30
		task, err := cluster.AddHost(ctx, types.HostConnectSpec{HostName: h.Name}, true, nil, nil)
		check(err)
		info, err := task.WaitForResult(ctx, nil)
		check(err)
		hosts = append(hosts, object.NewHostSystem(c.Client, info.Result.(types.ManagedObjectReference)))
	}
	dir, err := os.MkdirTemp("", "vcsim-datastore-")
	check(err)
	var mounts []types.DatastoreHostMount
	var ds *object.Datastore
	for _, h := range hosts {
		dss, err := h.ConfigManager().DatastoreSystem(ctx)
		check(err)
		ds, err = dss.CreateLocalDatastore(ctx, inv.Datastore, dir)
		check(err)
		mounts = append(mounts, types.DatastoreHostMount{Key: h.Reference(), MountInfo: types.HostMountInfo{
			AccessMode: "readWrite", Mounted: types.NewBool(true), Accessible: types.NewBool(true)}})
	}
	// The simulator records only the first host's mount of a datastore shared this way, and checks a
	// datastore named "vsanDatastore" as vSAN does (three hosts or more): record every mount.
	simulator.Map.Get(ds.Reference()).(*simulator.Datastore).Host = mounts
	pool, err := cluster.ResourcePool(ctx)
	check(err)
	_, err = pool.Create(ctx, inv.ResourcePool, types.DefaultResourceConfigSpec())
	check(err)
	_, err = folders.VmFolder.CreateFolder(ctx, inv.Folder)
	check(err)
	createTemplate(ctx, c, dc, folders, pool, hosts[0], inv)

	fmt.Printf("vcsim: the stand-in for vCenter and ESXi (%d hosts) serving at %s\n", len(hosts), s.URL)
	select {}
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

func check(err error) {
	if err != nil {
		log.Fatalf("vcsim: %v", err)
	}
}
