/**
 * Container image references, parsed and validated against the OCI distribution reference
 * grammar (github.com/distribution/reference, `reference.go`):
 *
 *   reference       := name [ ":" tag ] [ "@" digest ]
 *   name            := [ domain "/" ] path
 *   domain          := host [ ":" port ]          host: DNS name, IPv4, or [IPv6]
 *   path            := path-component ( "/" path-component )*
 *   path-component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag             := [\w][\w.-]{0,127}
 *   digest          := algorithm ":" hex          algorithm: [A-Za-z][A-Za-z0-9]* ( [+._-] [A-Za-z][A-Za-z0-9]* )*
 *
 * As in Docker's normalisation, the first path element is a registry only when it contains a
 * "." or a ":", is `localhost`, or is a bracketed IPv6 address; otherwise the whole name is a path
 * on the default registry (`apache/spark` is `docker.io/apache/spark`). The name (domain + path)
 * is at most 255 characters.
 */

export interface ImageRef {
  /** Registry host with optional port (`192.168.1.1:5000`, `harbor.example.com`); absent for Docker Hub. */
  registry?: string;
  /** Repository path inside the registry (`apache/spark`, `spark-tf`). */
  repository: string;
  tag?: string;
  /** `algorithm:hex`, e.g. `sha256:<64 hex>`. */
  digest?: string;
}

const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const PATH = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_NAME = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*$`);
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const NAME_MAX = 255;

/** Checks a registry host[:port]; returns a message when it is not valid. */
export function registryError(registry: string): string | undefined {
  let host = registry;
  let port: string | undefined;
  if (registry.startsWith("[")) {
    const end = registry.indexOf("]");
    if (end < 0) return `registry "${registry}" has an unclosed "["`;
    host = registry.slice(0, end + 1);
    const rest = registry.slice(end + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return `registry "${registry}" has text after the IPv6 address`;
      port = rest.slice(1);
    }
    if (!IPV6.test(host)) return `registry "${registry}" is not a valid bracketed IPv6 address`;
  } else {
    const colon = registry.lastIndexOf(":");
    if (colon >= 0) {
      host = registry.slice(0, colon);
      port = registry.slice(colon + 1);
    }
    if (!DOMAIN_NAME.test(host)) return `registry host "${host}" is not a valid host name or IPv4 address`;
  }
  if (port !== undefined) {
    if (!/^[0-9]+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return `registry port "${port}" must be a number from 1 to 65535`;
    }
  }
  return undefined;
}

/** Checks the parts of a reference; returns every problem found. */
export function imageRefErrors(ref: ImageRef): string[] {
  const errors: string[] = [];
  if (ref.registry !== undefined) {
    const e = registryError(ref.registry);
    if (e) errors.push(e);
  }
  if (!PATH.test(ref.repository)) {
    errors.push(
      `repository "${ref.repository}" must be lowercase path components ([a-z0-9] joined by ".", "_", "__" or "-") separated by "/"`,
    );
  }
  const nameLength = (ref.registry ? ref.registry.length + 1 : 0) + ref.repository.length;
  if (nameLength > NAME_MAX) errors.push(`image name is ${nameLength} characters, more than ${NAME_MAX}`);
  if (ref.tag !== undefined && !TAG.test(ref.tag)) {
    errors.push(`tag "${ref.tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  if (ref.digest !== undefined) {
    if (!DIGEST.test(ref.digest)) {
      errors.push(`digest "${ref.digest}" must be algorithm:hex (at least 32 hex digits)`);
    } else if (ref.digest.startsWith("sha256:") && ref.digest.length !== "sha256:".length + 64) {
      errors.push(`digest "${ref.digest}" is sha256 and must have exactly 64 hex digits`);
    } else if (ref.digest.startsWith("sha512:") && ref.digest.length !== "sha512:".length + 128) {
      errors.push(`digest "${ref.digest}" is sha512 and must have exactly 128 hex digits`);
    }
  }
  return errors;
}

/** Splits a reference string into its parts and validates them. */
export function parseImageRef(text: string): { ref?: ImageRef; errors: string[] } {
  if (text === "") return { errors: ["image reference is empty"] };
  if (/\s/.test(text)) return { errors: [`image reference "${text}" contains white space`] };
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  // A tag follows the last ":" that comes after the last "/" (a ":" before it is a registry port).
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let registry: string | undefined;
  const firstSlash = rest.indexOf("/");
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[") || first !== first.toLowerCase()) {
      registry = first;
      rest = rest.slice(firstSlash + 1);
    }
  }
  const ref: ImageRef = { repository: rest };
  if (registry !== undefined) ref.registry = registry;
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  const errors = imageRefErrors(ref);
  return errors.length > 0 ? { errors } : { ref, errors };
}

/** The canonical text form: `registry/repository:tag@digest` with absent parts left out. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry ? `${ref.registry}/` : ""}${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}
