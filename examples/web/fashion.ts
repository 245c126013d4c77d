/**
 * The Fashion-MNIST training page: a PyTorch-style loop with @fusor/nn (an nn.Module MLP,
 * optim.Adam, a shuffled data.DataLoader) on a subset the dev server or build cuts from Debian's
 * dataset files (fashion-subset.ts), on webgpu or cpu, with live loss and accuracy plots.
 *
 * For tests: `body[data-state]` is loading | idle | running | done | error, `body[data-webgpu]`
 * is ok | unavailable once the probe settles, and `#summary` holds the numbers of the last run.
 */
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu'; // registers the webgpu backend
import { data, nn, optim } from '@fusor/nn';
import { drawAccuracy, drawLoss, drawSamples } from './chart.js';
import { $, breathe, errorText, showState } from './page.js';

const BATCH = 64;
const LR = 1e-3;
const EVAL_EVERY = 25;
const CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'];
// Fashion-MNIST's pixel mean and standard deviation (of the full training set, in [0, 1])
const MEAN = 0.286;
const STD = 0.353;

type State = 'loading' | 'idle' | 'running' | 'done' | 'error';
let stopRequested = false;

function setState(state: State, message: string): void {
  const busy = showState(state, message);
  $<HTMLButtonElement>('run-train').disabled = busy || !subset;
  $<HTMLButtonElement>('stop-train').disabled = state !== 'running';
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name=device]')) input.disabled = busy || input.dataset['available'] === 'no';
}



async function probe(device: string): Promise<boolean> {
  const input = $<HTMLInputElement>(`device-${device}`);
  const note = $(`note-${device}`);
  try {
    note.textContent = await torch.init(device);
    input.dataset['available'] = 'yes';
    return true;
  } catch (e) {
    input.dataset['available'] = 'no';
    note.textContent = `unavailable — ${errorText(e)}`;
    note.classList.add('error');
    return false;
  }
}

// ── data ────────────────────────────────────────────────────────────────────────────────

interface Subset {
  train: data.TensorDataset;
  testX: torch.Tensor;
  testY: torch.Tensor;
  /** The raw test pixels, for drawing. */
  testPixels: Uint8Array;
  rows: number;
  cols: number;
}
let subset: Subset | undefined;

