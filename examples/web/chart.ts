/**
 * Hand-drawn line charts on a <canvas> (no chart library): the loss per step on a log scale,
 * and the model's fit against its training points.
 */

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly values: readonly number[];
}

const AXIS = '#5b6473';
const GRID = '#e9ecf1';
const FONT = '12px system-ui, sans-serif';

/** Sizes the canvas backing store for the device pixel ratio; returns a context in CSS pixels. */
function setup(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } {
  // the width/height attributes give the size in CSS pixels; the backing store is scaled by the
  // device pixel ratio (which rewrites those attributes, so the CSS size is kept in data-*)
  const d = canvas.dataset;
  d['w'] ??= canvas.getAttribute('width')!;
  d['h'] ??= canvas.getAttribute('height')!;
  const w = Number(d['w']);
  const h = Number(d['h']);
  const dpr = window.devicePixelRatio || 1;
  if (d['dpr'] !== String(dpr)) {
    d['dpr'] = String(dpr);
    canvas.style.aspectRatio = `${w} / ${h}`;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = FONT;
  return { ctx, w, h };
}

function label(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, align: CanvasTextAlign, base: CanvasTextBaseline): void {
  ctx.fillStyle = AXIS;
  ctx.textAlign = align;
  ctx.textBaseline = base;
  ctx.fillText(text, x, y);
}

/** Loss per step, one line per series, y on a log10 scale with a gridline per decade. */
/** A horizontal grid line at value `y` (already in pixels) across the plot, labelled on the left. */
function gridRow(ctx: CanvasRenderingContext2D, pad: { readonly l: number }, pw: number, y: number, text: string): void {
  const py = Math.round(y) + 0.5;
  ctx.strokeStyle = GRID;
  ctx.beginPath();
  ctx.moveTo(pad.l, py);
  ctx.lineTo(pad.l + pw, py);
  ctx.stroke();
  label(ctx, text, pad.l - 6, py, 'right', 'middle');
}

export function drawLoss(canvas: HTMLCanvasElement, series: readonly Series[], steps: number): void {
  const { ctx, w, h } = setup(canvas);
  const pad = { l: 54, r: 14, t: 14, b: 34 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0);
  let lo = all.length ? Math.floor(Math.log10(Math.min(...all))) : -3;
  let hi = all.length ? Math.ceil(Math.log10(Math.max(...all))) : 1;
  if (hi - lo < 1) hi = lo + 1;
  const X = (i: number): number => pad.l + (pw * i) / Math.max(1, steps - 1);
  const Y = (v: number): number => pad.t + ph * (1 - (Math.log10(v) - lo) / (hi - lo));

  ctx.lineWidth = 1;
  for (let d = lo; d <= hi; d++) {
    gridRow(ctx, pad, pw, Y(10 ** d), d >= 0 && d <= 3 ? String(10 ** d) : `1e${d}`);
  }
  const tick = steps > 100 ? 50 : steps > 20 ? 10 : 1;
  for (let i = 0; i <= steps; i += tick) {
    const x = Math.round(X(Math.min(i, steps - 1))) + 0.5;
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(x, pad.t);
    ctx.lineTo(x, pad.t + ph);
    ctx.stroke();
    label(ctx, String(i), x, pad.t + ph + 4, 'center', 'top');
  }
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(pad.l + 0.5, pad.t + 0.5, pw, ph);
  label(ctx, 'step', pad.l + pw / 2, h - 2, 'center', 'bottom');
  ctx.save();
  ctx.translate(12, pad.t + ph / 2);
  ctx.rotate(-Math.PI / 2);
  label(ctx, 'loss', 0, 0, 'center', 'middle');
  ctx.restore();

  ctx.save();
  ctx.beginPath();
  ctx.rect(pad.l, pad.t, pw, ph);
  ctx.clip();
  ctx.lineJoin = 'round';
  series.forEach((s, k) => {
    ctx.lineWidth = k === 0 ? 3.5 : 1.5; // later lines thinner: equal curves stay visible
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (!(Number.isFinite(v) && v > 0)) return void (pen = false);
      if (pen) ctx.lineTo(X(i), Y(v));
      else ctx.moveTo(X(i), Y(v));
      pen = true;
    });
    ctx.stroke();
  });
  ctx.restore();

  // legend, top right, one row per series
  const texts = series.map((s) => {
    const last = s.values.at(-1);
    return `${s.label}${last === undefined ? '' : `  ${last.toPrecision(3)}`}`;
  });
  const tw = Math.max(0, ...texts.map((t) => ctx.measureText(t).width));
  const lx = pad.l + pw - tw - 10;
  if (series.length) {
    ctx.fillStyle = 'rgba(255,255,255,0.85)';
    ctx.fillRect(lx - 24, pad.t + 2, tw + 30, 18 * series.length);
  }
  series.forEach((s, k) => {
    const ly = pad.t + 11 + 18 * k;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(lx - 20, ly);
    ctx.lineTo(lx - 6, ly);
    ctx.stroke();
    label(ctx, texts[k]!, lx, ly, 'left', 'middle');
  });
}

