//go:build tools

// Package tools pins the node's Kubernetes commands the boot lab's real `kubeadm init` runs
// (go build k8s.io/kubernetes/cmd/...): the same k8s.io/kubernetes as lab/tools/kubernetes/.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
