import type { JetStreamManager } from '@nats-io/jetstream';
import { streams, subjects, symbolFromToken, TICKER_PATTERN } from '@vigil/contracts';
import type { AlpacaRest } from '@vigil/service-kit';
import * as z from 'zod';

export class UniverseSourceError extends Error {
  override name = 'UniverseSourceError';
}

/** The symbols BARS already holds bars for (its subjects), so a restarted `*` gateway resumes every one of them. */
export async function storedSymbols(jsm: JetStreamManager): Promise<string[]> {
  let info: Awaited<ReturnType<JetStreamManager['streams']['info']>>;
  try {
    info = await jsm.streams.info(streams.bars.name, { subjects_filter: subjects.bars1mAll });
  } catch (cause) {
    throw new UniverseSourceError(`cannot list the symbols stored in ${streams.bars.name}: ${String(cause)}`, {
      cause,
    });
  }
  const prefix = subjects.bars1mAll.slice(0, -1);
  return Object.keys(info.state.subjects ?? {})
    .filter((s) => s.startsWith(prefix))
    .map((s) => symbolFromToken(s.slice(prefix.length)))
    .filter((s) => TICKER_PATTERN.test(s));
}

const Asset = z.looseObject({ symbol: z.string(), status: z.string(), class: z.string().optional() });
const AssetList = z.array(z.unknown());

/**
 * The broker's active US equities (`GET /v2/assets`): the symbols a `*` gateway backfills and audits before the
 * stream has shown it each one. An entry that is not an asset, or whose symbol Vigil cannot carry in a subject, is
 * skipped and counted in `skipped`; a body that is not a list is a `UniverseSourceError`.
 */
export async function activeAssets(assets: AlpacaRest['assets']): Promise<{ symbols: string[]; skipped: number }> {
  let body: unknown;
  try {
    const res = await assets.getV2AssetsRaw({ status: 'active', assetClass: 'us_equity' });
    body = await res.raw.json();
  } catch (cause) {
    throw new UniverseSourceError(`cannot list the broker's assets: ${String(cause)}`, { cause });
  }
  const list = AssetList.safeParse(body);
  if (!list.success) throw new UniverseSourceError('the assets answer is not a list of assets', { cause: list.error });
  const symbols: string[] = [];
  let skipped = 0;
  for (const raw of list.data) {
    const asset = Asset.safeParse(raw);
    if (asset.success && asset.data.status === 'active' && TICKER_PATTERN.test(asset.data.symbol))
      symbols.push(asset.data.symbol);
    else skipped += 1;
  }
  return { symbols, skipped };
}
