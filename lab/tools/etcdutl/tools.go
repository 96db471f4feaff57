//go:build tools

// Package tools pins etcdutl's main package (go build go.etcd.io/etcd/etcdutl/v3): the offline
// snapshot tool (`etcdutl snapshot status`, `snapshot restore`) the lab checks the control planes'
// etcd snapshots with.
package tools

import _ "go.etcd.io/etcd/etcdutl/v3"
