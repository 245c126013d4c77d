/**
 * A progress bar for loops, tqdm's layout: on a terminal one live line with items/s, ETA and a
 * postfix (`bar.setPostfix({ loss })`); elsewhere (CI logs, pipes) a plain line now and then.
 */
import { checkOptions, type ParamSpec } from '../optim/options.js';

/** Where the bar writes: process.stderr in Node, or anything with `write`. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Items expected (default: the iterable's `len()` or `length`, when it has one). */
  total?: number;
  /** A label before the bar. */
  desc?: string;
  /** Seconds between plain lines when not on a terminal (default 10). */
  interval?: number;
  /** The unit after the rate (default 'it'). */
  unit?: string;
  stream?: ProgressStream;
  /** Draw nothing (still counts). */
  disable?: boolean;
}

const SPECS: readonly ParamSpec[] = [
  { name: 'total', kind: 'number' },
  { name: 'desc', kind: 'string' },
  { name: 'interval', kind: 'number' },
  { name: 'unit', kind: 'string' },
  { name: 'stream', kind: 'any' },
  { name: 'disable', kind: 'boolean' },
];

const pad2 = (v: number): string => String(Math.floor(v)).padStart(2, '0');

/** Seconds as tqdm prints them: mm:ss, or h:mm:ss past an hour. */
export function formatInterval(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad2(m)}:${pad2(s % 60)}` : `${pad2(m)}:${pad2(s % 60)}`;
}

/** A postfix value: numbers with 4 significant digits, as tqdm shows a loss. */
function formatValue(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

export interface MeterState {
  n: number;
  total: number | null;
  /** Seconds since the start. */
  elapsed: number;
  desc?: string;
  unit?: string;
  postfix?: Readonly<Record<string, unknown>>;
  /** Characters for the whole line (the bar takes what is left). */
  width?: number;
}

/** One line of the bar: `desc: 45%|████▌     | 450/1000 [00:03<00:04, 131.20it/s, loss=0.512]`. */
export function formatMeter({ n, total, elapsed, desc, unit = 'it', postfix = {}, width = 100 }: MeterState): string {
  const rate = elapsed > 0 ? n / elapsed : null;
  const rateText = rate === null ? `?${unit}/s` : rate >= 1 || rate === 0 ? `${rate.toFixed(2)}${unit}/s` : `${(1 / rate).toFixed(2)}s/${unit}`;
  const post = Object.entries(postfix).map(([k, v]) => `${k}=${formatValue(v)}`).join(', ');
  const tail = `${rateText}${post ? `, ${post}` : ''}]`;
  const head = desc ? `${desc}: ` : '';
  if (total === null || total <= 0) return `${head}${n}${unit} [${formatInterval(elapsed)}, ${tail}`;
  const frac = Math.min(1, n / total);
  const remaining = rate ? (total - n) / rate : Number.NaN;
  const left = `${head}${String(Math.round(frac * 100)).padStart(3)}%|`;
  const right = `| ${n}/${total} [${formatInterval(elapsed)}<${formatInterval(remaining)}, ${tail}`;
  const barWidth = Math.max(1, Math.min(40, width - left.length - right.length));
  // eighths of a block, as tqdm draws a smooth bar
  const eighths = Math.floor(frac * barWidth * 8);
  const full = Math.floor(eighths / 8);
  const partial = eighths % 8;
  const bar = '█'.repeat(full) + (partial && full < barWidth ? ' ▏▎▍▌▋▊▉'[partial]! : '');
  return `${left}${bar.padEnd(barWidth)}${right}`;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now()) / 1000;

function defaultStream(): ProgressStream {
  const proc = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  if (proc?.stderr) return proc.stderr;
  return { write: (s: string) => console.log(s.replace(/\n$/, '')), isTTY: false };
}

/** A bar over an iterable (sync or async), or a manual one (`update(n)`) without. */
export class Progress<T = unknown> implements Iterable<T>, AsyncIterable<T> {
  n = 0;
  readonly total: number | null;
  readonly desc: string | undefined;
  private postfix: Record<string, unknown> = {};
  private readonly start = now();
  private lastDraw = -Infinity;
  private closed = false;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly unit: string;
  private readonly disable: boolean;

  constructor(
    private readonly iterable: Iterable<T> | AsyncIterable<T> | null,
    opts: ProgressOptions = {},
  ) {
    const o = checkOptions('progress', opts, SPECS) as ProgressOptions;
    const sized = iterable as { len?: () => number; length?: number } | null;
    this.total = o.total ?? (typeof sized?.len === 'function' ? sized.len() : typeof sized?.length === 'number' ? sized.length : null);
    this.desc = o.desc;
    this.stream = o.stream ?? defaultStream();
    this.tty = Boolean(this.stream.isTTY);
    this.interval = o.interval ?? 10;
    this.unit = o.unit ?? 'it';
    this.disable = o.disable ?? false;
    this.draw(true);
  }

  /** Shows `key=value` after the rate (e.g. the running loss). */
  setPostfix(postfix: Record<string, unknown>): void {
    this.postfix = { ...postfix };
    this.draw(false);
  }

  /** Counts `n` more items done. */
  update(n = 1): void {
    this.n += n;
    this.draw(false);
  }

  /** Draws the final state and ends the line. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.disable) return;
    if (this.tty) this.stream.write(`\r${this.line()}\x1b[K\n`);
    else this.stream.write(`${this.line()}\n`);
  }

  private line(): string {
    const width = this.stream.columns ?? 100;
    return formatMeter({ n: this.n, total: this.total, elapsed: now() - this.start, desc: this.desc, unit: this.unit, postfix: this.postfix, width });
  }

  private draw(first: boolean): void {
    if (this.disable || this.closed) return;
    const t = now();
    if (this.tty) {
      // a terminal gets at most ~10 redraws a second
      if (!first && t - this.lastDraw < 0.1) return;
      this.stream.write(`\r${this.line()}\x1b[K`);
    } else {
      if (first || t - this.lastDraw < this.interval) return;
      this.stream.write(`${this.line()}\n`);
    }
    this.lastDraw = t;
  }

  *[Symbol.iterator](): Iterator<T> {
    if (this.iterable === null || typeof (this.iterable as Iterable<T>)[Symbol.iterator] !== 'function') {
      throw new TypeError('this progress bar wraps no sync iterable: use for await, or update() by hand');
    }
    try {
      for (const x of this.iterable as Iterable<T>) {
        yield x;
        this.update(1);
      }
    } finally {
      this.close();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterable === null) throw new TypeError('this progress bar wraps no iterable: update() it by hand');
    try {
      for await (const x of this.iterable as AsyncIterable<T>) {
        yield x;
        this.update(1);
      }
    } finally {
      this.close();
    }
  }
}

/** `for (const [x, y] of data.progress(loader, { desc: 'epoch 1' })) { …; bar.setPostfix({ loss }) }`. */
export function progress<T>(iterable: Iterable<T> | AsyncIterable<T> | null, opts: ProgressOptions = {}): Progress<T> {
  return new Progress(iterable, opts);
}
