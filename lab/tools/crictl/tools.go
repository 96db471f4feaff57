//go:build tools

// Package tools pins crictl (sigs.k8s.io/cri-tools v1.34.0, the release matching Kubernetes 1.34),
// which kubeadm's Debian package depends on (cri-tools) and the certificate renewal script uses to
// see the static Pods' containers: the boot lab's real-kubeadm image carries it.
package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
