/**
 * The backend registry: which backend serves each device type, and bringing a backend up once.
 * Importing a backend package registers it here.
 */
import { BackendUnavailableError, parseDevice, type Backend } from '@fusor/compiler';

const registry = new Map<string, Backend>();
const ready = new Map<string, Promise<string>>();

/** Makes a backend usable for devices of its type (importing a backend package calls this). */
export function registerBackend(b: Backend): void {
  registry.set(b.name, b);
}

export const registeredBackends = (): string[] => [...registry.keys()];

export function getBackend(device: string): Backend {
  const { type } = parseDevice(device);
  const b = registry.get(type);
  if (!b) {
    throw new BackendUnavailableError(
      `no backend registered for device '${device}'; import '@fusor/backend-${type}' to register it (registered: ${registeredBackends().join(', ')})`,
    );
  }
  return b;
}

/** Brings a backend up once; rejects with BackendUnavailableError saying why. */
export function initBackend(device: string): Promise<string> {
  const b = getBackend(device);
  let p = ready.get(b.name);
  if (!p) {
    const avail = b.isAvailable();
    p = avail.ok ? b.init() : Promise.reject(new BackendUnavailableError(`${b.name} is unavailable: ${avail.reason}`));
    ready.set(b.name, p);
    p.catch(() => ready.delete(b.name));
  }
  return p;
}
