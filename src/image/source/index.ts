// Image sources for `tsrun bundle --from`: archives, layouts and stdin
// opened as an ImageSource, and a layer's verified, uncompressed tar.
export { openImageSource, type SourceOptions } from './open-source';
export { openLayerTar } from './layer-tar';
