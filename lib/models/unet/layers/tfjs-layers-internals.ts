// The one file that imports tfjs-layers' private modules (types only, erased at build time): `LayerArgs` is not
// exported from the package entry. A tfjs-layers upgrade that moves it breaks the build here and nowhere else.
export type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
