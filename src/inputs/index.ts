export { collectInputs } from "./collect.ts";
export type { CollectOptions, NeuronSource } from "./collect.ts";
export type { NeuronKind } from "./kind.ts";
export { loadNeuron, loadNeuronSync, neuronFromText } from "./load.ts";
export type { LoadedNeuron } from "./load.ts";
