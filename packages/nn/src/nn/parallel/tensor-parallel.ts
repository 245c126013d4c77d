/**
 * Tensor (layer-wise) parallelism in one process: a Linear layer's weight split across devices,
 * Megatron-LM style. ColumnParallelLinear splits the output features (each device computes some
 * of y's columns; gathered by concatenation), RowParallelLinear splits the input features (each
 * device computes a partial product over its slice of x; summed). Column then row, with the
 * activation in between on each device, is Megatron's MLP block: one sum at the end.
 */
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { bool, checkOptions } from '../args.js';
import * as F from '../functional/linear.js';
import { Module } from '../module.js';
import { ModuleList } from '../modules/container.js';
import { Linear } from '../modules/linear.js';
import { Parameter } from '../parameter.js';
import { canonical, deviceList, evenSizes, type ParallelDevice } from './devices.js';

export interface TensorParallelOptions {
  /** The devices the weight is split over, one shard each. */
  readonly devices: readonly ParallelDevice[];
  /** Where forward's result goes (default: devices[0]). */
  readonly outputDevice?: ParallelDevice;
  /** With a bias (default true). */
  readonly bias?: boolean;
  /** The parameters' dtype (nn.Linear's factory option; default: the default dtype). */
  readonly dtype?: torch.DType;
}

/** One device's slice of a split Linear: weight [outᵢ, inᵢ] and maybe a bias, on that device. */
export class LinearShard extends Module {
  weight: Parameter;
  declare bias: Parameter | null;
  constructor(weight: Tensor, bias: Tensor | null) {
    super();
    this.weight = new Parameter(weight);
    this.registerParameter('bias', bias === null ? null : new Parameter(bias));
  }
  override forward(input: Tensor): Tensor {
    return F.linear(input.to(this.weight.device), this.weight, this.bias);
  }
  override extraRepr(): string {
    return `in_features=${this.weight.shape[1]}, out_features=${this.weight.shape[0]}, device=${this.weight.device}`;
  }
}

