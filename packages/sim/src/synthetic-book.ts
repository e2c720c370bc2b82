/**
 * A SYNTHETIC order book around a price: no real order-book history exists in
 * this project's data, so the simulator makes one up to exercise the depth
 * stream and the order_book sampler. Deterministic in (price, time); never
 * market data, and nothing trains on it.
 */
export function syntheticBook(price: number, timeMs: number, levels: number): { bids: string[][]; asks: string[][] } {
  const tick = price * 0.0002;
  const bids: string[][] = [];
  const asks: string[][] = [];
  for (let i = 0; i < levels; i++) {
    const wave = 1 + 0.5 * Math.sin(timeMs / 60_000 + i);
    bids.push([(price - tick * (i + 1)).toFixed(6), (100 * wave * (1 + i / 10)).toFixed(1)]);
    asks.push([(price + tick * (i + 1)).toFixed(6), (100 * (2 - wave) * (1 + i / 10)).toFixed(1)]);
  }
  return { bids, asks };
}
