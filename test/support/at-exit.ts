/**
 * One process-wide cleanup list for the labs' child processes and network namespaces: a single
 * `exit` listener (and SIGINT/SIGTERM turned into exit 130, so a Ctrl-C cleans up too), however
 * many processes and networks a run starts. One listener each made Node warn
 * (MaxListenersExceededWarning) once a boot file started more than ten networks.
 */
const cleanups = new Set<() => void>();
let installed = false;

/** Runs `fn` when the process exits, unless the returned function was called first. */
export function atExit(fn: () => void): () => void {
  if (!installed) {
    installed = true;
    process.once("exit", () => {
      for (const f of [...cleanups].reverse()) {
        try {
          f();
        } catch {
          /* best effort: the rest still run */
        }
      }
    });
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));
  }
  cleanups.add(fn);
  return () => void cleanups.delete(fn);
}

/** How many cleanups are registered (the lab's check that finished work unregisters its own). */
export function pendingCleanups(): number {
  return cleanups.size;
}
