// The page browser-webgpu.mjs loads: fusor on webgpu, then tfjs's webgpu backend, on the same
// adapter; results (or the error of each side) go to window.benchResult.
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { bufferNode } from '@fusor/ir';
import { getBuffer, setBuffer } from '@fusor/compiler';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { fusorWebgpuCases, tfjsWebgpuCases } from '../webgpu-cases.mjs';

const msg = (e) => String(e?.stack ?? e?.message ?? e);

async function main() {
  const out = { userAgent: navigator.userAgent };
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    const info = adapter?.info;
    out.adapter = info ? `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim() : 'no adapter';
  } catch (e) {
    out.adapter = `requestAdapter failed: ${msg(e)}`;
  }
  try {
    out.fusor = { description: await torch.init('webgpu'), results: await fusorWebgpuCases({ torch, bufferNode, getBuffer, setBuffer }) };
  } catch (e) {
    out.fusor = { error: msg(e) };
  }
  try {
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
    await tf.ready();
    out.tfjs = { backend: tf.getBackend(), version: tf.version_core, results: await tfjsWebgpuCases(tf) };
  } catch (e) {
    out.tfjs = { error: msg(e) };
  }
  return out;
}

main().then(
  (r) => (window.benchResult = r),
  (e) => (window.benchResult = { error: msg(e) }),
);
