// The layer writer: image layers (uncompressed tar streams) applied onto a rootfs directory.
export { RootfsWriter, type WriterOptions, type WriterReport } from './writer';
export { LayerError } from './layer-error';
