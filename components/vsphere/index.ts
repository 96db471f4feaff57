/** The vSphere layer: settings, placement decisions, static addressing, the topology component (the generated provider binding stays internal). */
export * from "./placement";
export * from "./addressing";
export * from "./topology";
export * from "./settings";
