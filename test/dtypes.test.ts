/**
 * Every dtype: creation from JS data, read back (toArray / toTypedArray / item), conversions
 * with .to(), and printing as PyTorch's repr (strings produced by /usr/bin/python3, torch 1.13).
 */
import * as vm from 'node:vm';

import * as tn from '../lib';
import type { DType, Tensor } from '../lib';
import { expectThrows } from './helpers';

const F16_EPS = 2 ** -11; // relative rounding error of float16 (10 stored mantissa bits)
const BF16_EPS = 2 ** -8; // bfloat16 (7 stored mantissa bits)

afterEach(() => {
  // Nothing in this file may leave tensors behind outside tidy: keep the table small.
  if (tn.memory().pendingAsync !== 0) throw new Error('async work left running');
});

describe('round trip through tn.tensor(data, { dtype })', () => {
  const cases: [DType, (number | boolean)[][], string, number][] = [
    ['float64', [[0, 1.5, -2.25], [1 / 3, 1e300, -5e-324]], 'Float64Array', 0],
    ['float32', [[0, 1.5, -2.25], [3, -0.5, 1e10]], 'Float32Array', 0],
    ['float16', [[0, 1.1, -2.2], [65504, 1e-3, 0.1]], 'Float32Array', F16_EPS],
    ['bfloat16', [[0, 1.1, -2.2], [1e30, 1e-3, 0.1]], 'Float32Array', BF16_EPS],
    ['int8', [[0, 1, -2], [3, -128, 127]], 'Int8Array', 0],
    ['uint8', [[0, 1, 2], [3, 128, 255]], 'Uint8Array', 0],
    ['int16', [[0, 1, -2], [3, -32768, 32767]], 'Int16Array', 0],
    ['int32', [[0, 1, -2], [3, -(2 ** 31), 2 ** 31 - 1]], 'Int32Array', 0],
    ['int64', [[0, 1, -2], [3, -(2 ** 53 - 1), 2 ** 53 - 1]], 'BigInt64Array', 0],
    ['bool', [[true, false, true], [false, false, true]], 'Uint8Array', 0],
  ];

  test.each(cases)('%s', (dtype, data, arrayType, eps) => {
    tn.tidy(() => {
      const t = tn.tensor(data, { dtype });
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([2, 3]);
      const back = t.toArray() as (number | boolean)[][];
      const typed = t.toTypedArray();
      expect(typed.constructor.name).toBe(arrayType);
      expect(typed.length).toBe(6);
      const want = data.flat();
      back.flat().forEach((v, i) => {
        const w = want[i];
        if (dtype === 'bool') {
          expect(v).toBe(w);
          expect(typed[i]).toBe(w ? 1 : 0);
        } else if (dtype === 'float32') {
          expect(v).toBe(Math.fround(w as number));
          expect(typed[i]).toBe(Math.fround(w as number));
        } else if (eps > 0) {
          expect(Math.abs((v as number) - (w as number))).toBeLessThanOrEqual(Math.abs(w as number) * eps);
        } else if (dtype === 'int64') {
          expect(v).toBe(w);
          expect(typed[i]).toBe(BigInt(w as number));
        } else {
          expect(v).toBe(w);
          expect(typed[i]).toBe(w);
        }
      });
    });
  });

  test('float16 and bfloat16 round exactly as PyTorch', () => {
    tn.tidy(() => {
      // torch.tensor([1.1, 2.2, -3.3, 65504, 1e-3, 0.1], dtype=torch.float16).tolist()
      expect(tn.tensor([1.1, 2.2, -3.3, 65504, 1e-3, 0.1], { dtype: 'float16' }).toArray()).toEqual([
        1.099609375, 2.19921875, -3.30078125, 65504.0, 0.0010004043579101562, 0.0999755859375,
      ]);
      expect(tn.tensor([1.1, 2.2, -3.3, 1e30, 1e-3, 0.1], { dtype: 'bfloat16' }).toArray()).toEqual([
        1.1015625, 2.203125, -3.296875, 1.0002555517425873e30, 0.00099945068359375, 0.10009765625,
      ]);
      expect(tn.tensor([70000], { dtype: 'float32' }).half().item()).toBe(Infinity);
    });
  });

  test('dtype inference follows PyTorch', () => {
    tn.tidy(() => {
      expect(tn.tensor([1, 2]).dtype).toBe('int64');
      expect(tn.tensor([1, 2.5]).dtype).toBe('float32');
      expect(tn.tensor([true, false]).dtype).toBe('bool');
      expect(tn.tensor(3).dtype).toBe('int64');
      expect(tn.tensor(3).shape).toEqual([]);
      expect(tn.tensor([]).dtype).toBe('float32');
      expect(tn.tensor([]).shape).toEqual([0]);
      expect(tn.tensor([[], []]).shape).toEqual([2, 0]);
      expect(tn.zeros([2]).dtype).toBe('float32');
      expect(tn.arange(3).dtype).toBe('int64');
    });
  });

  test('TypedArrays keep their element type; ArrayBuffers need a shape', () => {
    tn.tidy(() => {
      const big = new BigInt64Array([2n ** 62n, -(2n ** 62n) - 1n, 7n]);
      const t = tn.tensor(big);
      expect(t.dtype).toBe('int64');
      expect(Array.from(t.toTypedArray() as BigInt64Array)).toEqual([2n ** 62n, -(2n ** 62n) - 1n, 7n]);
      expect(tn.tensor(new Int16Array([1, -2])).dtype).toBe('int16');
      expect(tn.tensor(new Uint8Array([1, 255])).dtype).toBe('uint8');
      expect(tn.tensor(new Float64Array([0.1])).dtype).toBe('float64');
      const shaped = tn.fromTypedArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
      expect(shaped.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
      const buf = new ArrayBuffer(16);
      new Float32Array(buf).set([1, 2, 3, 4]);
      expect(tn.tensor(buf, { shape: [2, 2], dtype: 'float32' }).toArray()).toEqual([[1, 2], [3, 4]]);
      // Converted on the way in.
      expect(tn.tensor(new Float64Array([1.5, -2.5]), { dtype: 'int32' }).toArray()).toEqual([1, -2]);
      // A shape that does not match the data is an error, not a read past the end.
      expectThrows(() => tn.tensor(new Float32Array(4), { shape: [3, 3] }));
    });
  });

  test('toTypedArray shares memory with the tensor unless { copy: true }', () => {
    const t = tn.tensor([1, 2, 3], { dtype: 'float32' });
    const view = t.toTypedArray() as Float32Array;
    const copy = t.toTypedArray({ copy: true }) as Float32Array;
    view[0] = 42;
    expect(t.toArray()).toEqual([42, 2, 3]);
    expect(copy[0]).toBe(1);
    t.dispose();
    // The view keeps the storage alive after dispose.
    expect(Array.from(view)).toEqual([42, 2, 3]);
    // A non-contiguous tensor gives a contiguous copy in logical order.
    tn.tidy(() => {
      const m = tn.tensor([[1, 2], [3, 4]], { dtype: 'float64' }).t();
      expect(Array.from(m.toTypedArray() as Float64Array)).toEqual([1, 3, 2, 4]);
    });
  });
});

describe('TypedArrays and ArrayBuffers from another realm', () => {
  // Arrays made in another realm (a vm context, jest's test context, a worker's message)
  // fail instanceof checks; tn.tensor recognises them with util.types.
  test('a Float64Array from a vm context is accepted', () => {
    const foreign = vm.runInNewContext('new Float64Array([1, 2])') as Float64Array;
    tn.tidy(() => expect(tn.tensor(foreign).toArray()).toEqual([1, 2]));
  });
  test('an ArrayBuffer from a vm context is accepted', () => {
    const foreign = vm.runInNewContext('new Float32Array([1, 2]).buffer') as ArrayBuffer;
    tn.tidy(() => expect(tn.tensor(foreign, { shape: [2], dtype: 'float32' }).toArray()).toEqual([1, 2]));
  });
  test('a copy into this realm works', () => {
    const foreign = vm.runInNewContext('new Float64Array([1, 2])') as Float64Array;
    tn.tidy(() => expect(tn.tensor(new Float64Array(foreign)).toArray()).toEqual([1, 2]));
  });
});

describe('conversions with .to()', () => {
  test('float to int truncates toward zero; float to bool is "non-zero"', () => {
    tn.tidy(() => {
      const f = tn.tensor([1.7, -1.7, 2.5, -0.5]);
      expect(f.to('int64').toArray()).toEqual([1, -1, 2, 0]);
      expect(f.long().dtype).toBe('int64');
      expect(tn.tensor([0, -0, 0.1, NaN]).bool().toArray()).toEqual([false, false, true, true]);
      expect(tn.tensor([true, false]).float().toArray()).toEqual([1, 0]);
      expect(tn.tensor([true, false]).int().toArray()).toEqual([1, 0]);
      expect(tn.tensor([2.9]).to('uint8').toArray()).toEqual([2]);
    });
  });

  test('narrowing integer conversions wrap as in PyTorch', () => {
    tn.tidy(() => {
      expect(tn.tensor([300, -200, 127], { dtype: 'int32' }).to('int8').toArray()).toEqual([44, 56, 127]);
      expect(tn.tensor([255, 128], { dtype: 'uint8' }).to('int8').toArray()).toEqual([-1, -128]);
    });
  });

  test('float64 to narrower floats rounds to nearest', () => {
    tn.tidy(() => {
      const third = tn.tensor([1 / 3], { dtype: 'float64' });
      expect(third.float().item()).toBe(Math.fround(1 / 3));
      expect(third.half().item()).toBe(0.333251953125);
      expect(third.bfloat16().item()).toBe(0.333984375);
      expect(third.half().double().dtype).toBe('float64');
      expect(tn.tensor([2 ** 53 + 2], { dtype: 'int64' }).double().long().item()).toBe(2 ** 53 + 2);
    });
  });

  test('every dtype converts to every other and back for small integers', () => {
    const dtypes = tn.DTYPES.filter((d) => d !== 'bool');
    tn.tidy(() => {
      for (const from of dtypes) {
        const src = tn.tensor([0, 1, 2, 100], { dtype: from });
        for (const to of dtypes) {
          const c = src.to(to);
          expect(c.dtype).toBe(to);
          expect(c.toArray()).toEqual([0, 1, 2, 100]);
          expect(c.to(from).toArray()).toEqual([0, 1, 2, 100]);
        }
        expect(src.to('bool').toArray()).toEqual([false, true, true, true]);
      }
    });
  });

  test('.to accepts a tensor, options and copy', () => {
    tn.tidy(() => {
      const a = tn.tensor([1, 2], { dtype: 'float32' });
      const ref = tn.zeros([1], { dtype: 'float16' });
      expect(a.to(ref).dtype).toBe('float16');
      expect(a.to({ dtype: 'int16' }).dtype).toBe('int16');
      expect(a.to('cpu').dtype).toBe('float32');
      const copy = a.to({ dtype: 'float32', copy: true });
      copy.fill_(7);
      expect(a.toArray()).toEqual([1, 2]);
      expectThrows(() => a.to('float128' as DType), 'TypeError');
      expectThrows(() => a.to({ dtype: 'nope' as DType }), 'TypeError');
    });
  });
});

describe('item()', () => {
  test('returns numbers or booleans', () => {
    tn.tidy(() => {
      expect(tn.tensor(2.5).item()).toBe(2.5);
      expect(tn.tensor([[7]]).item()).toBe(7);
      expect(tn.tensor(-3, { dtype: 'int8' }).item()).toBe(-3);
      expect(tn.tensor(true).item()).toBe(true);
      expect(tn.tensor([false]).item()).toBe(false);
      expect(tn.tensor(0.1, { dtype: 'float64' }).item()).toBe(0.1);
      expect(tn.tensor(0.1).item()).toBe(Math.fround(0.1));
      expect(tn.tensor(1.1, { dtype: 'float16' }).item()).toBe(1.099609375);
      expect(tn.tensor(2 ** 40, { dtype: 'int64' }).item()).toBe(2 ** 40);
      expect(tn.tensor([1, 2, 3]).sum().item()).toBe(6);
    });
  });

  test('throws for more or fewer than one element', () => {
    tn.tidy(() => {
      expectThrows(() => tn.tensor([1, 2]).item(), 'RangeError', /2 elements/);
      expectThrows(() => tn.zeros([0]).item(), 'RangeError');
    });
  });
});

describe('toString() is PyTorch repr', () => {
  // Expected strings: repr(...) of the equivalent torch 1.13 tensors.
  const cases: [string, () => Tensor, string][] = [
    ['2x2 float32', () => tn.tensor([[1, 2.5], [3, 4]]), 'tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]])'],
    ['int64 vector', () => tn.tensor([1, -20, 300]), 'tensor([  1, -20, 300])'],
    ['float64 suffix', () => tn.tensor([1.5, 2], { dtype: 'float64' }), 'tensor([1.5000, 2.0000], dtype=torch.float64)'],
    ['requires_grad', () => tn.tensor([1.5, 2], { requiresGrad: true }), 'tensor([1.5000, 2.0000], requires_grad=True)'],
    ['grad_fn MulBackward0', () => tn.tensor([1.5, 2], { requiresGrad: true }).mul(tn.tensor([2, 3], { dtype: 'float32' })), 'tensor([3., 6.], grad_fn=<MulBackward0>)'],
    ['grad_fn SumBackward0', () => tn.tensor([[1, 2], [3, 4]], { dtype: 'float32', requiresGrad: true }).sum(), 'tensor(10., grad_fn=<SumBackward0>)'],
    ['bool', () => tn.tensor([true, false, true]), 'tensor([ True, False,  True])'],
    ['bool 2-D', () => tn.tensor([[true, false], [false, true]]), 'tensor([[ True, False],\n        [False,  True]])'],
    ['1200 floats summarised', () => tn.arange(1200).float(), 'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.1970e+03, 1.1980e+03,\n        1.1990e+03])'],
    ['1200 ints summarised', () => tn.arange(1200), 'tensor([   0,    1,    2,  ..., 1197, 1198, 1199])'],
    ['1001 bools summarised', () => tn.arange(1001).remainder(2).eq(0), 'tensor([ True, False,  True,  ...,  True, False,  True])'],
    ['40x30 summarised', () => tn.arange(1200).float().reshape(40, 30),
      'tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 2.7000e+01, 2.8000e+01,\n         2.9000e+01],\n        [3.0000e+01, 3.1000e+01, 3.2000e+01,  ..., 5.7000e+01, 5.8000e+01,\n         5.9000e+01],\n        [6.0000e+01, 6.1000e+01, 6.2000e+01,  ..., 8.7000e+01, 8.8000e+01,\n         8.9000e+01],\n        ...,\n        [1.1100e+03, 1.1110e+03, 1.1120e+03,  ..., 1.1370e+03, 1.1380e+03,\n         1.1390e+03],\n        [1.1400e+03, 1.1410e+03, 1.1420e+03,  ..., 1.1670e+03, 1.1680e+03,\n         1.1690e+03],\n        [1.1700e+03, 1.1710e+03, 1.1720e+03,  ..., 1.1970e+03, 1.1980e+03,\n         1.1990e+03]])'],
    ['0-D float', () => tn.tensor(3.5), 'tensor(3.5000)'],
    ['0-D int', () => tn.tensor(3), 'tensor(3)'],
    ['0-D bool', () => tn.tensor(true), 'tensor(True)'],
    ['0-D float64', () => tn.tensor(-2.25, { dtype: 'float64' }), 'tensor(-2.2500, dtype=torch.float64)'],
    ['float16', () => tn.tensor([1.1, 2.2], { dtype: 'float16' }), 'tensor([1.0996, 2.1992], dtype=torch.float16)'],
    ['bfloat16', () => tn.tensor([1.1, 2.2], { dtype: 'bfloat16' }), 'tensor([1.1016, 2.2031], dtype=torch.bfloat16)'],
    ['uint8', () => tn.tensor([1, 2, 255], { dtype: 'uint8' }), 'tensor([  1,   2, 255], dtype=torch.uint8)'],
    ['int8', () => tn.tensor([-128, 0, 127], { dtype: 'int8' }), 'tensor([-128,    0,  127], dtype=torch.int8)'],
    ['int32 2-D', () => tn.tensor([[1, 2], [3, 4]], { dtype: 'int32' }), 'tensor([[1, 2],\n        [3, 4]], dtype=torch.int32)'],
    ['empty 0x3', () => tn.zeros([0, 3]), 'tensor([], size=(0, 3))'],
    ['empty', () => tn.zeros([0]), 'tensor([])'],
    ['empty int64', () => tn.zeros([0], { dtype: 'int64' }), 'tensor([], dtype=torch.int64)'],
    ['scientific', () => tn.tensor([1e-5, 1e5]), 'tensor([1.0000e-05, 1.0000e+05])'],
    ['negative', () => tn.tensor([-1.5, 2]), 'tensor([-1.5000,  2.0000])'],
    ['nan and inf', () => tn.tensor([NaN, 1.5, Infinity]), 'tensor([   nan, 1.5000,    inf])'],
    ['integral floats', () => tn.tensor([1, 2, -3], { dtype: 'float32' }), 'tensor([ 1.,  2., -3.])'],
    ['negative zero', () => tn.tensor([-0, 1], { dtype: 'float32' }), 'tensor([-0., 1.])'],
    ['negative zero, fractions', () => tn.tensor([-0, 1.5]), 'tensor([-0.0000, 1.5000])'],
    ['wrapped line', () => tn.linspace(0, 1, 20),
      'tensor([0.0000, 0.0526, 0.1053, 0.1579, 0.2105, 0.2632, 0.3158, 0.3684, 0.4211,\n        0.4737, 0.5263, 0.5789, 0.6316, 0.6842, 0.7368, 0.7895, 0.8421, 0.8947,\n        0.9474, 1.0000])'],
    ['3-D', () => tn.arange(8).float().reshape(2, 2, 2), 'tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])'],
    ['float64 large', () => tn.tensor([1e10, 1], { dtype: 'float64' }), 'tensor([1.0000e+10, 1.0000e+00], dtype=torch.float64)'],
  ];
  test.each(cases)('%s', (_name, make, expected) => {
    tn.tidy(() => {
      expect(make().toString()).toBe(expected);
    });
  });

  test('a disposed tensor prints as such, and template strings use toString', () => {
    const t = tn.tensor(1.5);
    expect(`${t}`).toBe('tensor(1.5000)');
    t.dispose();
    expect(String(t)).toBe('tensor(<disposed>)');
  });
});

describe('dtype inference as torch.tensor', () => {
  test('booleans mixed with integers give int64', () => {
    tn.tidy(() => {
      const t = tn.tensor([true, 1, 2]);
      expect(t.dtype).toBe('int64');
      expect(t.toArray()).toEqual([1, 1, 2]);
    });
  });
});
