/**
 * `npm start` (until the inference server lands): a short demo of the runtime. Fits a tiny
 * two-layer network to y = sin(3x) with plain gradient descent for a few hundred steps,
 * printing the loss, then shows an async matmul running off the event loop.
 */
import * as tn from '../lib';

function main(): void {
  const c = tn.config();
  console.log(`transformer-native demo: libtorch ${c.torchVersion}, ${tn.getNumThreads()} threads, ${c.blas.split(' ').slice(0, 2).join(' ')}, CUDA ${c.cudaAvailable ? 'yes' : 'no'}`);
  tn.manualSeed(0);
  const x = tn.tidy(() => tn.linspace(-1, 1, 256).unsqueeze(1));
  const y = tn.tidy(() => x.mul(3).sin());
  const hidden = 32;
  const params = {
    w1: tn.randn([hidden, 1]).mul_(1.0).requiresGrad_(),
    b1: tn.zeros([hidden], { requiresGrad: true }),
    w2: tn.randn([1, hidden]).mul_(1 / Math.sqrt(hidden)).requiresGrad_(),
    b2: tn.zeros([1], { requiresGrad: true }),
  };
  const lr = 0.1;
  for (let step = 0; step <= 500; step++) {
    const loss = tn.tidy(() => {
      const h = tn.nn.functional.linear(x, params.w1, params.b1).tanh();
      const pred = tn.nn.functional.linear(h, params.w2, params.b2);
      const l = tn.nn.functional.mseLoss(pred, y);
      l.backward();
      tn.noGrad(() => {
        for (const p of Object.values(params)) {
          const g = p.grad!;
          p.sub_(g.mul(lr));
          p.grad = null;
        }
      });
      return l.item() as number;
    });
    if (step % 100 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.toFixed(5)}`);
  }
  const a = tn.randn([800, 800]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  void a.matmulAsync(a).then((m) => {
    clearInterval(timer);
    console.log(`async 800x800 matmul: result ${JSON.stringify(m.shape)}, event loop ticked ${ticks} times meanwhile`);
    tn.dispose([m, a, x, y, params]);
    console.log(`live tensors at exit: ${tn.memory().liveTensors}`);
  });
}

main();
