/**
 * fusor's browser demo: pick cpu or webgpu, run the seed walkthrough (tensors, printing,
 * autograd) and train a small MLP with a live loss plot. Reads are awaited (`toStringAsync()`,
 * `item()`, `data()`), so the same code runs on synchronous (cpu) and asynchronous (webgpu)
 * devices.
 *
 * For tests: `body[data-state]` is loading | idle | running | done | error, and
 * `body[data-webgpu]` is pending | ok | unavailable once the adapter probe settles.
 */
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu'; // registers the webgpu backend
import { drawFit, drawLoss, type Series } from './chart.js';
import { $, breathe, errorText, showState } from './page.js';

const COLORS: Record<string, string> = { cpu: '#2f5fd0', webgpu: '#e0731b' };
const STEPS = 200;

// ── state and status ────────────────────────────────────────────────────────────────────

type State = 'loading' | 'idle' | 'running' | 'done' | 'error';

function setState(state: State, message: string): void {
  const busy = showState(state, message);
  $<HTMLButtonElement>('run-walkthrough').disabled = busy;
  $<HTMLButtonElement>('run-train').disabled = busy;
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name=device]')) {
    input.disabled = busy || input.dataset['available'] === 'no';
  }
}

function selectedDevice(): string {
  return document.querySelector<HTMLInputElement>('input[name=device]:checked')!.value;
}



// ── devices ─────────────────────────────────────────────────────────────────────────────

async function probe(device: string): Promise<void> {
  const input = $<HTMLInputElement>(`device-${device}`);
  const note = $(`note-${device}`);
  try {
    const description = await torch.init(device);
    input.dataset['available'] = 'yes';
    note.textContent = description;
    note.title = description;
  } catch (e) {
    // e.g. BackendUnavailableError: no navigator.gpu, no adapter, a failed self-check
    input.dataset['available'] = 'no';
    input.checked = false;
    note.textContent = `unavailable — ${errorText(e)}`;
    note.classList.add('error');
  }
  if (device === 'webgpu') document.body.dataset['webgpu'] = input.dataset['available'] === 'yes' ? 'ok' : 'unavailable';
}

// ── the walkthrough ─────────────────────────────────────────────────────────────────────

/** The transcript: each step shows its code and what printing the result gives. */
class Transcript {
  constructor(private readonly root: HTMLElement) {
    root.replaceChildren();
  }

  comment(text: string): void {
    const p = document.createElement('p');
    p.className = 'comment';
    p.textContent = text;
    this.root.append(p);
  }

  /** Shows `code` and the printed `value` (tensors print with `await t.toStringAsync()`). */
  async show(code: string, value: torch.Tensor | string, id?: string): Promise<void> {
    const text = value instanceof torch.Tensor ? await value.toStringAsync() : value;
    const step = document.createElement('div');
    step.className = 'step';
    if (id) step.dataset['step'] = id;
    const c = document.createElement('pre');
    c.className = 'code';
    c.textContent = code
      .split('\n')
      .map((line) => `> ${line}`)
      .join('\n');
    const out = document.createElement('pre');
    out.className = 'out';
    out.textContent = text;
    step.append(c, out);
    this.root.append(step);
    await breathe();
  }
}

async function walkthrough(device: string): Promise<void> {
  $('walk-device').textContent = `on ${device}`;
  const t = new Transcript($('walkthrough'));
  torch.setDefaultDevice(device); // creation functions now make tensors on `device`
  try {
    t.comment(`1. Tensors — torch.setDefaultDevice('${device}')`);
    torch.manualSeed(0);
    const r = torch.rand(4, 3);
    await t.show('torch.manualSeed(0)\nr = torch.rand(4, 3)', r, 'rand');
    await t.show('r.shape', `[${r.shape.join(', ')}]`);
    await t.show('torch.zeros(2, 3, { dtype: torch.long })', torch.zeros(2, 3, { dtype: torch.long }));
    await t.show('torch.tensor([[1, 2], [3, 4]])', torch.tensor([[1, 2], [3, 4]]));
    await t.show('torch.arange(0, 10, 2)', torch.arange(0, 10, 2));
    await t.show('torch.linspace(0, 1, 5)', torch.linspace(0, 1, 5));

    t.comment('2. Arithmetic, broadcasting, reductions');
    const a = torch.arange(6, { dtype: torch.float32 }).reshape(2, 3);
    await t.show('a = torch.arange(6, { dtype: torch.float32 }).reshape(2, 3)', a);
    await t.show('a.add(torch.tensor([10, 20, 30]))', a.add(torch.tensor([10, 20, 30])));
    await t.show('a.matmul(a.t())', a.matmul(a.t()));
    await t.show('a.softmax(1)', a.softmax(1));
    await t.show('a.sum(1)', a.sum(1));

    t.comment('3. Autograd');
    const x = torch.ones(2, 2, { requiresGrad: true });
    await t.show('x = torch.ones(2, 2, { requiresGrad: true })', x);
    const y = x.pow(2);
    await t.show('y = x.pow(2)', y);
    const z = y.mul(y).mul(3);
    await t.show('z = y.mul(y).mul(3)', z);
    const out = z.mean();
    await t.show('out = z.mean()', out, 'out');
    out.backward();
    await t.show('out.backward()\nx.grad            // d(out)/dx = 3x³ = 3', x.grad!, 'grad');
    x.sum().backward();
    await t.show('x.sum().backward()\nx.grad            // gradients accumulate: 3 + 1', x.grad!, 'grad-accumulated');
    x.grad!.zero_();
    x.sum().backward();
    await t.show('x.grad.zero_()\nx.sum().backward()\nx.grad', x.grad!, 'grad-zeroed');
  } finally {
    torch.setDefaultDevice('cpu');
  }
}

