/** The vSphere layer: placement decisions, static addressing, the typed provider binding, the topology component. */
export * from "./placement";
export * from "./addressing";
export * from "./topology";
export * as vsphere from "./binding";
