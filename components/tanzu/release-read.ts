/**
 * Reads the two objects `checkSupervisorRelease` (release-check.ts) decides on from the Supervisor's
 * Kubernetes API: the TanzuKubernetesRelease named by `cluster.release` and, for `api: cluster`, the
 * ClusterClass in its namespace. A thin shell: a 404 is "missing", another failure "unreadable" with
 * what the Supervisor answered.
 */
import { getJson } from "../https-json";
import { kubeconfigAccess } from "./node-pools-ready";
import { releaseObjectPaths, type ClusterClassObject, type Observed, type OsImageObject, type SupervisorReleaseObjects, type TkrObject } from "./release-check";
import type { TanzuSettings } from "./types";

async function observe<T>(url: string, access: ReturnType<typeof kubeconfigAccess>, timeoutMs: number, what: string): Promise<Observed<T>> {
  try {
    return { state: "found", object: (await getJson(url, access, timeoutMs, what)) as T };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return { state: "missing" };
    return { state: "unreadable", error: (e as Error).message };
  }
}

/** `clusterClass: false` leaves the ClusterClass unread (its namespace may not exist yet). */
export async function readSupervisorReleaseObjects(
  kubeconfig: string,
  settings: TanzuSettings,
  which: { tkr: boolean; clusterClass: boolean },
  timeoutMs = 30_000,
): Promise<SupervisorReleaseObjects> {
  const access = kubeconfigAccess(kubeconfig);
  const paths = releaseObjectPaths(settings);
  const out: SupervisorReleaseObjects = {};
  if (which.tkr) out.tkr = await observe<TkrObject>(`${access.server}${paths.tkr}`, access, timeoutMs, "the TanzuKubernetesRelease");
  // The OS images the TKr ships (cluster-scoped, as the TKr); one the Supervisor lacks is left out,
  // as the resolver leaves it out; one unreadable leaves the OS rule unchecked.
  const names = out.tkr?.state === "found" ? (out.tkr.object.spec?.osImages ?? []).map((r) => r?.name).filter((n): n is string => typeof n === "string" && n.length > 0) : [];
  if (names.length > 0) {
    const images: OsImageObject[] = [];
    let complete = true;
    for (const n of names) {
      const o = await observe<OsImageObject>(`${access.server}/apis/run.tanzu.vmware.com/v1alpha3/osimages/${encodeURIComponent(n)}`, access, timeoutMs, "the OSImage");
      if (o.state === "found") images.push(o.object);
      else if (o.state === "unreadable") complete = false;
    }
    if (complete) out.osImages = images;
  }
  if (which.clusterClass && paths.clusterClass) out.clusterClass = await observe<ClusterClassObject>(`${access.server}${paths.clusterClass}`, access, timeoutMs, "the ClusterClass");
  return out;
}
