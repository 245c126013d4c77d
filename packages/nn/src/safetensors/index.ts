/** Checkpoints in the safetensors format: `save`/`load` (bytes), `saveFile`/`loadFile` (Node). */
export { save, saveAsync, load, metadata, readHeader, SafetensorsError, type Header, type LoadOptions, type Metadata } from './format.js';
export { saveFile, loadFile } from './file.js';
