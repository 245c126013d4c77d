/** torch.device: a device as an object (type and optional index), accepted wherever a device string is. */
import { registeredBackends } from '@fusor/runtime';

/** The device types fusor ships backends for; a backend registered under another name is accepted too. */
const BUILTIN_TYPES = ['cpu', 'cuda', 'webgpu'];

const knownTypes = (): string[] => [...new Set([...BUILTIN_TYPES, ...registeredBackends()])];

/**
 * `torch.device('cuda:1')`, `torch.device('cuda', 1)`, `torch.device('cpu')`.
 * As in PyTorch the index is `null` when not given, and equality compares type and index
 * as written: `device('cuda')` is not `device('cuda:0')` (both place tensors on cuda:0).
 */
export class Device {
  readonly type: string;
  readonly index: number | null;

  constructor(type: string | Device, index?: number | null) {
    if (type instanceof Device) {
      if (index !== undefined && index !== null) {
        throw new TypeError(`type (string) must not include an index because index was passed explicitly: ${type}`);
      }
      this.type = type.type;
      this.index = type.index;
      Object.freeze(this);
      return;
    }
    if (typeof type !== 'string') throw new TypeError(`device() expects a string or a device, got ${typeof type}`);
    const m = /^([a-zA-Z_]+)(?::(\d+))?$/.exec(type);
    if (!m) throw new Error(`Invalid device string: '${type}'`);
    const t = m[1]!;
    // PyTorch's message, with the types this process knows
    if (!knownTypes().includes(t)) throw new Error(`Expected one of ${knownTypes().join(', ')} device type at start of device string: ${type}`);
    let ix: number | null = m[2] === undefined ? null : Number(m[2]);
    if (index !== undefined && index !== null) {
      if (ix !== null) throw new Error(`type (string) must not include an index because index was passed explicitly: ${type}`);
      if (!Number.isInteger(index)) throw new TypeError(`device(): argument 'index' must be int, not ${index}`);
      if (index < 0) throw new Error('Device index must not be negative');
      ix = index;
    }
    this.type = t;
    this.index = ix;
    Object.freeze(this);
  }

  /** 'cuda:1', or the bare type when no index was given (as PyTorch's str(device)). */
  toString(): string {
    return this.index === null ? this.type : `${this.type}:${this.index}`;
  }

  toJSON(): string {
    return this.toString();
  }

  /** PyTorch's `==`: same type and same index as written; a string is parsed first. */
  equals(other: Device | string): boolean {
    const o = other instanceof Device ? other : new Device(other);
    return o.type === this.type && o.index === this.index;
  }

  /** What console.log prints in Node: PyTorch's repr. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.index === null ? `device(type='${this.type}')` : `device(type='${this.type}', index=${this.index})`;
  }
}

/** A device string ('cuda:1') or a Device object. */
export type DeviceLike = string | Device;

/** `torch.device('cuda:1')` / `torch.device('cuda', 1)`; callable without `new`, as in Python. */
export function device(type: string | Device, index?: number | null): Device {
  return new Device(type, index);
}

/** The string form the compiler and backends key devices by. */
export const deviceString = (d: DeviceLike): string => (d instanceof Device ? d.toString() : d);