/** fashion-subset.bin (see fashion-subset.ts for the layout) as normalized float images and int64 labels. */
async function loadSubset(): Promise<Subset> {
  const res = await fetch('./fashion-subset.bin');
  if (!res.ok) throw new Error(`no Fashion-MNIST subset (HTTP ${res.status}): ${(await res.text()).slice(0, 200) || 'the build had no dataset (apt-get install dataset-fashion-mnist)'}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const [nTrain, nTest, rows, cols] = Array.from(new Uint32Array(bytes.buffer, 0, 4));
  const px = rows! * cols!;
  let at = 16;
  const take = (n: number): Uint8Array => bytes.subarray(at, (at += n));
  const images = (raw: Uint8Array, n: number): torch.Tensor =>
    torch.tensor(Float32Array.from(raw, (v) => (v / 255 - MEAN) / STD)).reshape(n, 1, rows!, cols!);
  const labels = (raw: Uint8Array): torch.Tensor => torch.tensor(Array.from(raw), { dtype: torch.int64 });
  const trainPixels = take(nTrain! * px);
  const trainLabels = take(nTrain!);
  const testPixels = take(nTest! * px);
  const testLabels = take(nTest!);
  $('subset').textContent = `${nTrain} training and ${nTest} test images`;
  return {
    train: new data.TensorDataset(images(trainPixels, nTrain!), labels(trainLabels)),
    testX: images(testPixels, nTest!),
    testY: labels(testLabels),
    testPixels,
    rows: rows!,
    cols: cols!,
  };
}

// ── the model ───────────────────────────────────────────────────────────────────────────

class MLP extends nn.Module {
  flatten = new nn.Flatten();
  fc1 = new nn.Linear(28 * 28, 128);
  relu = new nn.ReLU();
  fc2 = new nn.Linear(128, 10);
  override forward(x: torch.Tensor): torch.Tensor {
    return this.fc2.forward(this.relu.forward(this.fc1.forward(this.flatten.forward(x))));
  }
}

// ── training ────────────────────────────────────────────────────────────────────────────

interface Run {
  device: string;
  losses: number[];
  trainAcc: number[];
  testAcc: [number, number][];
  ms: number;
}

function redraw(run: Run, steps: number): void {
  drawLoss($<HTMLCanvasElement>('loss-chart'), [{ label: run.device, color: '#e0731b', values: run.losses }], steps);
  drawAccuracy(
    $<HTMLCanvasElement>('acc-chart'),
    [
      { label: 'train batch', color: '#9fb6ea', points: run.trainAcc.map((a, i) => [i, a]) },
      { label: 'test', color: '#2f5fd0', points: run.testAcc },
    ],
    steps,
  );
  const n = run.losses.length;
  const cell = (cls: string, text: string): void => void ($('summary').querySelector(`td.${cls}`)!.textContent = text);
  cell('device', run.device);
  cell('steps', String(n));
  cell('first', n ? run.losses[0]!.toPrecision(5) : '');
  cell('last', n ? run.losses[n - 1]!.toPrecision(5) : '');
  const acc = run.testAcc.at(-1);
  cell('acc', acc ? `${(acc[1] * 100).toFixed(1)}%` : '');
  cell('ms', n ? (run.ms / n).toFixed(1) : '');
}

/** Accuracy on the test subset and the first predictions, in eval mode without gradients. */
async function evaluate(model: MLP, s: Subset, device: string): Promise<{ acc: number; pred: number[] }> {
  model.eval();
  try {
    const pred = torch.noGrad(() => model.forward(s.testX.to(device)).argmax(1));
    const acc = (await pred.eq(s.testY.to(device)).float().mean().item()) as number;
    return { acc, pred: Array.from((await pred.cpu().data()) as ArrayLike<number | bigint>, Number) };
  } finally {
    model.train();
  }
}

async function train(device: string, steps: number): Promise<void> {
  const s = subset!;
  torch.manualSeed(0); // the same initial weights on every device
  const model = new MLP().to(device);
  const opt = new optim.Adam(model.parameters(), { lr: LR });
  const loader = new data.DataLoader(s.train, { batchSize: BATCH, shuffle: true, dropLast: true, generator: new data.Generator().manualSeed(0) });
  const run: Run = { device, losses: [], trainAcc: [], testAcc: [], ms: 0 };
  const labels = Array.from((await s.testY.data()) as ArrayLike<number | bigint>, Number);
  const show = async (): Promise<void> => {
    const { acc, pred } = await evaluate(model, s, device);
    run.testAcc.push([Math.max(0, run.losses.length - 1), acc]);
    drawSamples($<HTMLCanvasElement>('samples'), s.testPixels, s.rows, s.cols, labels, pred, CLASSES);
  };
  await show(); // before training: chance level
  const t0 = performance.now();
  let step = 0;
  while (step < steps && !stopRequested) {
    for (const [xb, yb] of loader) {
      if (step >= steps || stopRequested) break;
      const x = xb!.to(device);
      const y = yb!.to(device);
      const logits = model.forward(x);
      const loss = nn.functional.crossEntropy(logits, y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      // one read per step: the loss and the batch accuracy together
      const both = torch.stack([loss.detach(), logits.detach().argmax(1).eq(y).float().mean()]);
      const [l, a] = Array.from((await both.data()) as Float32Array);
      run.losses.push(l!);
      run.trainAcc.push(a!);
      step++;
      if (step % EVAL_EVERY === 0 || step === steps) await show();
      run.ms = performance.now() - t0;
      setState('running', `Training on ${device}: step ${step} / ${steps}, loss ${l!.toPrecision(4)}`);
      redraw(run, steps);
      await breathe();
    }
  }
  if (run.testAcc.at(-1)![0] !== run.losses.length - 1) await show();
  redraw(run, steps);
}

// ── wiring ──────────────────────────────────────────────────────────────────────────────

$('eval-every').textContent = String(EVAL_EVERY);
$('run-train').addEventListener('click', () => {
  const device = document.querySelector<HTMLInputElement>('input[name=device]:checked')?.value ?? 'cpu';
  const steps = Math.max(1, Math.min(5000, Math.floor(Number($<HTMLInputElement>('steps').value)) || 1));
  stopRequested = false;
  setState('running', `Training on ${device}…`);
  void (async () => {
    await breathe(true);
    try {
      const t0 = performance.now();
      await train(device, steps);
      setState('done', `Training on ${device}: done in ${((performance.now() - t0) / 1000).toFixed(2)} s.`);
    } catch (e) {
      console.error(e);
      setState('error', `Training on ${device} failed: ${errorText(e)}`);
    }
  })();
});
$('stop-train').addEventListener('click', () => void (stopRequested = true));

setState('loading', 'Checking devices and loading the data…');
const [, gpu] = await Promise.all([probe('cpu'), probe('webgpu')]);
document.body.dataset['webgpu'] = gpu ? 'ok' : 'unavailable';
$<HTMLInputElement>(gpu ? 'device-webgpu' : 'device-cpu').checked = true;
try {
  subset = await loadSubset();
  setState('idle', 'Ready. Pick a device and press Train.');
} catch (e) {
  setState('error', errorText(e));
}
