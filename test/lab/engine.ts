/**
 * The real Pulumi engine for the lab: the Pulumi CLI built from its Go module, driven through the
 * Automation API (`LocalWorkspace` with an inline program: the program runs in this Node process, so
 * no language-host binary is needed), with a file backend, a passphrase secrets provider, automatic
 * plugin acquisition off, and a PULUMI_HOME of its own holding exactly the provider plugins the lab
 * installs from its builds.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, PulumiFn, Stack } from "@pulumi/pulumi/automation";

export interface Engine {
  /** The directory holding the state, PULUMI_HOME and the work directories. */
  dir: string;
  env: Record<string, string>;
  command: PulumiCommand;
}

/** The version of an npm package as installed (what the SDK asks the engine for). */
export function npmVersion(pkg: string, root: string): string {
  return JSON.parse(fs.readFileSync(path.join(root, "node_modules", pkg, "package.json"), "utf8")).version;
}

/**
 * An engine with its own backend and plugin directory; `plugins` maps a provider name to
 * `{ version, file }` installed with `pulumi plugin install resource NAME VERSION --file FILE`.
 */
export async function makeEngine(dir: string, pulumiBin: string, plugins: Record<string, { version: string; file: string }> = {}): Promise<Engine> {
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  fs.mkdirSync(path.join(dir, "home"), { recursive: true });
  const env: Record<string, string> = {
    PULUMI_HOME: path.join(dir, "home"),
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "vsphere-spark-lab",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // Only the plugins installed here count: a pulumi-resource-* on PATH would win otherwise.
    PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
  };
  for (const [name, p] of Object.entries(plugins)) {
    execFileSync(pulumiBin, ["plugin", "install", "resource", name, p.version, "--file", p.file], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  }
  // PulumiCommand.get looks for <root>/bin/pulumi.
  const root = path.join(dir, "cli");
  fs.mkdirSync(path.join(root, "bin"), { recursive: true });
  fs.rmSync(path.join(root, "bin/pulumi"), { force: true });
  fs.symlinkSync(pulumiBin, path.join(root, "bin/pulumi"));
  return { dir, env, command: await PulumiCommand.get({ root, skipVersionCheck: true }) };
}

/** A stack of an inline program on the engine. */
export async function inlineStack(engine: Engine, projectName: string, stackName: string, program: PulumiFn): Promise<Stack> {
  const workDir = path.join(engine.dir, "work", projectName);
  fs.mkdirSync(workDir, { recursive: true });
  return LocalWorkspace.createOrSelectStack(
    { projectName, stackName, program },
    {
      workDir,
      envVars: engine.env,
      pulumiHome: engine.env.PULUMI_HOME,
      pulumiCommand: engine.command,
      projectSettings: { name: projectName, runtime: "nodejs", backend: { url: engine.env.PULUMI_BACKEND_URL } },
    },
  );
}
