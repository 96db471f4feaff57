/** The vSphere layer: settings, placement decisions, static addressing, DRS rules, static MACs, the topology component (the generated provider binding stays internal). */
export * from "./placement";
export * from "./addressing";
export * from "./topology";
export * from "./settings";
export * from "./drs";
export * from "./mac";
export * from "./inventory-check";
