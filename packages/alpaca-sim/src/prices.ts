/**
 * Deterministic randomness and the price path. Everything here is a pure function of (seed, symbol, time),
 * so the stream, the REST history and a rerun with the same seed always agree.
 */

/** A 32-bit hash of the parts (cyrb53 folded), mapped to [0, 1). */
export function rand(seed: number, ...parts: (string | number)[]): number {
  const text = `${seed}|${parts.join('|')}`;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return ((h2 >>> 0) * 2 ** 21 + (h1 >>> 11)) / 2 ** 53;
}

/** A symbol's reference price: SPY near its real level, others spread over 20–520. */
export function basePrice(seed: number, symbol: string): number {
  if (symbol === 'SPY') return 580;
  return 20 + Math.floor(rand(seed, symbol, 'base') * 500);
}

/**
 * The fair price at instant `ms`: a few slow waves around the base price. Smooth, so consecutive bars
 * join up, and bounded (within about ±3 %), so limit-order tests can pick prices that never fill.
 */
export function priceAt(seed: number, symbol: string, ms: number): number {
  const m = ms / 60_000;
  const phase = (salt: string) => rand(seed, symbol, salt) * 2 * Math.PI;
  const wave =
    0.015 * Math.sin((2 * Math.PI * m) / 390 + phase('p1')) +
    0.008 * Math.sin((2 * Math.PI * m) / 47 + phase('p2')) +
    0.003 * Math.sin((2 * Math.PI * m) / 7.3 + phase('p3'));
  return basePrice(seed, symbol) * Math.exp(wave);
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
