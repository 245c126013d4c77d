/**
 * Whether these tests run on a real WebGPU adapter. Locally without one they are skipped with
 * the reason; in CI (env CI set) a missing adapter fails them instead.
 */
import { describe, it } from 'vitest';
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';

export const adapter: { ok: true; description: string } | { ok: false; reason: string } = await torch.init('webgpu').then(
  (description) => ({ ok: true as const, description }),
  (e: Error) => ({ ok: false as const, reason: e.message }),
);

const inCI = Boolean(process.env['CI']);

/** `describe` for tests that need the adapter. */
export function describeWebGPU(name: string, body: () => void): void {
  if (adapter.ok) describe(name, body);
  else if (inCI) {
    describe(name, () => {
      it('has a WebGPU adapter (required in CI)', () => {
        throw new Error(`no WebGPU adapter in CI: ${(adapter as { reason: string }).reason}`);
      });
    });
  } else describe.skip(`${name} — no WebGPU adapter here: ${adapter.reason}`, body);
}
