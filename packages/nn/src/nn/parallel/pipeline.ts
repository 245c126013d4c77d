/**
 * GPipe-style pipeline parallelism: an nn.Sequential cut into stages on different devices, the
 * batch cut into micro-batches that flow through the stages on GPipe's clock schedule.
 */
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { checkOptions } from '../args.js';
import { Module } from '../module.js';
import { ModuleList, Sequential } from '../modules/container.js';
import { deviceList, moduleDevice, type ParallelDevice } from './devices.js';

export interface PipeOptions {
  /** Micro-batches per mini-batch (default 1: no pipelining). */
  readonly chunks?: number;
  /** Modules per stage (torchgpipe's `balance`); with `devices`, the stages are moved there. */
  readonly balance?: readonly number[];
  /** One device per stage, with `balance`. */
  readonly devices?: readonly ParallelDevice[];
}

/**
 * `new nn.parallel.Pipe(seq, { chunks: 4 })` runs `seq` as a pipeline. Without `balance`, the
 * stages are the runs of consecutive modules already on one device (placed with `.to(device)`;
 * modules without parameters join the stage before them); with `balance` and `devices`, Pipe
 * cuts and places them. forward(x) splits x along dim 0 into `chunks` micro-batches and issues
 * stage j of micro-batch i at clock tick i + j (GPipe's fill-drain schedule): a device's work on
 * micro-batch i+1 does not wait for the next stage's work on micro-batch i. The output is the
 * micro-batches' outputs concatenated on the last stage's device; gradients are the full
 * batch's, as unpipelined (modules that mix samples, like BatchNorm in training, see
 * micro-batches instead, as in GPipe).
 */
export class Pipe extends Module<[Tensor], Tensor> {
  declare partitions: ModuleList;
  readonly devices: readonly string[];
  readonly chunks: number;

  constructor(module: Sequential, opts: PipeOptions = {}) {
    super();
    checkOptions('Pipe', opts, ['chunks', 'balance', 'devices']);
    if (!(module instanceof Sequential)) throw new TypeError('Pipe: module must be an nn.Sequential');
    const chunks = opts.chunks ?? 1;
    if (!Number.isInteger(chunks) || chunks <= 0) throw new RangeError(`number of chunks must be positive integer, got ${String(chunks)}`);
    this.chunks = chunks;
    const mods = Array.from({ length: module.length }, (_, i) => module.get(i));
    const stages: Module<unknown[], unknown>[][] = [];
    const devices: string[] = [];
    if (opts.balance !== undefined) {
      const balance = opts.balance;
      if (balance.some((b) => !Number.isInteger(b) || b <= 0)) throw new RangeError('all balance numbers must be positive integer');
      const sum = balance.reduce((a, b) => a + b, 0);
      if (sum !== mods.length) throw new RangeError(`module and sum of balance have different length (module: ${mods.length}, sum of balance: ${sum})`);
      const ds = deviceList(opts.devices, 'Pipe');
      if (ds.length < balance.length) throw new RangeError(`too few devices to hold given partitions (devices: ${ds.length}, partitions: ${balance.length})`);
      let at = 0;
      balance.forEach((b, j) => {
        const stage = mods.slice(at, at + b);
        for (const m of stage) m.to(ds[j]!);
        stages.push(stage);
        devices.push(ds[j]!);
        at += b;
      });
    } else {
      if (opts.devices !== undefined) throw new TypeError('Pipe: devices goes with balance (without balance, stages follow where the modules are)');
      if (mods.length === 0) throw new RangeError('Pipe: module must have at least one layer');
      for (const m of mods) {
        const d = moduleDevice(m);
        if (stages.length === 0 || (d !== undefined && d !== devices[devices.length - 1])) {
          if (stages.length === 1 && devices[0] === undefined) devices[0] = d!;
          else {
            stages.push([]);
            devices.push(d as string);
          }
        }
        stages[stages.length - 1]!.push(m);
      }
      if (devices[0] === undefined) devices[0] = 'cpu';
    }
    for (const [j, stage] of stages.entries()) {
      for (const m of stage) {
        const d = moduleDevice(m);
        if (d !== undefined && d !== devices[j]) throw new Error(`Pipe: a module of stage ${j} has a parameter on ${d}, not on the stage's device ${devices[j]}`);
      }
    }
    this.devices = devices;
    this.registerModule('partitions', new ModuleList(stages.map((s) => new Sequential(...s))));
  }

  override forward(input: Tensor): Tensor {
    const micro = torch.chunk(input, this.chunks, 0);
    const m = micro.length;
    const n = this.devices.length;
    const acts: Tensor[] = micro.slice();
    // GPipe's clock: at tick t, stage j works on micro-batch t − j; issuing in this order lets each
    // device's queue start on the next micro-batch while later stages still hold earlier ones
    for (let t = 0; t < m + n - 1; t++) {
      for (let j = Math.min(t, n - 1); j >= 0; j--) {
        const i = t - j;
        if (i >= m) continue;
        const stage = this.partitions.get(j) as Sequential;
        acts[i] = stage.forward(acts[i]!.to(this.devices[j]!));
      }
    }
    return m === 1 ? acts[0]! : torch.cat(acts, 0);
  }

  override extraRepr(): string {
    return `chunks=${this.chunks}, devices=[${this.devices.join(', ')}]`;
  }
}
