import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { runUnderMocks, redactSecrets } from "../src/plan/mock-runtime";

class Leaf extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super("test:index:Leaf", name, props, opts);
  }
}

class Thing extends pulumi.ComponentResource {
  constructor(name: string, secret: pulumi.Input<string>, opts?: pulumi.ComponentResourceOptions) {
    super("test:index:Thing", name, {}, opts);
    new Leaf(`${name}-leaf`, { s: pulumi.secret(secret), n: 1 }, { parent: this, version: "1.2.3" });
    this.registerOutputs({});
  }
}

describe("mock runtime", () => {
  it("records the graph with parents, versions and secret markers, and reads config", async () => {
    const r = await runUnderMocks(
      { project: "p", stack: "s", config: { "p:word": "hello" }, invokes: {} },
      async () => {
        const cfg = new pulumi.Config("p");
        new Thing("a", cfg.require("word"));
        return { out: pulumi.secret("x"), plain: 1 };
      },
    );
    const leaf = r.resources.find((x) => x.type === "test:index:Leaf");
    assert.ok(leaf);
    assert.equal(leaf.parent, "a");
    assert.equal(leaf.version, "1.2.3");
    assert.deepEqual(redactSecrets(leaf.inputs), { s: "[secret]", n: 1 });
    assert.deepEqual(r.secretOutputs, ["out"]);
  });

  it("fails on an invoke it has no answer for, and runs again cleanly", async () => {
    await assert.rejects(
      runUnderMocks({ project: "p", stack: "s", config: {}, invokes: {} }, async () => {
        const v = await pulumi.runtime.invoke("x:index:getNothing", {});
        return { v };
      }),
      /unexpected invoke x:index:getNothing/,
    );
    const r = await runUnderMocks({ project: "p", stack: "s", config: {}, invokes: {} }, async () => {
      new Thing("b", "z");
      return {};
    });
    assert.deepEqual(r.resources.map((x) => x.name).sort(), ["b", "b-leaf", "p-s"]);
  });
});