function parse(who: string, inFeatures: number, outFeatures: number, opts: TensorParallelOptions | undefined): { devices: string[]; out: string; bias: boolean } {
  if (opts === undefined || typeof opts !== 'object') throw new TypeError(`${who}: options with devices are required`);
  checkOptions(who, opts, ['devices', 'outputDevice', 'bias', 'dtype']);
  for (const [n, v] of [['in_features', inFeatures], ['out_features', outFeatures]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${who}: ${n} must be a positive integer, got ${String(v)}`);
  }
  const devices = deviceList(opts.devices, who);
  return { devices, out: opts.outputDevice === undefined ? devices[0]! : canonical(opts.outputDevice, who), bias: bool(who, 'bias', opts.bias, true) };
}

/** The full layer a split one starts from: nn.Linear's initialization (and random draws) exactly. */
const fullLinear = (inF: number, outF: number, bias: boolean, dtype: torch.DType | undefined): Linear => new Linear(inF, outF, bias, dtype === undefined ? {} : { dtype });

/** y = x Wᵀ + b with W's rows (the output features) split across devices; forward gathers y on outputDevice. */
export class ColumnParallelLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly devices: readonly string[];
  readonly outputDevice: string;
  declare shards: ModuleList;

  /** `new ColumnParallelLinear(in, out, { devices })`: initialized as nn.Linear(in, out), then split. */
  constructor(inFeatures: number, outFeatures: number, opts: TensorParallelOptions, from?: Linear) {
    super();
    const { devices, out, bias } = parse('ColumnParallelLinear', inFeatures, outFeatures, opts);
    if (outFeatures < devices.length) throw new RangeError(`ColumnParallelLinear: out_features (${outFeatures}) must be at least the number of devices (${devices.length})`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.devices = devices;
    this.outputDevice = out;
    const full = from ?? fullLinear(inFeatures, outFeatures, bias, opts.dtype);
    let at = 0;
    const shards = evenSizes(outFeatures, devices.length).map((size, i) => {
      const d = devices[i]!;
      const w = full.weight.detach().narrow(0, at, size).to(d).clone();
      const b = full.bias ? full.bias.detach().narrow(0, at, size).to(d).clone() : null;
      at += size;
      return new LinearShard(w, b);
    });
    this.registerModule('shards', new ModuleList(shards));
  }

  /** A split copy of an existing nn.Linear (same values: the split layer computes what it did). */
  static fromLinear(linear: Linear, opts: Omit<TensorParallelOptions, 'bias' | 'dtype'>): ColumnParallelLinear {
    return new ColumnParallelLinear(linear.inFeatures, linear.outFeatures, { ...opts, bias: linear.bias !== null }, linear);
  }

  /** Each device's columns of y, on that device (not gathered): what a RowParallelLinear takes next. */
  forwardShards(input: Tensor): Tensor[] {
    return [...this.shards.children()].map((s) => (s as LinearShard).forward(input));
  }

  override forward(input: Tensor): Tensor {
    return torch.cat(
      this.forwardShards(input).map((y) => y.to(this.outputDevice)),
      -1,
    );
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, devices=[${this.devices.join(', ')}]`;
  }
}

/** y = x Wᵀ + b with W's columns (the input features) split across devices; the partial products are summed on outputDevice. */
export class RowParallelLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly devices: readonly string[];
  readonly outputDevice: string;
  declare shards: ModuleList;
  declare bias: Parameter | null;
  private readonly sizes: readonly number[];

  /** `new RowParallelLinear(in, out, { devices })`: initialized as nn.Linear(in, out), then split. */
  constructor(inFeatures: number, outFeatures: number, opts: TensorParallelOptions, from?: Linear) {
    super();
    const { devices, out, bias } = parse('RowParallelLinear', inFeatures, outFeatures, opts);
    if (inFeatures < devices.length) throw new RangeError(`RowParallelLinear: in_features (${inFeatures}) must be at least the number of devices (${devices.length})`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.devices = devices;
    this.outputDevice = out;
    const full = from ?? fullLinear(inFeatures, outFeatures, bias, opts.dtype);
    this.sizes = evenSizes(inFeatures, devices.length);
    let at = 0;
    const shards = this.sizes.map((size, i) => {
      const w = full.weight.detach().narrow(1, at, size).to(devices[i]!).clone();
      at += size;
      return new LinearShard(w, null);
    });
    this.registerModule('shards', new ModuleList(shards));
    // the bias is added once, after the sum
    this.registerParameter('bias', full.bias ? new Parameter(full.bias.detach().to(out).clone()) : null);
  }

  static fromLinear(linear: Linear, opts: Omit<TensorParallelOptions, 'bias' | 'dtype'>): RowParallelLinear {
    return new RowParallelLinear(linear.inFeatures, linear.outFeatures, { ...opts, bias: linear.bias !== null }, linear);
  }

  /** The layer on input already split by features, one slice per device (a ColumnParallelLinear's forwardShards). */
  forwardShards(inputs: readonly Tensor[]): Tensor {
    const shards = [...this.shards.children()] as LinearShard[];
    if (inputs.length !== shards.length) throw new RangeError(`RowParallelLinear: expected ${shards.length} input shards, got ${inputs.length}`);
    inputs.forEach((x, i) => {
      if (x.shape[x.ndim - 1] !== this.sizes[i]) {
        throw new RangeError(`RowParallelLinear: input shard ${i} has ${x.shape[x.ndim - 1]} features, expected ${this.sizes[i]}`);
      }
    });
    let y = shards.map((s, i) => s.forward(inputs[i]!).to(this.outputDevice)).reduce((a, b) => a.add(b));
    if (this.bias) y = y.add(this.bias);
    return y;
  }

  override forward(input: Tensor): Tensor {
    const last = input.shape[input.ndim - 1];
    if (last !== this.inFeatures) throw new RangeError(`RowParallelLinear: input has ${last} features, expected ${this.inFeatures}`);
    let at = 0;
    return this.forwardShards(
      this.sizes.map((size) => {
        const x = input.narrow(-1, at, size);
        at += size;
        return x;
      }),
    );
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? 'True' : 'False'}, devices=[${this.devices.join(', ')}]`;
  }
}

/**
 * Megatron's tensor-parallel MLP: ColumnParallelLinear(in, hidden) → activation on each device's
 * slice → RowParallelLinear(hidden, out), summed on outputDevice. Equal to
 * Sequential(Linear(in, hidden), activation, Linear(hidden, out)) with the same weights.
 */
export class ParallelMLP extends Module {
  declare fc1: ColumnParallelLinear;
  declare act: Module;
  declare fc2: RowParallelLinear;

  constructor(fc1: ColumnParallelLinear, act: Module, fc2: RowParallelLinear) {
    super();
    if (fc1.devices.join() !== fc2.devices.join()) throw new Error(`ParallelMLP: fc1 and fc2 must be split over the same devices (${fc1.devices.join(', ')} vs ${fc2.devices.join(', ')})`);
    if (fc1.outFeatures !== fc2.inFeatures) throw new RangeError(`ParallelMLP: fc1's out_features (${fc1.outFeatures}) must equal fc2's in_features (${fc2.inFeatures})`);
    this.registerModule('fc1', fc1);
    this.registerModule('act', act);
    this.registerModule('fc2', fc2);
  }

  /** Splits an existing Sequential(Linear, activation, Linear) over `devices`. */
  static fromSequential(fc1: Linear, act: Module, fc2: Linear, opts: Omit<TensorParallelOptions, 'bias' | 'dtype'>): ParallelMLP {
    return new ParallelMLP(ColumnParallelLinear.fromLinear(fc1, { devices: opts.devices }), act, RowParallelLinear.fromLinear(fc2, opts));
  }

  override forward(input: Tensor): Tensor {
    return this.fc2.forwardShards(this.fc1.forwardShards(input).map((h) => this.act.forward(h)));
  }
}