// ── training ────────────────────────────────────────────────────────────────────────────

interface Run {
  device: string;
  losses: number[];
  pred: number[];
  ms: number;
}
const runs = new Map<string, Run>();
let xs: number[] = [];
let ys: number[] = [];

function redraw(): void {
  const series = (pick: (r: Run) => number[]): Series[] =>
    [...runs.values()].map((r) => ({ label: r.device, color: COLORS[r.device] ?? '#333', values: pick(r) }));
  drawLoss($<HTMLCanvasElement>('loss-chart'), series((r) => r.losses), STEPS);
  drawFit($<HTMLCanvasElement>('fit-chart'), xs, ys, series((r) => r.pred).filter((s) => s.values.length));
}

function updateTable(): void {
  const body = $('runs').querySelector('tbody')!;
  body.replaceChildren(
    ...[...runs.values()].map((r) => {
      const tr = document.createElement('tr');
      tr.dataset['device'] = r.device;
      const cell = (cls: string, text: string): HTMLTableCellElement => {
        const td = document.createElement('td');
        td.className = cls;
        td.textContent = text;
        return td;
      };
      const name = cell('device', r.device);
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = COLORS[r.device] ?? '#333';
      name.prepend(sw);
      const n = r.losses.length;
      tr.append(
        name,
        cell('steps', String(n)),
        cell('first', n ? r.losses[0]!.toPrecision(5) : ''),
        cell('last', n ? r.losses[n - 1]!.toPrecision(5) : ''),
        cell('ms', n ? (r.ms / n).toFixed(1) : ''),
      );
      return tr;
    }),
  );
}

/** An MLP 1→32→1 with tanh fits y = sin(πx) on 64 points: full-batch SGD with momentum. */
async function train(device: string): Promise<void> {
  const run: Run = { device, losses: [], pred: [], ms: 0 };
  runs.set(device, run);
  torch.manualSeed(0); // the same start on every device: the curves should overlap

  const N = 64;
  const H = 32;
  const x = torch.linspace(-1, 1, N).reshape(N, 1).to(device);
  const y = x.mul(Math.PI).sin();
  xs = Array.from((await x.data()) as Float32Array);
  ys = Array.from((await y.data()) as Float32Array);

  const params = [
    torch.randn(1, H).mul(3), // w1
    torch.randn(H).mul(1.5), // b1
    torch.randn(H, 1).mul(1 / Math.sqrt(H)), // w2
    torch.zeros(1), // b2
  ].map((p) => p.to(device).detach().requiresGrad_());
  const [w1, b1, w2, b2] = params as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
  const velocity = params.map((p) => torch.zerosLike(p));
  const lr = 0.1;
  const momentum = 0.9;
  const model = (input: torch.Tensor): torch.Tensor => input.matmul(w1).add(b1).tanh().matmul(w2).add(b2);

  const t0 = performance.now();
  for (let step = 0; step < STEPS; step++) {
    const loss = model(x).sub(y).pow(2).mean();
    loss.backward();
    torch.noGrad(() => {
      params.forEach((p, i) => {
        velocity[i]!.mul_(momentum).add_(p.grad!); // torch.optim.SGD(momentum=0.9)
        p.sub_(velocity[i]!.mul(lr));
        p.grad = null;
      });
    });
    run.losses.push((await loss.item()) as number); // async read: works on every device
    if (step % 10 === 0 || step === STEPS - 1) {
      const pred = torch.noGrad(() => model(x));
      run.pred = Array.from((await pred.data()) as Float32Array);
    }
    run.ms = performance.now() - t0;
    setState('running', `Training on ${device}: step ${step + 1} / ${STEPS}, loss ${run.losses[step]!.toPrecision(4)}`);
    redraw();
    updateTable();
    await breathe();
  }
}

// ── wiring ──────────────────────────────────────────────────────────────────────────────

async function act(what: string, fn: (device: string) => Promise<void>): Promise<void> {
  const device = selectedDevice();
  setState('running', `${what} on ${device}…`);
  await breathe(true);
  try {
    const t0 = performance.now();
    await fn(device);
    setState('done', `${what} on ${device}: done in ${((performance.now() - t0) / 1000).toFixed(2)} s.`);
  } catch (e) {
    console.error(e);
    setState('error', `${what} on ${device} failed: ${errorText(e)}`);
  }
}

$('run-walkthrough').addEventListener('click', () => void act('Walkthrough', walkthrough));
$('run-train').addEventListener('click', () => void act('Training', train));
redraw();
setState('loading', 'Checking devices…');
await Promise.all([probe('cpu'), probe('webgpu')]);
setState('idle', 'Ready. Pick a device and press a button.');