/** Training points (grey dots) and prediction lines over x in [-1, 1]. */
export function drawFit(canvas: HTMLCanvasElement, xs: readonly number[], ys: readonly number[], preds: readonly Series[]): void {
  const { ctx, w, h } = setup(canvas);
  const pad = { l: 54, r: 14, t: 10, b: 26 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const X = (x: number): number => pad.l + (pw * (x + 1)) / 2;
  const Y = (y: number): number => pad.t + (ph * (1.25 - y)) / 2.5;
  ctx.lineWidth = 1;
  for (const v of [-1, 0, 1]) {
    gridRow(ctx, pad, pw, Y(v), String(v));
  }
  for (const v of [-1, -0.5, 0, 0.5, 1]) {
    const x = Math.round(X(v)) + 0.5;
    label(ctx, String(v), x, pad.t + ph + 4, 'center', 'top');
  }
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(pad.l + 0.5, pad.t + 0.5, pw, ph);
  ctx.fillStyle = '#9aa1ad';
  xs.forEach((x, i) => {
    ctx.beginPath();
    ctx.arc(X(x), Y(ys[i]!), 2.5, 0, 2 * Math.PI);
    ctx.fill();
  });
  ctx.save();
  ctx.beginPath();
  ctx.rect(pad.l, pad.t, pw, ph);
  ctx.clip();
  preds.forEach((s, k) => {
    ctx.lineWidth = k === 0 ? 3.5 : 1.5;
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    s.values.forEach((v, i) => (i ? ctx.lineTo(X(xs[i]!), Y(v)) : ctx.moveTo(X(xs[i]!), Y(v))));
    ctx.stroke();
  });
  ctx.restore();
}

/** Points (step, accuracy) of a series; the accuracy plot's steps need not be every step. */
export interface PointSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
}

/** Accuracy in [0, 1] against the step, on a linear 0–100% scale, one line per series. */
export function drawAccuracy(canvas: HTMLCanvasElement, series: readonly PointSeries[], steps: number): void {
  const { ctx, w, h } = setup(canvas);
  const pad = { l: 54, r: 14, t: 14, b: 34 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const X = (i: number): number => pad.l + (pw * i) / Math.max(1, steps - 1);
  const Y = (v: number): number => pad.t + ph * (1 - v);
  ctx.lineWidth = 1;
  for (let v = 0; v <= 1.0001; v += 0.25) {
    gridRow(ctx, pad, pw, Y(v), `${Math.round(v * 100)}%`);
  }
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(pad.l + 0.5, pad.t + 0.5, pw, ph);
  label(ctx, 'step', pad.l + pw / 2, h - 2, 'center', 'bottom');
  label(ctx, '0', pad.l, pad.t + ph + 4, 'center', 'top');
  label(ctx, String(steps), pad.l + pw, pad.t + ph + 4, 'center', 'top');
  ctx.save();
  ctx.beginPath();
  ctx.rect(pad.l, pad.t, pw, ph);
  ctx.clip();
  ctx.lineJoin = 'round';
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach(([i, v], k) => (k ? ctx.lineTo(X(i), Y(v)) : ctx.moveTo(X(i), Y(v))));
    ctx.stroke();
    if (s.points.length < 60) for (const [i, v] of s.points) ctx.fillRect(X(i) - 2, Y(v) - 2, 4, 4);
  }
  ctx.restore();
  // legend, bottom right
  series.forEach((s, k) => {
    const last = s.points.at(-1);
    const text = `${s.label}${last ? `  ${(last[1] * 100).toFixed(1)}%` : ''}`;
    const ly = pad.t + ph - 12 - 18 * (series.length - 1 - k);
    const lx = pad.l + pw - 150;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(lx - 20, ly);
    ctx.lineTo(lx - 6, ly);
    ctx.stroke();
    label(ctx, text, lx, ly, 'left', 'middle');
  });
}

/** A grid of grey-scale images (uint8 pixels, row-major), each captioned with its predicted class (red when wrong). */
export function drawSamples(
  canvas: HTMLCanvasElement,
  pixels: Uint8Array,
  rows: number,
  cols: number,
  labels: readonly number[],
  pred: readonly number[],
  names: readonly string[],
): void {
  const { ctx, w, h } = setup(canvas);
  const scale = 2;
  const cellW = cols * scale + 24;
  const cellH = rows * scale + 22;
  const across = Math.max(1, Math.floor(w / cellW));
  const down = Math.max(1, Math.floor(h / cellH));
  const img = ctx.createImageData(cols, rows);
  const tile = document.createElement('canvas');
  tile.width = cols;
  tile.height = rows;
  const tctx = tile.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  for (let k = 0; k < Math.min(across * down, labels.length, pred.length); k++) {
    const base = k * rows * cols;
    for (let p = 0; p < rows * cols; p++) {
      const v = 255 - pixels[base + p]!; // dark garment on white
      img.data.set([v, v, v, 255], p * 4);
    }
    tctx.putImageData(img, 0, 0);
    const x = (k % across) * cellW + 12;
    const y = Math.floor(k / across) * cellH + 2;
    ctx.drawImage(tile, x, y, cols * scale, rows * scale);
    ctx.fillStyle = pred[k] === labels[k] ? AXIS : '#b3261e';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(names[pred[k]!] ?? String(pred[k]), x + (cols * scale) / 2, y + rows * scale + 3);
  }
}
