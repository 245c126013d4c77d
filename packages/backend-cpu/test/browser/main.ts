/**
 * The page the browser test loads: the cpu backend in Chromium, with every launch split over
 * the worker pool when the page is cross-origin isolated. Results (or the error) go to
 * `window.fusorCpuResult` for the test to compare with the same computations in Node.
 * Imported by path: this package cannot depend on @fusor/tensor (which depends on it).
 */
import * as torch from '../../../tensor/src/index.js';
import { cpuStats, cpuWorkersReady, type CpuStats } from '../../src/index.js';
import { workload, type Workload } from './workload.js';

export interface CpuBrowserResult extends Workload {
  readonly description: string;
  readonly isolated: boolean;
  readonly stats: CpuStats;
}

async function main(): Promise<CpuBrowserResult> {
  torch.configureCpu({ threads: 2, parallelThreshold: 0 });
  const description = await torch.init('cpu');
  await cpuWorkersReady();
  const results = workload(torch);
  return { description, isolated: globalThis.crossOriginIsolated, stats: cpuStats(), ...results };
}

main().then(
  (r) => ((window as unknown as { fusorCpuResult: unknown }).fusorCpuResult = r),
  (e: unknown) => ((window as unknown as { fusorCpuResult: unknown }).fusorCpuResult = { error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) }),
);
