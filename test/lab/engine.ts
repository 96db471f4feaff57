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
import { LocalWorkspace, ProjectSettings, PulumiCommand, PulumiFn, Stack } from "@pulumi/pulumi/automation";

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

/**
 * The engine's provider for Pulumi dynamic resources (`pulumi-nodejs`): a bundled plugin the engine
 * looks for next to the `pulumi` binary (sdk/go/common/workspace/plugins.go v3.276.0,
 * `IsPluginBundled`), which the lab's CLI build does not ship. It is given to the engine as a project
 * plugin (Pulumi.yaml `plugins.providers[].path`, which the same `getPluginInfoAndPath` looks up
 * first): a directory with `pulumi-resource-pulumi-nodejs` doing what the SDK's own script of that
 * name does (run `@pulumi/pulumi/cmd/dynamic-provider` with node), with the lab's Node.js and this
 * clone's SDK named explicitly instead of found through PATH and the working directory.
 */
export function dynamicProviderPlugin(engine: Engine): string {
  const dir = path.join(engine.dir, "pulumi-nodejs");
  fs.mkdirSync(dir, { recursive: true });
  const script = path.join(dir, "pulumi-resource-pulumi-nodejs");
  const entry = path.join(ROOT_DIR, "node_modules/@pulumi/pulumi/cmd/dynamic-provider");
  fs.writeFileSync(script, `#!/bin/sh\nexec '${process.execPath}' '${entry}' "$@"\n`, { mode: 0o755 });
  return dir;
}

const ROOT_DIR = path.resolve(__dirname, "../../..");

/** A stack of an inline program on the engine; `dynamicProviders` lets it use Pulumi dynamic resources. */
export async function inlineStack(engine: Engine, projectName: string, stackName: string, program: PulumiFn, options: { dynamicProviders?: boolean } = {}): Promise<Stack> {
  const workDir = path.join(engine.dir, "work", projectName);
  fs.mkdirSync(workDir, { recursive: true });
  const plugins = options.dynamicProviders ? { plugins: { providers: [{ name: "pulumi-nodejs", path: dynamicProviderPlugin(engine) }] } } : {};
  return LocalWorkspace.createOrSelectStack(
    { projectName, stackName, program },
    {
      workDir,
      envVars: engine.env,
      pulumiHome: engine.env.PULUMI_HOME,
      pulumiCommand: engine.command,
      // `plugins` is a Pulumi.yaml key the SDK's ProjectSettings type does not list; it is written as given.
      projectSettings: { name: projectName, runtime: "nodejs", backend: { url: engine.env.PULUMI_BACKEND_URL }, ...plugins } as ProjectSettings,
    },
  );
}
