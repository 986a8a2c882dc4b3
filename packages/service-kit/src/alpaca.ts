import { marketData, trading } from '@alpacahq/alpaca-trade-api';
import * as z from 'zod';
import { envInt } from './config.js';

/**
 * Where Alpaca is and who we are. Keys are required: the SDK sends no request without them, so a service
 * started without keys could never read the clock or place an order. The simulator accepts its own test keys.
 * The URL defaults are Alpaca's paper-trading hosts, so real keys never point at live money by accident.
 */
export const alpacaConfig = {
  APCA_API_KEY_ID: z
    .string({ error: 'required: the Alpaca key id (the simulator accepts its own test keys, SIMKEY by default)' })
    .min(1),
  APCA_API_SECRET_KEY: z
    .string({ error: 'required: the Alpaca secret key (SIMSECRET for the simulator by default)' })
    .min(1),
  ALPACA_TRADING_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .default('https://paper-api.alpaca.markets'),
  ALPACA_DATA_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .default('https://data.alpaca.markets'),
  ALPACA_STREAM_URL: z
    .url({ protocol: /^wss?$/, error: 'expected a ws(s) URL' })
    .default('wss://stream.data.alpaca.markets'),
  ALPACA_FEED: z.enum(['iex', 'sip', 'delayed_sip', 'test']).default('iex'),
  /**
   * REST requests per minute this service allows itself (the SDK queues the rest). Alpaca allows 200 a minute
   * per account on the free plan, 1000 on Algo Trader Plus; the default stays just under the free budget.
   */
  ALPACA_REST_RATE_LIMIT: envInt(190, { min: 1 }),
};

export interface AlpacaSettings {
  APCA_API_KEY_ID: string;
  APCA_API_SECRET_KEY: string;
  ALPACA_TRADING_URL: string;
  ALPACA_DATA_URL: string;
  ALPACA_REST_RATE_LIMIT?: number;
}

/** The SDK's generated APIs pointed at configured hosts (the facade `Alpaca` client has no base-URL option). */
export interface AlpacaRest {
  assets: trading.AssetsApi;
  clock: trading.ClockApi;
  calendar: trading.CalendarApi;
  account: trading.AccountsApi;
  orders: trading.OrdersApi;
  positions: trading.PositionsApi;
  stocks: marketData.StockApi;
}

export function createAlpacaRest(settings: AlpacaSettings, opts: { retry?: boolean } = {}): AlpacaRest {
  const shared = {
    keyId: settings.APCA_API_KEY_ID,
    secret: settings.APCA_API_SECRET_KEY,
    timeoutMs: 10_000,
    // Callers own retries (with their own logging and metrics); the SDK's silent retries would hide them.
    ...(opts.retry ? { retry: { maxRetries: 2 } } : {}),
    rateLimit: { maxRequests: settings.ALPACA_REST_RATE_LIMIT ?? 190, intervalMs: 60_000 },
  };
  const tradingConfig = new trading.Configuration({
    ...shared,
    basePath: settings.ALPACA_TRADING_URL.replace(/\/+$/, ''),
  });
  const dataConfig = new marketData.Configuration({
    ...shared,
    basePath: settings.ALPACA_DATA_URL.replace(/\/+$/, ''),
  });
  return {
    assets: new trading.AssetsApi(tradingConfig),
    clock: new trading.ClockApi(tradingConfig),
    calendar: new trading.CalendarApi(tradingConfig),
    account: new trading.AccountsApi(tradingConfig),
    orders: new trading.OrdersApi(tradingConfig),
    positions: new trading.PositionsApi(tradingConfig),
    stocks: new marketData.StockApi(dataConfig),
  };
}

/**
 * A position's signed quantity (short negative). Alpaca marks a short with `side: 'short'` and has reported
 * its `qty` with either sign, so the side decides and the sign of `qty` is ignored.
 */
export function signedQty(qty: number, side: string | undefined): number {
  return Math.abs(qty) * (side === 'short' ? -1 : 1);
}
