import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';

describe('torch.device', () => {
  it('parses a device string into type and index, as PyTorch', () => {
    const d = torch.device('cuda:1');
    expect(d).toBeInstanceOf(torch.Device);
    expect([d.type, d.index, d.toString()]).toEqual(['cuda', 1, 'cuda:1']);
    const bare = torch.device('cuda');
    expect([bare.type, bare.index, String(bare)]).toEqual(['cuda', null, 'cuda']);
    const both = torch.device('webgpu', 2);
    expect([both.type, both.index, `${both}`]).toEqual(['webgpu', 2, 'webgpu:2']);
    expect(torch.device(d).toString()).toBe('cuda:1');
    expect(new torch.Device('cpu').toString()).toBe('cpu');
  });

  it('prints as PyTorch repr and serializes as its string', () => {
    expect(inspect(torch.device('cuda:1'))).toBe("device(type='cuda', index=1)");
    expect(inspect(torch.device('cpu'))).toBe("device(type='cpu')");
    expect(JSON.stringify({ d: torch.device('cuda', 0) })).toBe('{"d":"cuda:0"}');
  });

  it('compares type and index as written (cuda is not cuda:0, as in PyTorch)', () => {
    expect(torch.device('cuda:0').equals(torch.device('cuda', 0))).toBe(true);
    expect(torch.device('cuda:0').equals('cuda:0')).toBe(true);
    expect(torch.device('cuda:0').equals(torch.device('cuda'))).toBe(false);
    expect(torch.device('cuda:0').equals('cuda:1')).toBe(false);
    expect(torch.device('cpu').equals('cpu')).toBe(true);
  });

  it("raises PyTorch's errors for bad device strings and indices", () => {
    expect(() => torch.device('foo')).toThrow('Expected one of cpu, cuda, webgpu device type at start of device string: foo');
    expect(() => torch.device('CUDA')).toThrow('device type at start of device string: CUDA');
    expect(() => torch.device('cuda:-1')).toThrow("Invalid device string: 'cuda:-1'");
    expect(() => torch.device('cuda:x')).toThrow("Invalid device string: 'cuda:x'");
    expect(() => torch.device('cuda:1', 0)).toThrow('type (string) must not include an index because index was passed explicitly: cuda:1');
    expect(() => torch.device('cuda', -1)).toThrow('Device index must not be negative');
    expect(() => torch.device('cuda', 1.5)).toThrow(TypeError);
  });

  it('is accepted wherever a device string is', async () => {
    const cpu = torch.device('cpu');
    expect(torch.zeros(2, 3, { device: cpu }).device).toBe('cpu');
    expect(torch.tensor([1, 2], { device: torch.device('cpu:0') }).device).toBe('cpu');
    const x = torch.ones(2);
    expect(x.to(cpu)).toBe(x);
    expect(x.to({ device: cpu, dtype: torch.float64 }).dtype).toBe('float64');
    expect(await torch.init(cpu)).toMatch(/cpu/);
    torch.setDefaultDevice(cpu);
    expect(torch.rand(2).device).toBe('cpu');
    // a device object for a backend nobody registered fails as the string does
    expect(() => torch.zeros(2, { device: torch.device('cuda', 1) })).toThrow("no backend registered for device 'cuda:1'");
    expect(() => x.to(torch.device('cuda:1'))).toThrow("no backend registered for device 'cuda:1'");
  });

  it('keeps internals out of the public API', () => {
    const api = torch as Record<string, unknown>;
    for (const name of ['fromHost', 'checkDtype', 'copyTo', 'castTo']) expect(api[name], name).toBeUndefined();
  });
});
