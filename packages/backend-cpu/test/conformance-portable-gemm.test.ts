/**
 * The conformance suite's products (matmul, linear, convolutions, bmm, einsum, addmm…) through
 * the portable WebAssembly GEMM routine on 2 threads: the native BLAS off and no product too
 * small for the routine, so every float32 product PyTorch's numbers are checked on goes through
 * the wasm packing, the micro-kernel and the split over workers.
 * Imported by path: @fusor/conformance depends on @fusor/tensor, which depends on this package.
 */
import { beforeAll, expect, it } from 'vitest';
import { loadFixtures, runConformance } from '../../conformance/src/index.js';
import { compilerStats } from '../../tensor/src/index.js';
import { configureBlas, configureCpu, configureWasmGemm, cpuWorkersReady } from '../src/index.js';

configureBlas({ enabled: false });
configureWasmGemm({ enabled: true, minMultiplyAdds: 0 });
configureCpu({ threads: 2, parallelThreshold: 0 });

beforeAll(async () => {
  expect(await cpuWorkersReady()).toBe(2);
});

const PRODUCTS = /matmul|linear|conv|bmm|einsum|mm|addmm|baddbmm|tensordot|inner|outer|bilinear|matrix/i;
// only the fixture files holding products (an empty category would be an empty suite)
const fixtures = loadFixtures().filter((f) => f.cases.some((c) => PRODUCTS.test(c.id)));
runConformance('cpu', { only: PRODUCTS, fixtures });

it('the products above went through the routine', () => {
  expect(compilerStats().routines).toBeGreaterThan(100);
});
