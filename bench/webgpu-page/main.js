// The page browser-webgpu.mjs loads: fusor on webgpu and tfjs's webgpu backend on the same
// adapter, case by case (fusor's run of a case, then tfjs's), so the two sides of each ratio run
// minutes apart at most on a machine whose load moves; results (or each side's error) go to
// window.benchResult.
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { bufferNode } from '@fusor/ir';
import { getBuffer, setBuffer } from '@fusor/runtime';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { WEBGPU_CASES, fusorWebgpuCase, putResult, tfjsWebgpuCase } from '../webgpu-cases.mjs';

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
  let fusor;
  try {
    out.fusor = { description: await torch.init('webgpu'), results: {} };
    fusor = fusorWebgpuCase({ torch, bufferNode, getBuffer, setBuffer });
  } catch (e) {
    out.fusor = { error: msg(e) };
  }
  let tfjs;
  try {
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
    await tf.ready();
    out.tfjs = { backend: tf.getBackend(), version: tf.version_core, results: {} };
    tfjs = tfjsWebgpuCase(tf);
  } catch (e) {
    out.tfjs = { error: msg(e) };
  }
  for (const name of WEBGPU_CASES) {
    for (const [side, run] of [['fusor', fusor], ['tfjs', tfjs]]) {
      if (!run || out[side].error) continue;
      try {
        putResult(out[side].results, name, await run(name));
      } catch (e) {
        out[side].error = `${name}: ${msg(e)}`;
      }
    }
  }
  return out;
}

main().then(
  (r) => (window.benchResult = r),
  (e) => (window.benchResult = { error: msg(e) }),
);
