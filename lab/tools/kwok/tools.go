//go:build tools

// Package tools pins kwok's command.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
