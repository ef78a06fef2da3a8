// Exceptions that imports throw on purpose: a trap of the calling module, or the refusal of a host
// call made by the start section during instantiation. Nothing else may throw out of an import.

/** Thrown from an import to trap the calling module (the message becomes the trap text). */
export class WasmTrap extends Error {}

/** Thrown by any import called while the start section runs (no context exists in Envoy then). */
export class StartSectionCall extends Error {
  constructor(readonly importName: string) {
    super(`${importName} called during instantiation`);
  }
}
