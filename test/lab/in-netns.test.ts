/**
 * `lab/in-netns.sh`: the whole-stack lab (test/lab/whole-stack.lab.ts) makes the stack's addresses
 * local and binds its own /etc/hosts only inside a network and mount namespace of its own. Runs the
 * real script (util-linux unshare; root, as CI is): the command sees loopback alone and the marker
 * variable, and an address or a bind mount made there is gone outside.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../../..");
const SCRIPT = path.join(ROOT, "lab/in-netns.sh");
const links = (out: string) => out.split("\n").filter(Boolean).map((l) => l.split(":")[1].trim());

describe("lab/in-netns.sh", function () {
  this.timeout(30_000);

  it("runs the command with loopback as its only interface and VSPHERE_SPARK_LAB_NETNS=1; the machine's own namespace has more (negative control)", function () {
    const inside = spawnSync("bash", [SCRIPT, "bash", "-c", 'ip -o link show; echo "marker=$VSPHERE_SPARK_LAB_NETNS"'], { encoding: "utf8" });
    assert.equal(inside.status, 0, inside.stderr);
    const [linkLines, marker] = [inside.stdout.split("\n").filter((l) => /^\d+: /.test(l)).join("\n"), /marker=(\S*)/.exec(inside.stdout)?.[1]];
    assert.deepEqual(links(linkLines), ["lo"]);
    assert.equal(marker, "1");
    const outside = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
    assert.notDeepEqual(links(outside.stdout), ["lo"], "negative control: the machine's namespace is told apart");
  });

  it("an address and a bind mount over /etc/hosts made inside are not seen outside, and the command's exit status is kept", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "in-netns-test-"));
    try {
      const hosts = path.join(dir, "hosts");
      fs.writeFileSync(hosts, "127.0.0.1 in-netns-test.invalid\n");
      const r = spawnSync("bash", [SCRIPT, "bash", "-c", `ip addr add 192.0.2.1/24 dev lo && mount --bind ${hosts} /etc/hosts && getent hosts in-netns-test.invalid && exit 7`], { encoding: "utf8" });
      assert.equal(r.status, 7, r.stderr);
      assert.match(r.stdout, /in-netns-test\.invalid/);
      assert.doesNotMatch(fs.readFileSync("/etc/hosts", "utf8"), /in-netns-test/);
      assert.doesNotMatch(spawnSync("ip", ["-o", "addr", "show"], { encoding: "utf8" }).stdout, /192\.0\.2\.1\//);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
