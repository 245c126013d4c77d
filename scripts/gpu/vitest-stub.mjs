// Stands in for vitest in the GPU bundle: @fusor/conformance imports describe/it to register
// tests, which the plain-Node runner never calls (it calls runCheck directly).
const unused = () => {
  throw new Error('vitest is not available in the bundled conformance runner');
};
export const describe = unused;
export const it = unused;
export const expect = unused;
