//go:build tools

// govc, govmomi's command-line client, built from the same module: the lab reads the inventory
// back from vcsim with it (an independent client of the vSphere API).
package main

import _ "github.com/vmware/govmomi/govc"
