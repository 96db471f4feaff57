// The provider's own main (provider/cmd/pulumi-resource-kubernetes/main.go) embeds
// schema-embed.json and terraform-mapping-embed.json, which its `go generate` writes and which are
// not in the module zip. This main is the same but for those two files: lab/build-tools.sh writes
// them from the module's committed schema.json (with `version` set, as its generate.go does) and
// terraform-mapping.json before building, into a copy of this folder.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
