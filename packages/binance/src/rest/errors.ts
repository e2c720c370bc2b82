import { OitraderError } from '@oitrader/core';

/** HTTP 418: the IP is banned for hammering after 429s. Nothing may retry; a human must look. */
export class BinanceBannedError extends OitraderError {
  readonly retryAfterMs: number;

  constructor(path: string, retryAfterMs: number) {
    super(`Binance banned this IP (HTTP 418 on ${path}) for ${Math.round(retryAfterMs / 1000)} s`, {
      hint: 'stop every process using this IP until the ban ends; then lower request rates (a 418 follows repeated 429s)',
      exitCode: 4,
    });
    this.retryAfterMs = retryAfterMs;
  }
}

/** Binance answered with an error the client does not retry (4xx with a Binance code, or retries exhausted). */
export class BinanceHttpError extends OitraderError {
  readonly status: number;
  readonly code: number | undefined;

  constructor(path: string, status: number, code: number | undefined, message: string) {
    super(`Binance ${path} answered HTTP ${status}${code === undefined ? '' : ` (code ${code})`}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

/** A response or stream message that is not what Binance documents; the reason names the field. */
export class BinancePayloadError extends OitraderError {}
